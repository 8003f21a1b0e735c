//! Long listings a page at a time, as AWS's CLIs page: `--limit` is the page size, a page
//! that is not the last ends with how to get the next (`more: … --cursor …`, or
//! `next_cursor` in JSON), `--cursor` resumes, and `--all` walks every page, printing each
//! as it arrives so nothing is held in memory but one page.

use std::future::Future;
use std::io::{self, Write};

use clap::Args;
use serde::Serialize;
use shared::store::{Cursor, Page, PageRequest};

#[derive(Args)]
pub struct PageArgs {
    /// Resume after the page that printed this cursor (its `more:` line, or next_cursor
    /// in JSON).
    #[arg(long, value_name = "CURSOR")]
    pub cursor: Option<String>,
    /// Print every page, one after another, as each arrives (--limit is then the size
    /// of each page read).
    #[arg(long)]
    pub all: bool,
}

/// `--limit`: a page of 1 to 1000 items.
pub fn page_size(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(size) if (1..=PageRequest::MAX_SIZE).contains(&size) => Ok(size),
        _ => Err(format!(
            "expected a number of items per page from 1 to {}",
            PageRequest::MAX_SIZE
        )),
    }
}

/// One listing command: how to print its items and how to ask for more.
pub struct Listing<T> {
    pub json: bool,
    pub size: usize,
    pub pages: PageArgs,
    pub line: fn(&T) -> String,
    /// What to say when there is nothing at all, e.g. "no orders for acct_…".
    pub empty: String,
    /// The command that printed this page, for the `more:` line: `acb orders list acct_…`,
    /// with `--limit` when it is not the default.
    pub command: String,
}

impl<T: Serialize> Listing<T> {
    /// Prints the page asked for, or every page from it with `--all`. A closed pipe
    /// (`| head`) ends the listing quietly: the reader has seen what it wanted.
    pub async fn print<F, Fut>(self, mut fetch: F) -> Result<(), String>
    where
        F: FnMut(PageRequest) -> Fut,
        Fut: Future<Output = Result<Page<T>, String>>,
    {
        let resumed = self.pages.cursor.is_some();
        let mut request = PageRequest {
            size: self.size,
            after: self.pages.cursor.clone().map(Cursor::new),
        };
        let mut json = self.json.then(JsonPages::default);
        let mut printed_any = false;
        loop {
            let Page { items, next } = fetch(request).await?;
            printed_any |= !items.is_empty();
            let mut out = io::stdout().lock();
            let step =
                self.write_items(&mut out, json.as_mut(), &items)
                    .and_then(|()| match next {
                        Some(cursor) if self.pages.all => out.flush().map(|()| Some(cursor)),
                        next => self
                            .finish(&mut out, json.take(), next, resumed, printed_any)
                            .map(|()| None),
                    });
            match step {
                Ok(Some(cursor)) => request = PageRequest::after(self.size, cursor),
                Ok(None) => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::BrokenPipe => return Ok(()),
                Err(e) => return Err(format!("writing the listing: {e}")),
            }
        }
    }

    fn write_items(
        &self,
        out: &mut impl Write,
        json: Option<&mut JsonPages>,
        items: &[T],
    ) -> io::Result<()> {
        match json {
            Some(json) => items.iter().try_for_each(|item| json.item(out, item)),
            None => items
                .iter()
                .try_for_each(|item| writeln!(out, "{}", (self.line)(item))),
        }
    }

    /// The end of the output: JSON's closing `next_cursor`, or the text's `more:` line
    /// (or why nothing was printed).
    fn finish(
        &self,
        out: &mut impl Write,
        json: Option<JsonPages>,
        next: Option<Cursor>,
        resumed: bool,
        printed_any: bool,
    ) -> io::Result<()> {
        if let Some(json) = json {
            json.end(out, next.as_ref())?;
        } else if let Some(cursor) = next {
            writeln!(out, "more: {} --cursor {cursor}", self.command)?;
        } else if !printed_any {
            if resumed {
                writeln!(out, "nothing more after that cursor")?;
            } else {
                writeln!(out, "{}", self.empty)?;
            }
        }
        out.flush()
    }
}

/// `{"data": [...], "next_cursor": …}` written an item at a time, byte for byte what
/// `serde_json::to_string_pretty` would print for the whole object.
#[derive(Default)]
struct JsonPages {
    items: usize,
}

impl JsonPages {
    fn item(&mut self, out: &mut impl Write, item: &impl Serialize) -> io::Result<()> {
        if self.items == 0 {
            out.write_all(b"{\n  \"data\": [")?;
        }
        let text = serde_json::to_string_pretty(item).map_err(io::Error::other)?;
        // JSON strings escape their newlines: every newline here is between tokens.
        let text = text.replace('\n', "\n    ");
        let separator = if self.items == 0 { "\n    " } else { ",\n    " };
        write!(out, "{separator}{text}")?;
        self.items += 1;
        Ok(())
    }

    fn end(self, out: &mut impl Write, next: Option<&Cursor>) -> io::Result<()> {
        if self.items == 0 {
            out.write_all(b"{\n  \"data\": [")?;
        } else {
            out.write_all(b"\n  ")?;
        }
        let next = serde_json::to_string(&next.map(Cursor::as_str)).map_err(io::Error::other)?;
        writeln!(out, "],\n  \"next_cursor\": {next}\n}}")
    }
}

/// `acb <words>`, with `--limit` when it is not the command's default.
pub fn resume_command(words: &[&str], limit: usize, default_limit: usize) -> String {
    let mut text = format!("acb {}", words.join(" "));
    if limit != default_limit {
        text.push_str(&format!(" --limit {limit}"));
    }
    text
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    fn streamed(items: &[Value], next: Option<&str>) -> String {
        let mut out = Vec::new();
        let mut json = JsonPages::default();
        for item in items {
            json.item(&mut out, item).unwrap();
        }
        json.end(&mut out, next.map(Cursor::new).as_ref()).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn streamed_json_is_what_printing_it_whole_would_give() {
        let items = [
            json!({"id": "cs_1", "lines": [{"sku": "MUG", "note": "two\nlines"}], "total": 1}),
            json!({"id": "cs_2", "empty": {}, "none": []}),
            json!("plain"),
        ];
        for count in 0..=items.len() {
            for next in [None, Some("eyJh")] {
                let whole = json!({"data": items[..count], "next_cursor": next});
                assert_eq!(
                    streamed(&items[..count], next),
                    serde_json::to_string_pretty(&whole).unwrap() + "\n",
                    "{count} items, next {next:?}"
                );
            }
        }
    }

    #[test]
    fn page_sizes_outside_1_to_1000_are_refused() {
        assert_eq!(page_size("1"), Ok(1));
        assert_eq!(page_size("1000"), Ok(1000));
        for bad in ["0", "1001", "-1", "ten", ""] {
            assert!(page_size(bad).unwrap_err().contains("1 to 1000"), "{bad}");
        }
    }

    #[test]
    fn the_resume_command_names_a_limit_only_when_it_is_not_the_default() {
        assert_eq!(
            resume_command(&["orders", "list", "acct_1"], 50, 50),
            "acb orders list acct_1"
        );
        assert_eq!(
            resume_command(&["merchants", "list"], 5, 100),
            "acb merchants list --limit 5"
        );
    }
}

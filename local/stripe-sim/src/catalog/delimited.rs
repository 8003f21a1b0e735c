//! CSV and TSV as catalog feeds use them, on the `csv` crate: a header row, RFC 4180
//! quoting (embedded delimiters, quotes and line breaks), CRLF or LF, an optional UTF-8
//! BOM.

use std::io::Read;

/// One record and the row number it is reported under (the header is row 1).
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    pub row: u64,
    pub fields: Vec<String>,
}

/// Picks the delimiter from the first line: tabs win over commas only when there are more.
pub fn sniff(text: &str) -> u8 {
    let first = text.split('\n').next().unwrap_or("");
    let tabs = first.matches('\t').count();
    let commas = first.matches(',').count();
    if tabs > commas { b'\t' } else { b',' }
}

pub fn strip_bom(text: &str) -> &str {
    text.strip_prefix('\u{feff}').unwrap_or(text)
}

/// A line read after the text. The `csv` crate ends a quoted field that never closes at
/// the end of the input instead of failing; this line comes back as a record of its own
/// unless such a field swallowed it.
const SENTINEL: &str = "\u{0}";

/// Parses every record; blank lines are skipped. The only fatal problem is a quoted field
/// that never closes.
///
/// Lines end at `\n` or `\r\n`; a lone `\r` is part of the field it is in (the crate's
/// default would end the line there too).
pub fn parse(text: &str, delimiter: u8) -> Result<Vec<Record>, String> {
    let input = text
        .as_bytes()
        .chain(b"\n".as_slice())
        .chain(SENTINEL.as_bytes());
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .terminator(csv::Terminator::Any(b'\n'))
        .from_reader(input);
    let mut records = Vec::new();
    let mut record = csv::StringRecord::new();
    while reader.read_record(&mut record).map_err(|e| e.to_string())? {
        let start = record.position().map_or(0, |p| p.byte());
        let end = reader.position().byte();
        // The record's own text, line ending included; none for the line the sentinel
        // ends, whose `\n` is not the file's.
        let raw = usize::try_from(start)
            .ok()
            .zip(usize::try_from(end).ok())
            .and_then(|(start, end)| text.get(start..end))
            .unwrap_or("");
        let mut fields: Vec<String> = record.iter().map(str::to_string).collect();
        if raw.ends_with("\r\n") {
            // Blank lines before it were skipped by the reader but are part of `raw`.
            if raw.trim_start_matches('\n') == "\r\n" {
                continue;
            }
            // The `\r` of the line ending: outside any quotes, so at the end of the last field.
            if let Some(last) = fields.last_mut() {
                last.pop();
            }
        }
        records.push(Record {
            row: records.len() as u64 + 1,
            fields,
        });
    }
    match records.pop() {
        Some(last) if last.fields == [SENTINEL] => Ok(records),
        Some(last) => Err(format!(
            "A quoted field that starts in row {} is never closed.",
            last.row
        )),
        None => Ok(records),
    }
}

/// The records as a file, each field quoted only when it has to be (it holds the
/// delimiter, a quote or a line break).
pub fn write<'a>(records: impl IntoIterator<Item = Vec<&'a str>>, delimiter: u8) -> Vec<u8> {
    let mut writer = csv::WriterBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .terminator(csv::Terminator::Any(b'\n'))
        .from_writer(Vec::new());
    for record in records {
        // Writing to memory cannot fail, and a flexible writer accepts any field count.
        let _ = writer.write_record(record);
    }
    writer.into_inner().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(records: &[Record]) -> Vec<Vec<&str>> {
        records
            .iter()
            .map(|r| r.fields.iter().map(String::as_str).collect())
            .collect()
    }

    fn rows(text: &str) -> Vec<Vec<String>> {
        parse(text, b',')
            .unwrap_or_default()
            .into_iter()
            .map(|r| r.fields)
            .collect()
    }

    #[test]
    fn quoting_line_breaks_and_blank_lines() {
        let text = "id,title\r\n1,\"a, \"\"b\"\"\"\r\n\r\n2,\"multi\nline\"\n3,\n\"\",x";
        let records = parse(text, b',').unwrap_or_default();
        assert_eq!(
            fields(&records),
            vec![
                vec!["id", "title"],
                vec!["1", "a, \"b\""],
                vec!["2", "multi\nline"],
                vec!["3", ""],
                vec!["", "x"],
            ]
        );
        assert_eq!(
            records.iter().map(|r| r.row).collect::<Vec<_>>(),
            [1, 2, 3, 4, 5]
        );
        assert!(parse("id\n\"open", b',').is_err());
    }

    #[test]
    fn an_unclosed_quote_names_the_row_it_starts_in() {
        assert_eq!(
            parse("id,title\n1,ok\n\n2,\"open\n3,more\n", b','),
            Err("A quoted field that starts in row 3 is never closed.".into())
        );
        assert!(parse("\"", b',').is_err());
        assert!(parse("id\n\"\"\"", b',').is_err());
        // Closed quotes, even at the very end, are fine.
        assert_eq!(rows("id\n\"a\""), [["id"], ["a"]]);
    }

    #[test]
    fn line_endings() {
        // CRLF and LF end lines; a lone CR is data, also at the end of the file.
        assert_eq!(
            rows("a,b\r\nc,d\ne\rf,g\r"),
            [["a", "b"], ["c", "d"], ["e\rf", "g\r"]]
        );
        assert_eq!(rows("a\r\r\n"), [["a\r"]]);
        // A CR inside quotes stays, also right before the closing quote.
        assert_eq!(rows("\"x\r\"\n\"y\r\n\"\r\n"), [["x\r"], ["y\r\n"]]);
        // Blank lines, LF or CRLF, are skipped wherever they are.
        assert_eq!(rows("\r\n\n\r\na\n\n\r\n\nb\r\n\r\n"), [["a"], ["b"]]);
        // An empty quoted field is a record, not a blank line.
        assert_eq!(rows("\"\"\r\n\"\"\n"), [[""], [""]]);
        assert_eq!(rows(""), Vec::<Vec<String>>::new());
    }

    #[test]
    fn quotes_are_only_special_at_the_start_of_a_field() {
        assert_eq!(rows("a\"b,\"c\"d, \"e\"\n"), [["a\"b", "cd", " \"e\""]]);
        assert_eq!(rows("\"\"x,\"\"\"\"\n"), [["x", "\""]]);
    }

    #[test]
    fn tabs_and_sniffing() {
        assert_eq!(sniff("id\ttitle\tprice\n1\ta,b\t2"), b'\t');
        assert_eq!(sniff("id,title\n"), b',');
        let records = parse("id\ttitle\n1\ta,b\n", b'\t').unwrap_or_default();
        assert_eq!(
            fields(&records),
            vec![vec!["id", "title"], vec!["1", "a,b"]]
        );
        assert_eq!(strip_bom("\u{feff}id"), "id");
    }

    #[test]
    fn writing_round_trips() {
        let out = write(vec![vec!["a", "b,c", "q\"d", "line\nbreak", "cr\r"]], b',');
        let tsv = write(vec![vec!["x\ty", "z"], vec!["only"]], b'\t');
        assert_eq!(
            String::from_utf8_lossy(&out),
            "a,\"b,c\",\"q\"\"d\",\"line\nbreak\",\"cr\r\"\n"
        );
        assert_eq!(String::from_utf8_lossy(&tsv), "\"x\ty\"\tz\nonly\n");
        let text = String::from_utf8_lossy(&out).into_owned();
        let records = parse(&text, b',').unwrap_or_default();
        assert_eq!(
            records[0].fields,
            ["a", "b,c", "q\"d", "line\nbreak", "cr\r"]
        );
    }
}

//! CSV and TSV as catalog feeds use them: a header row, RFC 4180 quoting (embedded
//! delimiters, quotes and line breaks), CRLF or LF, an optional UTF-8 BOM.

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

/// Parses every record; blank lines are skipped. The only fatal problem is a quoted field
/// that never closes.
pub fn parse(text: &str, delimiter: u8) -> Result<Vec<Record>, String> {
    let delimiter = char::from(delimiter);
    let mut records = Vec::new();
    let mut fields: Vec<String> = Vec::new();
    let mut field = String::new();
    let mut row: u64 = 0;
    let mut quoted = false;
    // Whether the current field started with a quote (so `""` is an empty field, not absent).
    let mut field_started = false;
    let mut quote_started_row = 0;
    let mut chars = text.chars().peekable();

    let end_record = |fields: &mut Vec<String>, field: &mut String, started: bool| {
        if fields.is_empty() && field.is_empty() && !started {
            return None; // a blank line
        }
        fields.push(std::mem::take(field));
        Some(std::mem::take(fields))
    };

    while let Some(c) = chars.next() {
        if quoted {
            if c == '"' {
                if chars.peek() == Some(&'"') {
                    chars.next();
                    field.push('"');
                } else {
                    quoted = false;
                }
            } else {
                field.push(c);
            }
            continue;
        }
        match c {
            '"' if field.is_empty() && !field_started => {
                quoted = true;
                field_started = true;
                quote_started_row = row + 1;
            }
            c if c == delimiter => {
                fields.push(std::mem::take(&mut field));
                field_started = false;
            }
            '\r' if chars.peek() == Some(&'\n') => {}
            '\n' => {
                if let Some(done) = end_record(&mut fields, &mut field, field_started) {
                    row += 1;
                    records.push(Record { row, fields: done });
                }
                field_started = false;
            }
            // A stray quote inside an unquoted field, or text after a closing quote, is kept
            // as it is: lenient like most feed readers.
            _ => field.push(c),
        }
    }
    if quoted {
        return Err(format!(
            "A quoted field that starts in row {quote_started_row} is never closed."
        ));
    }
    if let Some(done) = end_record(&mut fields, &mut field, field_started) {
        row += 1;
        records.push(Record { row, fields: done });
    }
    Ok(records)
}

/// Appends one record, quoting the fields that need it.
pub fn write_record<'a>(
    out: &mut String,
    fields: impl IntoIterator<Item = &'a str>,
    delimiter: u8,
) {
    let delimiter = char::from(delimiter);
    for (i, field) in fields.into_iter().enumerate() {
        if i > 0 {
            out.push(delimiter);
        }
        let needs_quotes = field
            .chars()
            .any(|c| c == delimiter || c == '"' || c == '\n' || c == '\r')
            || field.starts_with(' ')
            || field.ends_with(' ');
        if needs_quotes {
            out.push('"');
            out.push_str(&field.replace('"', "\"\""));
            out.push('"');
        } else {
            out.push_str(field);
        }
    }
    out.push('\n');
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
        let mut out = String::new();
        write_record(&mut out, ["a", "b,c", "q\"d", "line\nbreak"], b',');
        write_record(&mut out, ["x\ty", "z"], b'\t');
        assert_eq!(out, "a,\"b,c\",\"q\"\"d\",\"line\nbreak\"\n\"x\ty\"\tz\n");
        let records = parse(&out, b',').unwrap_or_default();
        assert_eq!(records[0].fields, ["a", "b,c", "q\"d", "line\nbreak"]);
    }
}

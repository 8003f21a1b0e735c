//! `multipart/form-data` (RFC 7578), as the Files API receives it.
//!
//! The body is already in memory (see [`crate::body`]); parts are zero-copy slices of it.

use axum::body::Bytes;
use memchr::memmem;

/// Stripe's upload form has two fields; a hundred is plenty and bounds the work.
const MAX_PARTS: usize = 100;

#[derive(Debug, Clone, PartialEq)]
pub struct Part {
    pub name: String,
    pub filename: Option<String>,
    pub content_type: Option<String>,
    pub data: Bytes,
}

/// The `boundary` parameter of a `multipart/form-data` content type.
pub fn boundary(content_type: &str) -> Option<String> {
    let mut pieces = split_params(content_type).into_iter();
    let essence = pieces.next()?;
    if !essence.trim().eq_ignore_ascii_case("multipart/form-data") {
        return None;
    }
    pieces
        .filter_map(|p| param(&p))
        .find(|(k, _)| k.eq_ignore_ascii_case("boundary"))
        .map(|(_, v)| v)
        .filter(|b| !b.is_empty() && b.len() <= 200)
}

/// Splits a header value on `;` outside quoted strings.
fn split_params(value: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    let mut escaped = false;
    for c in value.chars() {
        if escaped {
            current.push(c);
            escaped = false;
            continue;
        }
        match c {
            '\\' if quoted => {
                current.push(c);
                escaped = true;
            }
            '"' => {
                quoted = !quoted;
                current.push(c);
            }
            ';' if !quoted => out.push(std::mem::take(&mut current)),
            _ => current.push(c),
        }
    }
    out.push(current);
    out
}

/// `key=value` or `key="quoted \"value\""`.
fn param(piece: &str) -> Option<(String, String)> {
    let (key, value) = piece.split_once('=')?;
    let value = value.trim();
    let value = match value.strip_prefix('"').and_then(|v| v.strip_suffix('"')) {
        Some(inner) => {
            let mut out = String::with_capacity(inner.len());
            let mut chars = inner.chars();
            while let Some(c) = chars.next() {
                if c == '\\' {
                    if let Some(next) = chars.next() {
                        out.push(next);
                    }
                } else {
                    out.push(c);
                }
            }
            out
        }
        None => value.to_string(),
    };
    Some((key.trim().to_ascii_lowercase(), value))
}

fn parse_headers(block: &[u8]) -> Result<(String, Option<String>, Option<String>), String> {
    let text = std::str::from_utf8(block).map_err(|_| "part headers are not UTF-8".to_string())?;
    let mut name = None;
    let mut filename = None;
    let mut content_type = None;
    for line in text.split("\r\n").filter(|l| !l.is_empty()) {
        let Some((header, value)) = line.split_once(':') else {
            return Err(format!("malformed part header: {line}"));
        };
        let header = header.trim();
        if header.eq_ignore_ascii_case("content-disposition") {
            let mut pieces = split_params(value).into_iter();
            let kind = pieces.next().unwrap_or_default();
            if !kind.trim().eq_ignore_ascii_case("form-data") {
                return Err("a part's Content-Disposition must be form-data".into());
            }
            for (key, v) in pieces.filter_map(|p| param(&p)) {
                match key.as_str() {
                    "name" => name = Some(v),
                    "filename" => filename = Some(v),
                    _ => {}
                }
            }
        } else if header.eq_ignore_ascii_case("content-type") {
            content_type = Some(value.trim().to_string());
        }
    }
    let name = name.ok_or_else(|| "a part has no name in its Content-Disposition".to_string())?;
    Ok((name, filename, content_type))
}

/// Splits a body into its parts.
pub fn parse(body: &Bytes, boundary: &str) -> Result<Vec<Part>, String> {
    let delimiter = format!("--{boundary}");
    let next_delimiter = format!("\r\n--{boundary}");
    let finder = memmem::Finder::new(next_delimiter.as_bytes());
    let headers_end = memmem::Finder::new(b"\r\n\r\n");
    let bytes: &[u8] = body;

    let first = if bytes.starts_with(delimiter.as_bytes()) {
        0
    } else {
        // A preamble is allowed before the first delimiter (which then follows a CRLF).
        finder
            .find(bytes)
            .map(|i| i + 2)
            .ok_or_else(|| "no multipart boundary found in the body".to_string())?
    };
    let mut pos = first + delimiter.len();
    let mut parts = Vec::new();
    loop {
        let rest = &bytes[pos..];
        if rest.starts_with(b"--") {
            return Ok(parts);
        }
        // Transport padding, then the line break that ends the delimiter line.
        let pad = rest
            .iter()
            .take_while(|b| **b == b' ' || **b == b'\t')
            .count();
        pos += pad;
        if bytes[pos..].starts_with(b"\r\n") {
            pos += 2;
        } else {
            return Err("malformed multipart delimiter line".into());
        }
        let (block, content_start) = if bytes[pos..].starts_with(b"\r\n") {
            (&bytes[pos..pos], pos + 2)
        } else {
            let end = headers_end
                .find(&bytes[pos..])
                .ok_or_else(|| "a part's headers never end".to_string())?;
            (&bytes[pos..pos + end], pos + end + 4)
        };
        let (name, filename, content_type) = parse_headers(block)?;
        let content_end = finder
            .find(&bytes[content_start..])
            .map(|i| content_start + i)
            .ok_or_else(|| "the multipart body ends without a closing boundary".to_string())?;
        if parts.len() == MAX_PARTS {
            return Err(format!("more than {MAX_PARTS} parts"));
        }
        parts.push(Part {
            name,
            filename,
            content_type,
            data: body.slice(content_start..content_end),
        });
        pos = content_end + next_delimiter.len();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boundary_is_read_from_the_content_type() {
        assert_eq!(
            boundary("multipart/form-data; boundary=abc").as_deref(),
            Some("abc")
        );
        assert_eq!(
            boundary("Multipart/Form-Data; charset=utf-8; boundary=\"a;b\"").as_deref(),
            Some("a;b")
        );
        assert_eq!(boundary("application/json"), None);
        assert_eq!(boundary("multipart/form-data"), None);
    }

    #[test]
    fn parts_are_split() {
        let body = Bytes::from_static(
            b"preamble\r\n--XX\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\ndata_management_manual_upload\r\n--XX\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a \\\"b\\\".csv\"\r\nContent-Type: text/csv\r\n\r\nid,title\r\n1,--X\r\n\r\n--XX--\r\n",
        );
        let parts = parse(&body, "XX").unwrap_or_default();
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0].name, "purpose");
        assert_eq!(&parts[0].data[..], b"data_management_manual_upload");
        assert_eq!(parts[0].filename, None);
        assert_eq!(parts[1].filename.as_deref(), Some("a \"b\".csv"));
        assert_eq!(parts[1].content_type.as_deref(), Some("text/csv"));
        assert_eq!(&parts[1].data[..], b"id,title\r\n1,--X\r\n");
    }

    #[test]
    fn broken_bodies_are_errors() {
        let unterminated =
            Bytes::from_static(b"--XX\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nvalue");
        assert!(parse(&unterminated, "XX").is_err());
        let nameless = Bytes::from_static(b"--XX\r\nContent-Type: text/csv\r\n\r\nv\r\n--XX--");
        assert!(parse(&nameless, "XX").is_err());
        assert!(parse(&Bytes::from_static(b"nothing here"), "XX").is_err());
    }
}

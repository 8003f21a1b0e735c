//! Percent-encoding, in the two places outside text reaches a URL or comes out of one:
//! ids from event payloads put into a Stripe API path, and S3 keys in event notifications.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};

/// Everything but `A-Z a-z 0-9 _ -` is escaped in a path segment: an id from a payload
/// can never add a segment (`/`), a query (`?`) or a dot segment (`..`).
const PATH_SEGMENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'_').remove(b'-');

/// `id` as one URL path segment, whatever it contains.
pub fn path_segment(id: &str) -> String {
    utf8_percent_encode(id, PATH_SEGMENT).to_string()
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the object key is not valid URL encoding or not UTF-8")]
pub struct BadEncoding;

/// An S3 event notification's key as stored: S3 URL-encodes keys in events, with `+` for a
/// space (a literal `+` arrives as `%2B`). A `%` not followed by two hex digits, or bytes
/// that are not UTF-8, are refused rather than guessed at.
pub fn decode_s3_event_key(raw: &str) -> Result<String, BadEncoding> {
    let bytes = raw.as_bytes();
    let well_formed = bytes.iter().enumerate().all(|(i, &b)| {
        b != b'%'
            || bytes
                .get(i + 1..i + 3)
                .is_some_and(|hex| hex.iter().all(u8::is_ascii_hexdigit))
    });
    if !well_formed {
        return Err(BadEncoding);
    }
    let spaced = raw.replace('+', " ");
    percent_decode_str(&spaced)
        .decode_utf8()
        .map(|key| key.into_owned())
        .map_err(|_| BadEncoding)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_cannot_escape_their_path_segment() {
        assert_eq!(path_segment("cs_test_a1"), "cs_test_a1");
        assert_eq!(path_segment("../v1/x?y=é"), "%2E%2E%2Fv1%2Fx%3Fy%3D%C3%A9");
    }

    #[test]
    fn s3_event_keys_decode_plus_as_space_and_escapes_as_bytes() {
        assert_eq!(
            decode_s3_event_key("incoming/acct_1/catalog/spring+sale%282026%29%C3%A9.csv"),
            Ok("incoming/acct_1/catalog/spring sale(2026)é.csv".to_string())
        );
        assert_eq!(decode_s3_event_key("a%2Bb.csv"), Ok("a+b.csv".to_string()));
    }

    #[test]
    fn malformed_s3_event_keys_are_refused() {
        for raw in ["a%zz.csv", "a%2", "a%", "a%C3%28.csv", "%FF"] {
            assert_eq!(decode_s3_event_key(raw), Err(BadEncoding), "{raw}");
        }
    }
}

//! Value formats of the feed spec (docs/stripe.md §2). Each check is allocation-free when the
//! value is valid: they run for every field of every row.
//!
//! Numbers, prices, measures, URLs and text here; dates and instants in `dates`, country,
//! region and postal codes in `geo`.
//!
//! The small checks the rules call on every row are `#[inline]`, so they inline into the
//! rules' modules whichever codegen unit those land in (see `rules`).

mod dates;
mod geo;

pub(crate) use dates::instant;
pub(crate) use geo::{UsPostalArea, is_country, is_region};

/// A value quoted for an error message, cut short so one huge field cannot bloat a report.
pub(crate) fn show(value: &str) -> String {
    const MAX: usize = 60;
    match value.char_indices().nth(MAX) {
        Some((cut, _)) => format!("`{}…`", &value[..cut]),
        None => format!("`{value}`"),
    }
}

/// Number of characters when it is over `max` (lengths in the spec count characters, and a
/// string of at most `max` bytes cannot have more than `max` characters).
#[inline]
pub(crate) fn chars_over(value: &str, max: usize) -> Option<usize> {
    if value.len() <= max {
        return None;
    }
    let n = value.chars().count();
    (n > max).then_some(n)
}

#[inline]
pub(crate) fn is_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// A non-negative integer without sign, decimal point or separators.
#[inline]
pub(crate) fn uint(s: &str) -> Option<u64> {
    if !is_digits(s) || s.len() > 19 {
        return None;
    }
    s.parse().ok()
}

/// A plain number: `digits` or `digits.digits` (no sign, exponent or separators), kept
/// as its integer part and whether a non-zero fraction follows, which is all a range
/// check with whole-number bounds needs (and cheaper than parsing a float).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Decimal {
    pub(crate) int: u64,
    pub(crate) fraction: bool,
}

impl Decimal {
    #[inline]
    pub(crate) fn within(self, lo: u64, hi: u64) -> bool {
        self.int >= lo && (self.int < hi || (self.int == hi && !self.fraction))
    }
}

#[inline]
pub(crate) fn decimal(s: &str) -> Option<Decimal> {
    let (int, frac) = match split_once_byte(s, b'.') {
        Some((i, f)) => (i, Some(f)),
        None => (s, None),
    };
    if !is_digits(int) || frac.is_some_and(|f| !is_digits(f)) {
        return None;
    }
    let int = int.bytes().fold(0u64, |n, d| {
        n.saturating_mul(10).saturating_add(u64::from(d - b'0'))
    });
    let fraction = frac.is_some_and(|f| f.bytes().any(|d| d != b'0'));
    Some(Decimal { int, fraction })
}

/// `str::split_once` for an ASCII separator. Feed values are short, where a plain loop
/// beats the generic char searcher (which sets up memchr on every call).
#[inline]
pub(crate) fn split_once_byte(s: &str, sep: u8) -> Option<(&str, &str)> {
    debug_assert!(sep.is_ascii());
    let i = s.as_bytes().iter().position(|&b| b == sep)?;
    // An ASCII byte is always a char boundary.
    Some((s.get(..i)?, s.get(i + 1..)?))
}

/// `str::split` for an ASCII separator, on the same grounds as [`split_once_byte`].
#[inline]
pub(crate) fn split_byte(s: &str, sep: u8) -> SplitByte<'_> {
    debug_assert!(sep.is_ascii());
    SplitByte { rest: Some(s), sep }
}

pub(crate) struct SplitByte<'a> {
    rest: Option<&'a str>,
    sep: u8,
}

impl<'a> Iterator for SplitByte<'a> {
    type Item = &'a str;

    #[inline]
    fn next(&mut self) -> Option<&'a str> {
        let rest = self.rest?;
        match split_once_byte(rest, self.sep) {
            Some((item, tail)) => {
                self.rest = Some(tail);
                Some(item)
            }
            None => {
                self.rest = None;
                Some(rest)
            }
        }
    }
}

/// `15.00 USD`: an amount (digits, optionally a decimal point and digits), one space, and
/// a three-letter upper-case ISO 4217 code. Returns the currency.
pub(crate) fn price(s: &str) -> Result<&str, String> {
    let Some((amount, currency)) = split_once_byte(s, b' ') else {
        return Err(format!(
            "{} is not a price: write the amount, a space and the currency, e.g. `15.00 USD`",
            show(s)
        ));
    };
    if decimal(amount).is_none() {
        return Err(format!(
            "{} is not a price: the amount must be digits with an optional decimal point, e.g. `15.00 USD`",
            show(s)
        ));
    }
    if currency.len() != 3 || !currency.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(format!(
            "{} is not a price: the currency must be a three-letter upper-case ISO 4217 code, e.g. `15.00 USD`",
            show(s)
        ));
    }
    Ok(currency)
}

/// An absolute http(s) URL with a host and no unencoded whitespace. One pass over the
/// bytes: four URLs a row make this one of the hotter checks.
#[inline]
pub(crate) fn url(s: &str) -> Result<(), &'static str> {
    let b = s.as_bytes();
    let rest = if starts_with_ignore_case(b, b"https://") {
        &b[8..]
    } else if starts_with_ignore_case(b, b"http://") {
        &b[7..]
    } else {
        return Err("must be an absolute URL starting with http:// or https://");
    };
    // A fold without early exit vectorises; URLs are short and almost always clean.
    if rest
        .iter()
        .fold(false, |bad, &c| bad | (c <= b' ') | (c == 0x7f))
    {
        return Err("must not contain spaces or control characters (encode a space as %20)");
    }
    let authority_end = rest
        .iter()
        .position(|&c| matches!(c, b'/' | b'?' | b'#'))
        .unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    let host_port = match authority.iter().rposition(|&c| c == b'@') {
        Some(at) => &authority[at + 1..],
        None => authority,
    };
    let host = match host_port {
        // An IPv6 literal keeps its colons.
        [b'[', inner @ ..] => match inner.iter().position(|&c| c == b']') {
            Some(end) => &inner[..end],
            None => return Err("has no valid host name"),
        },
        _ => match host_port.iter().position(|&c| c == b':') {
            Some(colon) => &host_port[..colon],
            None => host_port,
        },
    };
    let host_ok = !host.is_empty()
        && host
            .iter()
            .all(|&c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.' | b':') || c >= 0x80);
    if host_ok {
        Ok(())
    } else {
        Err("has no valid host name")
    }
}

fn starts_with_ignore_case(s: &[u8], prefix: &[u8]) -> bool {
    s.get(..prefix.len())
        .is_some_and(|head| head.eq_ignore_ascii_case(prefix))
}

/// The extension of a URL's path, as written, when it has one.
#[inline]
pub(crate) fn url_extension(s: &str) -> Option<&str> {
    let b = s.as_bytes();
    let path_end = b
        .iter()
        .position(|&c| c == b'?' || c == b'#')
        .unwrap_or(b.len());
    let path = &b[..path_end];
    let name_start = path.iter().rposition(|&c| c == b'/').map_or(0, |i| i + 1);
    let dot = path[name_start..].iter().rposition(|&c| c == b'.')? + name_start;
    let ext = s.get(dot + 1..path_end)?;
    (!ext.is_empty() && ext.len() <= 5).then_some(ext)
}

/// `<number> <unit>`, e.g. `2.5 lb`. Returns the unit.
pub(crate) fn measure<'a>(s: &'a str, units: &[&str]) -> Option<&'a str> {
    let (number, unit) = split_once_byte(s, b' ')?;
    decimal(number)?;
    units.contains(&unit).then_some(unit)
}

/// Finds what a reader would take for a link: `://` (any scheme, in any case) or `www.`
/// (written `www.` or `WWW.`). Built once per validation: each search is then a SIMD
/// scan for a rare byte pair, where a plain `memchr` on `.` would stop at every sentence.
pub(crate) struct LinkFinder {
    needles: [memchr::memmem::Finder<'static>; 3],
}

impl LinkFinder {
    pub(crate) fn new() -> Self {
        LinkFinder {
            needles: [
                memchr::memmem::Finder::new(b"://"),
                memchr::memmem::Finder::new(b"www."),
                memchr::memmem::Finder::new(b"WWW."),
            ],
        }
    }

    #[inline]
    pub(crate) fn has_link(&self, s: &str) -> bool {
        self.needles.iter().any(|f| f.find(s.as_bytes()).is_some())
    }
}

/// Shouting: no lower-case letter at all, and at least one word of four or more letters,
/// so short acronyms (`USB-C HUB`, `4K TV`) pass and `RUNNING SHOES` does not.
pub(crate) fn is_all_caps(s: &str) -> bool {
    let mut run = 0;
    let mut long_word = false;
    for c in s.chars() {
        if c.is_lowercase() {
            return false;
        }
        if c.is_alphabetic() {
            run += 1;
            if run >= 4 {
                long_word = true;
            }
        } else {
            run = 0;
        }
    }
    long_word
}

/// ASCII case-insensitive substring test without allocating.
pub(crate) fn contains_ignore_case(haystack: &str, needle: &str) -> bool {
    let n = needle.len();
    haystack.len() >= n
        && haystack
            .as_bytes()
            .windows(n)
            .any(|w| w.eq_ignore_ascii_case(needle.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prices() {
        assert_eq!(price("15.00 USD"), Ok("USD"));
        assert_eq!(price("15 EUR"), Ok("EUR"));
        assert_eq!(price("0.5 JPY"), Ok("JPY"));
        for bad in [
            "15.00",
            "15.00USD",
            "15,00 EUR",
            "15. USD",
            ".5 USD",
            "-1.00 USD",
            "15.00 usd",
            "15.00  USD",
            "15.00 US",
            "$15.00",
            "15.00 USDD",
            "",
        ] {
            assert!(price(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn urls() {
        for good in [
            "https://shop.example/p/1.jpg",
            "http://example.com",
            "HTTPS://EXAMPLE.COM/x?y=1#z",
            "https://user@host:8080/a",
            "https://[::1]:8080/",
            "https://bücher.example/",
        ] {
            assert_eq!(url(good), Ok(()), "{good}");
        }
        for bad in [
            "ftp://example.com",
            "example.com/x",
            "https://",
            "https:///path",
            "https://exa mple.com",
            "https://a.com/b c",
            "//cdn.example/x",
        ] {
            assert!(url(bad).is_err(), "{bad}");
        }
        assert_eq!(url_extension("https://a/b/c.WebP?x=1"), Some("WebP"));
        assert_eq!(url_extension("https://a/b/c"), None);
        assert_eq!(url_extension("https://a.example/b/c"), None);
        assert_eq!(url_extension("https://a/b.d/c.png#x"), Some("png"));
    }

    #[test]
    fn numbers_and_measures() {
        assert_eq!(uint("0"), Some(0));
        assert_eq!(uint("+1"), None);
        assert_eq!(uint("1.0"), None);
        assert_eq!(uint("99999999999999999999"), None);
        let d = |int, fraction| Some(Decimal { int, fraction });
        assert_eq!(decimal("4.5"), d(4, true));
        assert_eq!(decimal("5.000"), d(5, false));
        assert_eq!(decimal("007"), d(7, false));
        assert_eq!(decimal("4."), None);
        assert_eq!(decimal(".5"), None);
        assert_eq!(decimal("1e3"), None);
        assert_eq!(decimal("-1"), None);
        assert!(decimal("5.0").is_some_and(|n| n.within(1, 5)));
        assert!(!decimal("5.01").is_some_and(|n| n.within(1, 5)));
        assert!(!decimal("0.99").is_some_and(|n| n.within(1, 5)));
        assert!(decimal("0").is_some_and(|n| n.within(0, 5)));
        assert_eq!(split_byte("a,,b", b',').collect::<Vec<_>>(), ["a", "", "b"]);
        assert_eq!(split_byte("", b',').collect::<Vec<_>>(), [""]);
        assert_eq!(split_once_byte("é:x", b':'), Some(("é", "x")));
        assert_eq!(measure("2.5 lb", &["lb", "oz"]), Some("lb"));
        assert_eq!(measure("2.5lb", &["lb", "oz"]), None);
        assert_eq!(measure("2.5 LB", &["lb", "oz"]), None);
    }

    #[test]
    fn text_rules() {
        assert!(is_all_caps("RUNNING SHOES FOR MEN"));
        assert!(!is_all_caps("USB-C HUB"));
        assert!(!is_all_caps("4K TV"));
        assert!(!is_all_caps("Running Shoes"));
        assert!(!is_all_caps("NIKE Air Max"));
        assert!(is_all_caps("ÉCHARPE EN LAINE"));
        let links = LinkFinder::new();
        assert!(links.has_link("see https://x.example"));
        assert!(links.has_link("visit WWW.SHOP.COM"));
        assert!(links.has_link("visit www.shop.com"));
        assert!(links.has_link("FTP://x"));
        assert!(!links.has_link("ends with www"));
        assert!(!links.has_link("a: b. c:/d"));
        assert!(!links.has_link("a plain description, with commas: and colons"));
        assert_eq!(chars_over("ééé", 3), None);
        assert_eq!(chars_over("éééé", 3), Some(4));
        assert!(contains_ignore_case("Media > Books", "book"));
        assert!(!contains_ignore_case("Apparel", "book"));
    }
}

//! One row under check ([`Row`]): its trimmed values by column, where its errors go, and
//! the value checks every feed's rules are written with (required values, lengths, enums,
//! URLs, booleans, numbers, prices, dates, periods); plus the splitting of list-valued
//! columns into entries.

use crate::catalog::RowError;
use crate::catalog::columns::Col;
use crate::catalog::formats::{self, chars_over, show, split_byte, split_once_byte};
use crate::catalog::record::{Header, Record};

/// One row being checked: its values by column, and where its errors go.
pub(super) struct Row<'r, 'a> {
    record: &'r Record<'a>,
    header: &'r Header,
    errors: &'r mut Vec<RowError>,
}

// The methods are the vocabulary of every feed's rules, which live in sibling modules:
// `#[inline]` lets them inline there as they did when the rules were one file (`missing`
// and `err` only run for bad values).
impl<'r, 'a> Row<'r, 'a> {
    #[inline]
    pub(super) fn new(
        record: &'r Record<'a>,
        header: &'r Header,
        errors: &'r mut Vec<RowError>,
    ) -> Self {
        Row {
            record,
            header,
            errors,
        }
    }

    /// Line where the row starts.
    #[inline]
    pub(super) fn line(&self) -> u64 {
        self.record.line()
    }

    #[inline]
    pub(super) fn has(&self, col: Col) -> bool {
        self.header.col(col).is_some()
    }

    /// The trimmed value; `""` when blank or when the file has no such column.
    #[inline]
    pub(super) fn v(&self, col: Col) -> &'a str {
        match self.header.col(col) {
            Some(i) => self.record.get(i).trim_ascii(),
            None => "",
        }
    }

    pub(super) fn err(&mut self, col: Col, message: impl Into<String>) {
        self.errors.push(RowError::new(Some(col.name()), message));
    }

    pub(super) fn missing(&mut self, col: Col, why: &str) {
        let message = if self.has(col) {
            format!("is required{why}")
        } else {
            format!(
                "is required{why}, and the file has no `{}` column",
                col.name()
            )
        };
        self.err(col, message);
    }

    /// The value, or an error when it is blank.
    #[inline]
    pub(super) fn required(&mut self, col: Col) -> &'a str {
        let v = self.v(col);
        if v.is_empty() {
            self.missing(col, "");
        }
        v
    }

    #[inline]
    pub(super) fn max_chars(&mut self, col: Col, max: usize) -> &'a str {
        let v = self.v(col);
        self.check_len(col, v, max);
        v
    }

    #[inline]
    pub(super) fn check_len(&mut self, col: Col, v: &str, max: usize) {
        if let Some(n) = chars_over(v, max) {
            self.err(col, format!("is {n} characters long; the limit is {max}"));
        }
    }

    #[inline]
    pub(super) fn one_of(&mut self, col: Col, v: &str, allowed: &[&str]) -> bool {
        if v.is_empty() || allowed.contains(&v) {
            return true;
        }
        self.err(
            col,
            format!("{} is not one of: {}", show(v), allowed.join(", ")),
        );
        false
    }

    #[inline]
    pub(super) fn enum_col(&mut self, col: Col, allowed: &[&str]) -> &'a str {
        let v = self.v(col);
        self.one_of(col, v, allowed);
        v
    }

    #[inline]
    pub(super) fn url(&mut self, col: Col, v: &str) -> bool {
        match formats::url(v) {
            Ok(()) => true,
            Err(why) => {
                self.err(col, format!("{} {why}", show(v)));
                false
            }
        }
    }

    #[inline]
    pub(super) fn url_col(&mut self, col: Col) {
        let v = self.v(col);
        if !v.is_empty() {
            self.url(col, v);
        }
    }

    #[inline]
    pub(super) fn bool_col(&mut self, col: Col) -> Option<bool> {
        match self.v(col) {
            "" => None,
            "true" => Some(true),
            "false" => Some(false),
            other => {
                self.err(
                    col,
                    format!("{} is not a boolean: write `true` or `false`", show(other)),
                );
                None
            }
        }
    }

    #[inline]
    pub(super) fn uint_col(&mut self, col: Col) -> Option<u64> {
        let v = self.v(col);
        if v.is_empty() {
            return None;
        }
        let n = formats::uint(v);
        if n.is_none() {
            self.err(
                col,
                format!("{} is not a whole number of 0 or more", show(v)),
            );
        }
        n
    }

    /// A plain number within whole-number bounds; `Some` when present and valid.
    #[inline]
    pub(super) fn number_in(&mut self, col: Col, lo: u64, hi: u64) -> Option<()> {
        let v = self.v(col);
        if v.is_empty() {
            return None;
        }
        match formats::decimal(v) {
            Some(n) if n.within(lo, hi) => Some(()),
            Some(_) => {
                self.err(col, format!("{} is outside {lo}–{hi}", show(v)));
                None
            }
            None if v.ends_with('%') => {
                self.err(
                    col,
                    format!("{} must be a plain number, without `%`", show(v)),
                );
                None
            }
            None => {
                self.err(col, format!("{} is not a number like `4.5`", show(v)));
                None
            }
        }
    }

    #[inline]
    pub(super) fn price_col(&mut self, col: Col) -> Option<&'a str> {
        let v = self.v(col);
        if v.is_empty() {
            return None;
        }
        match formats::price(v) {
            Ok(currency) => Some(currency),
            Err(message) => {
                self.err(col, message);
                None
            }
        }
    }

    #[inline]
    pub(super) fn date_col(&mut self, col: Col) -> Option<i64> {
        let v = self.v(col);
        if v.is_empty() {
            return None;
        }
        let t = formats::instant(v);
        if t.is_none() {
            self.err(
                col,
                format!(
                    "{} is not an ISO 8601 date: write `YYYY-MM-DD` (or a date-time with a zone, `YYYY-MM-DDThh:mm:ssZ`)",
                    show(v)
                ),
            );
        }
        t
    }

    /// `start/end` of two instants with `start` before `end` (or equal, when allowed).
    #[inline]
    pub(super) fn period(&mut self, col: Col, v: &str, allow_equal: bool, shape: &str) {
        let parsed = split_once_byte(v, b'/').and_then(|(a, b)| {
            Some((
                formats::instant(a.trim_ascii())?,
                formats::instant(b.trim_ascii())?,
            ))
        });
        match parsed {
            None => self.err(col, format!("{} is not a period: write `{shape}`", show(v))),
            Some((start, end)) if end < start || (end == start && !allow_equal) => {
                self.err(col, format!("{} ends before it starts", show(v)))
            }
            Some(_) => {}
        }
    }
}

/// `a:b:c` split into at most `N` parts; the count says how many there were (more than `N`
/// means too many).
pub(super) fn split_parts<const N: usize>(s: &str) -> ([&str; N], usize) {
    let mut parts = [""; N];
    let mut n = 0;
    for part in split_byte(s, b':') {
        if n < N {
            parts[n] = part.trim_ascii();
        }
        n += 1;
    }
    (parts, n)
}

/// Entries of a comma-separated list, trimmed.
#[inline]
pub(super) fn entries(s: &str) -> impl Iterator<Item = &str> {
    split_byte(s, b',').map(str::trim_ascii)
}

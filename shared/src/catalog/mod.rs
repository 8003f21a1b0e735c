//! Catalog feeds: validation of product, inventory, pricing and promotion CSV/TSV files
//! against Stripe's feed spec (docs/stripe.md §2), streaming.
//!
//! [`Validator`] is push-based: bytes arrive in chunks of any size (an S3 body stream, a
//! file read loop) and every parsed row goes to a [`RowSink`] with the row's errors. Memory
//! does not grow with the file: the record being parsed is bounded
//! ([`MAX_RECORD_BYTES`]), and the only per-row state is a 128-bit hash per id ([`id_hash`],
//! duplicate detection) and a few bytes per `item_group_id` (variant consistency).
//!
//! Two kinds of problems:
//! - [`Fatal`] (structural): the file would be rejected whole, so validation stops.
//! - [`RowError`] (per row): the row is reported, like Stripe's own error file, and the
//!   rest of the file goes on.
//!
//! Sinks shipped here: [`ValidationReport`] (a JSON-able report for the CLI and
//! `status.json`), [`ErrorCsvWriter`] (failed rows with a leading error column) and
//! [`Discard`].

mod columns;
mod formats;
pub mod id_hash;
mod parse;
mod record;
mod report;
mod rules;

use std::fmt;
use std::str::FromStr;

pub(crate) use formats::UsPostalArea;
pub use id_hash::id_hash;
pub use parse::{MAX_FIELDS, MAX_RECORD_BYTES, Validator, validate_reader};
pub use record::{Header, Record};
pub use report::{
    DEFAULT_ERROR_CAP, ERROR_COLUMN, ErrorCsvWriter, ReportedError, ValidationReport,
};

/// Which of Stripe's feeds a file is (v1 knows product and inventory; v2 adds pricing and
/// promotion).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FeedKind {
    Product,
    Inventory,
    Pricing,
    Promotion,
}

impl FeedKind {
    pub const ALL: [FeedKind; 4] = [
        FeedKind::Product,
        FeedKind::Inventory,
        FeedKind::Pricing,
        FeedKind::Promotion,
    ];

    /// Stripe's v2 `feed_type` spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            FeedKind::Product => "product",
            FeedKind::Inventory => "inventory",
            FeedKind::Pricing => "pricing",
            FeedKind::Promotion => "promotion",
        }
    }

    /// The feed named by a path component of the S3 layout
    /// (`incoming/<acct>/{catalog,inventory,pricing,promotion}/…`), for keys and local paths.
    pub fn from_path(path: &str) -> Option<FeedKind> {
        path.split(['/', '\\']).find_map(|part| match part {
            "catalog" => Some(FeedKind::Product),
            "inventory" => Some(FeedKind::Inventory),
            "pricing" => Some(FeedKind::Pricing),
            "promotion" => Some(FeedKind::Promotion),
            _ => None,
        })
    }
}

impl fmt::Display for FeedKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown feed `{0}`: expected product (or catalog), inventory, pricing or promotion")]
pub struct UnknownFeed(pub String);

impl FromStr for FeedKind {
    type Err = UnknownFeed;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "product" | "catalog" => Ok(FeedKind::Product),
            "inventory" => Ok(FeedKind::Inventory),
            "pricing" => Ok(FeedKind::Pricing),
            "promotion" => Ok(FeedKind::Promotion),
            _ => Err(UnknownFeed(s.to_string())),
        }
    }
}

/// Limits of the upload path the file is headed for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Files larger than this are rejected before anything is uploaded.
    pub max_bytes: u64,
}

impl Limits {
    /// Files API: "Max 200 MB". Stripe does not say whether MB means 10^6 or 2^20; the
    /// smaller reading never lets through a file Stripe would refuse.
    pub const fn v1() -> Self {
        Limits {
            max_bytes: 200_000_000,
        }
    }

    /// v2 upload URL: "max 4 GB", read the same conservative way as [`Limits::v1`].
    pub const fn v2() -> Self {
        Limits {
            max_bytes: 4_000_000_000,
        }
    }
}

/// A problem with one row. The row is reported (and skipped by Stripe); the file goes on.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RowError {
    /// The column at fault; `None` when the row as a whole is (wrong number of fields).
    pub column: Option<&'static str>,
    pub message: String,
}

impl RowError {
    pub fn new(column: Option<&'static str>, message: impl Into<String>) -> Self {
        RowError {
            column,
            message: message.into(),
        }
    }
}

impl fmt::Display for RowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.column {
            Some(column) => write!(f, "{column}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

/// Receives the header once, then every data row (with or without errors) in file order.
pub trait RowSink {
    type Error: fmt::Display;

    fn header(&mut self, header: &Header) -> Result<(), Self::Error>;

    /// `errors` is empty for a valid row. Blank lines are not rows and never arrive here.
    fn row(
        &mut self,
        record: &Record<'_>,
        header: &Header,
        errors: &[RowError],
    ) -> Result<(), Self::Error>;
}

impl<S: RowSink + ?Sized> RowSink for &mut S {
    type Error = S::Error;

    fn header(&mut self, header: &Header) -> Result<(), Self::Error> {
        (**self).header(header)
    }

    fn row(
        &mut self,
        record: &Record<'_>,
        header: &Header,
        errors: &[RowError],
    ) -> Result<(), Self::Error> {
        (**self).row(record, header, errors)
    }
}

/// Both sinks see every call (e.g. a [`ValidationReport`] and an [`ErrorCsvWriter`]).
impl<A: RowSink, B: RowSink> RowSink for (A, B) {
    type Error = String;

    fn header(&mut self, header: &Header) -> Result<(), Self::Error> {
        self.0.header(header).map_err(|e| e.to_string())?;
        self.1.header(header).map_err(|e| e.to_string())
    }

    fn row(
        &mut self,
        record: &Record<'_>,
        header: &Header,
        errors: &[RowError],
    ) -> Result<(), Self::Error> {
        self.0
            .row(record, header, errors)
            .map_err(|e| e.to_string())?;
        self.1
            .row(record, header, errors)
            .map_err(|e| e.to_string())
    }
}

/// A sink that keeps nothing, for callers that only need the [`Summary`].
#[derive(Debug, Default, Clone, Copy)]
pub struct Discard;

impl RowSink for Discard {
    type Error = std::convert::Infallible;

    fn header(&mut self, _: &Header) -> Result<(), Self::Error> {
        Ok(())
    }

    fn row(&mut self, _: &Record<'_>, _: &Header, _: &[RowError]) -> Result<(), Self::Error> {
        Ok(())
    }
}

/// A structural problem: Stripe would reject the whole file, so it is never uploaded.
/// Messages are addressed to the merchant who has to fix the file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Fatal {
    #[error("the file is empty: it needs a header row naming the columns, then one row per item")]
    Empty,
    #[error("line {line} is not valid UTF-8: save the file with UTF-8 encoding")]
    NotUtf8 { line: u64 },
    #[error(
        "the header row has no comma or tab between column names: save the file as CSV (comma-separated) or TSV (tab-separated)"
    )]
    NoDelimiter,
    #[error("the header row is missing required column(s): {}", .0.join(", "))]
    MissingColumns(Vec<String>),
    #[error("the header row names column `{0}` more than once")]
    DuplicateColumn(String),
    #[error(
        "the file is larger than the {limit}-byte limit of this upload path (at least {at_least} bytes): split it into smaller files"
    )]
    TooLarge { limit: u64, at_least: u64 },
    #[error(
        "a quoted field opened on line {line} is never closed: add the missing `\"` (a quote inside a quoted field is written `\"\"`)"
    )]
    UnterminatedQuote { line: u64 },
    #[error(
        "the row starting on line {line} is longer than {limit} bytes; the usual cause is a quoted field whose closing `\"` is missing"
    )]
    RecordTooLong { line: u64, limit: usize },
    #[error("the row starting on line {line} has more than {limit} fields")]
    TooManyFields { line: u64, limit: usize },
    #[error("the validation report could not be written: {0}")]
    Sink(String),
    #[error("the file could not be read: {0}")]
    Io(String),
}

/// What a finished validation counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct Summary {
    pub bytes: u64,
    /// Data rows (the header and blank lines are not rows).
    pub rows: u64,
    pub rows_with_errors: u64,
}

#[cfg(test)]
mod tests;

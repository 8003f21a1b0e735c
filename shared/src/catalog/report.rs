//! Sinks that turn validation into something a merchant reads: a JSON-able report and an
//! error file shaped like Stripe's own.

use std::io::{self, Write};

use serde::Serialize;

use super::record::{Header, Record};
use super::{Fatal, RowError, RowSink, Summary};

/// How many row errors a [`ValidationReport`] keeps by default; the rest are only counted,
/// so a file that is wrong on every row still gives a bounded report.
pub const DEFAULT_ERROR_CAP: usize = 10_000;

/// Name of the leading column of [`ErrorCsvWriter`]'s output. Stripe's own error file
/// calls its column `stripe_error_message`; ours differs so the two reports (both in
/// `reports/…`) are never confused.
pub const ERROR_COLUMN: &str = "validation_error";

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReportedError {
    /// Line where the row starts (the header is line 1).
    pub line: u64,
    pub id: Option<String>,
    pub column: Option<&'static str>,
    pub message: String,
}

/// Collects row errors (up to a cap) and the outcome, for the CLI and `status.json`:
/// `{"fatal": null|"…", "rows": n, "rows_with_errors": n, "errors": […], "errors_omitted": n}`.
#[derive(Debug, Clone, Serialize)]
pub struct ValidationReport {
    pub fatal: Option<String>,
    pub rows: u64,
    pub rows_with_errors: u64,
    pub errors: Vec<ReportedError>,
    /// Row errors beyond the cap, counted but not kept.
    pub errors_omitted: u64,
    #[serde(skip)]
    cap: usize,
}

impl Default for ValidationReport {
    fn default() -> Self {
        Self::with_cap(DEFAULT_ERROR_CAP)
    }
}

impl ValidationReport {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn with_cap(cap: usize) -> Self {
        ValidationReport {
            fatal: None,
            rows: 0,
            rows_with_errors: 0,
            errors: Vec::new(),
            errors_omitted: 0,
            cap,
        }
    }

    /// Records how validation ended; call it with what `finish` (or a failed `push`)
    /// returned.
    pub fn set_outcome(&mut self, outcome: &Result<Summary, Fatal>) {
        self.fatal = outcome.as_ref().err().map(ToString::to_string);
    }

    /// No structural error: the file can be uploaded (its bad rows, if any, are skipped).
    pub fn is_accepted(&self) -> bool {
        self.fatal.is_none()
    }

    pub fn error_count(&self) -> u64 {
        self.errors.len() as u64 + self.errors_omitted
    }

    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }
}

impl RowSink for ValidationReport {
    type Error = std::convert::Infallible;

    fn header(&mut self, _: &Header) -> Result<(), Self::Error> {
        Ok(())
    }

    fn row(
        &mut self,
        record: &Record<'_>,
        _: &Header,
        errors: &[RowError],
    ) -> Result<(), Self::Error> {
        self.rows += 1;
        if errors.is_empty() {
            return Ok(());
        }
        self.rows_with_errors += 1;
        for error in errors {
            if self.errors.len() < self.cap {
                self.errors.push(ReportedError {
                    line: record.line(),
                    id: record.id().map(str::to_string),
                    column: error.column,
                    message: error.message.clone(),
                });
            } else {
                self.errors_omitted += 1;
            }
        }
        Ok(())
    }
}

/// Writes the rows that have errors the way Stripe's error file does: the original
/// header and rows, byte for byte, behind a leading [`ERROR_COLUMN`] with the row's
/// messages joined by `; `. The delimiter is the source's, so the file opens like it.
pub struct ErrorCsvWriter<W: Write> {
    out: W,
    delimiter: u8,
    rows_written: u64,
    message: String,
}

impl<W: Write> ErrorCsvWriter<W> {
    pub fn new(out: W) -> Self {
        ErrorCsvWriter {
            out,
            delimiter: b',',
            rows_written: 0,
            message: String::new(),
        }
    }

    pub fn rows_written(&self) -> u64 {
        self.rows_written
    }

    pub fn into_inner(self) -> W {
        self.out
    }

    /// What has been written so far, when writing to memory.
    pub fn output(&self) -> &W {
        &self.out
    }

    /// The output itself, e.g. to drain a buffer between writes.
    pub fn output_mut(&mut self) -> &mut W {
        &mut self.out
    }

    fn write_quoted(&mut self) -> io::Result<()> {
        self.out.write_all(b"\"")?;
        let mut parts = self.message.split('"');
        if let Some(first) = parts.next() {
            self.out.write_all(first.as_bytes())?;
        }
        for part in parts {
            self.out.write_all(b"\"\"")?;
            self.out.write_all(part.as_bytes())?;
        }
        self.out.write_all(b"\"")
    }
}

impl<W: Write> RowSink for ErrorCsvWriter<W> {
    type Error = io::Error;

    fn header(&mut self, header: &Header) -> Result<(), Self::Error> {
        self.delimiter = header.delimiter();
        self.out.write_all(ERROR_COLUMN.as_bytes())?;
        self.out.write_all(&[self.delimiter])?;
        self.out.write_all(header.raw())?;
        self.out.write_all(b"\n")
    }

    fn row(
        &mut self,
        record: &Record<'_>,
        _: &Header,
        errors: &[RowError],
    ) -> Result<(), Self::Error> {
        if errors.is_empty() {
            return Ok(());
        }
        self.message.clear();
        for (i, error) in errors.iter().enumerate() {
            if i > 0 {
                self.message.push_str("; ");
            }
            use std::fmt::Write as _;
            let _ = write!(self.message, "{error}");
        }
        self.write_quoted()?;
        self.out.write_all(&[self.delimiter])?;
        self.out.write_all(record.raw())?;
        self.out.write_all(b"\n")?;
        self.rows_written += 1;
        Ok(())
    }
}

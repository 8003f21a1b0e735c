//! The catalog validator through its public API: fixtures, structure (encodings, quoting,
//! line endings, limits), streaming in arbitrary chunks, and the error file.

use std::path::Path;

use proptest::prelude::*;
use shared::catalog::{
    ERROR_COLUMN, ErrorCsvWriter, Fatal, FeedKind, Header, Limits, Record, RowError, RowSink,
    Summary, ValidationReport, Validator, validate_reader,
};

mod fixtures;
mod reports;
mod streaming;
mod structure;

fn fixture(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/catalog")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Everything a sink can observe, to compare runs.
#[derive(Debug, Default, PartialEq)]
struct Capture {
    header: Vec<String>,
    delimiter: u8,
    header_raw: Vec<u8>,
    rows: Vec<CapturedRow>,
}

#[derive(Debug, PartialEq)]
struct CapturedRow {
    line: u64,
    id: Option<String>,
    fields: Vec<String>,
    raw: Vec<u8>,
    errors: Vec<RowError>,
}

impl RowSink for Capture {
    type Error = std::convert::Infallible;

    fn header(&mut self, header: &Header) -> Result<(), Self::Error> {
        self.header = header.columns().to_vec();
        self.delimiter = header.delimiter();
        self.header_raw = header.raw().to_vec();
        Ok(())
    }

    fn row(&mut self, r: &Record<'_>, _: &Header, errors: &[RowError]) -> Result<(), Self::Error> {
        self.rows.push(CapturedRow {
            line: r.line(),
            id: r.id().map(str::to_string),
            fields: r.fields().map(str::to_string).collect(),
            raw: r.raw().to_vec(),
            errors: errors.to_vec(),
        });
        Ok(())
    }
}

/// The outcome, the captured rows and the error file of one run, feeding `chunks` sizes
/// in turn (cycling), or the whole input at once when empty.
fn run_chunked(
    feed: FeedKind,
    input: &[u8],
    chunks: &[usize],
) -> (Result<Summary, Fatal>, Capture, Vec<u8>) {
    let mut sink = (Capture::default(), ErrorCsvWriter::new(Vec::new()));
    let mut validator = Validator::new(feed, Limits::v2());
    let mut pos = 0;
    let mut i = 0;
    let mut outcome = Ok(());
    while pos < input.len() && outcome.is_ok() {
        let n = if chunks.is_empty() {
            input.len()
        } else {
            chunks[i % chunks.len()].max(1)
        };
        let end = (pos + n).min(input.len());
        outcome = validator.push(&input[pos..end], &mut sink);
        pos = end;
        i += 1;
    }
    let result = match outcome {
        Ok(()) => validator.finish(&mut sink),
        Err(fatal) => Err(fatal),
    };
    let (capture, writer) = sink;
    (result, capture, writer.into_inner())
}

fn run(feed: FeedKind, input: &[u8]) -> (Result<Summary, Fatal>, Capture) {
    let (result, capture, _) = run_chunked(feed, input, &[]);
    (result, capture)
}

fn report(feed: FeedKind, input: &[u8]) -> ValidationReport {
    let mut report = ValidationReport::new();
    let outcome = validate_reader(feed, Limits::v1(), input, &mut report);
    report.set_outcome(&outcome);
    report
}

fn crlf(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len() * 2);
    for &b in input {
        if b == b'\n' {
            out.push(b'\r');
        }
        out.push(b);
    }
    out
}

const FIXTURES: &[(&str, FeedKind)] = &[
    ("product_valid.csv", FeedKind::Product),
    ("product_bad_rows.csv", FeedKind::Product),
    ("product_missing_column.csv", FeedKind::Product),
    ("product_valid.tsv", FeedKind::Product),
    ("inventory.csv", FeedKind::Inventory),
    ("pricing.csv", FeedKind::Pricing),
    ("promotion.csv", FeedKind::Promotion),
];

// ---------------------------------------------------------------- fixtures

// ---------------------------------------------------------------- structure

// ---------------------------------------------------------------- error file

// ---------------------------------------------------------------- streaming

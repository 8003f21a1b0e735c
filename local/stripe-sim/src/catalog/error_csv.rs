//! The error file of an import that succeeded with errors: the failed rows only, each
//! behind a leading `stripe_error_message` column, in the source's delimiter; plus the
//! first problems as v2 `samples`.

use super::delimited;
use super::feed_rows::Processed;
use crate::state::files::{CSV, TSV};
use crate::state::imports::{ErrorReport, Sample};
use axum::body::Bytes;

/// Samples of row errors in a v2 import.
const MAX_SAMPLES: usize = 10;

pub(super) fn error_report(processed: &Processed) -> ErrorReport {
    let messages: Vec<String> = processed
        .errors
        .iter()
        .map(|error| {
            error
                .problems
                .iter()
                .map(|(_, m)| m.as_str())
                .collect::<Vec<_>>()
                .join("; ")
        })
        .collect();
    let header =
        std::iter::once("stripe_error_message").chain(processed.header.iter().map(String::as_str));
    let rows = processed
        .errors
        .iter()
        .zip(&messages)
        .map(|(error, message)| {
            std::iter::once(message.as_str())
                .chain(error.fields.iter().map(String::as_str))
                .collect()
        });
    let bytes = delimited::write(
        std::iter::once(header.collect()).chain(rows),
        processed.delimiter,
    );
    let samples = processed
        .errors
        .iter()
        .flat_map(|error| {
            error.problems.iter().map(|(field, message)| Sample {
                row: error.row,
                id: error.id.clone(),
                field: field.clone(),
                message: message.clone(),
            })
        })
        .take(MAX_SAMPLES)
        .collect();
    ErrorReport {
        bytes: Bytes::from(bytes),
        content_type: if processed.delimiter == b'\t' {
            TSV
        } else {
            CSV
        },
        file_id: None,
        samples,
    }
}

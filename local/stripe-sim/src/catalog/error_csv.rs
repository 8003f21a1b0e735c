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
    let mut out = String::new();
    let header =
        std::iter::once("stripe_error_message").chain(processed.header.iter().map(String::as_str));
    delimited::write_record(&mut out, header, processed.delimiter);
    let mut samples = Vec::new();
    for error in &processed.errors {
        let message = error
            .problems
            .iter()
            .map(|(_, m)| m.as_str())
            .collect::<Vec<_>>()
            .join("; ");
        let fields =
            std::iter::once(message.as_str()).chain(error.fields.iter().map(String::as_str));
        delimited::write_record(&mut out, fields, processed.delimiter);
        for (field, message) in &error.problems {
            if samples.len() < MAX_SAMPLES {
                samples.push(Sample {
                    row: error.row,
                    id: error.id.clone(),
                    field: field.clone(),
                    message: message.clone(),
                });
            }
        }
    }
    ErrorReport {
        bytes: Bytes::from(out),
        content_type: if processed.delimiter == b'\t' {
            TSV
        } else {
            CSV
        },
        file_id: None,
        samples,
    }
}

//! The v1 import set object (`data_management.import_set`).

use crate::state::imports::{Import, ImportState, Outcome, Stats};
use crate::timestamps::unix;
use serde_json::{Value, json};

/// An import set as `GET /v1/data_management/import_sets/{id}` shows it.
pub fn v1_json(import: &Import) -> Value {
    let (status, failed_reason, stats, error_file) = match &import.state {
        ImportState::AwaitingUpload | ImportState::Processing { .. } => {
            ("pending", None, Stats::default(), None)
        }
        ImportState::Done(Outcome::Succeeded(stats)) => ("succeeded", None, stats.clone(), None),
        ImportState::Done(Outcome::SucceededWithErrors(stats, report)) => (
            "succeeded_with_errors",
            None,
            stats.clone(),
            report.file_id.clone(),
        ),
        ImportState::Done(Outcome::Failed(failure)) => (
            "failed",
            Some(failure.message.clone()),
            Stats::default(),
            None,
        ),
    };
    json!({
        "id": import.id,
        "object": "data_management.import_set",
        "created": unix(import.created),
        "livemode": false,
        "status": status,
        "failed_reason": failed_reason,
        "result": {
            "errors": { "file": error_file, "row_count": stats.errors },
            "rows_processed": stats.rows_processed,
            "successes": { "row_count": stats.successes },
            "objects_created": stats.objects_created,
            "skipped_by_filter": 0,
            "skipped_duplicates": stats.skipped_duplicates,
        },
    })
}

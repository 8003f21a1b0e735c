//! How far a merchant's reconciliation has come: stored on the merchant's item, written with
//! a version check so two runs never both move it (see `crate::reconcile`).

use serde::{Deserialize, Serialize};

/// A scan of one merchant's completed sessions, under way: the next run resumes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScanCursor {
    /// The scan lists sessions created at or after this (unix seconds).
    pub created_gte: i64,
    /// When the scan began (unix seconds): the watermark once it completes.
    pub started_at: i64,
    /// The last session of the last page whose orders are all recorded.
    pub starting_after: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReconcileState {
    /// When the last complete scan began (unix seconds): every session completed and
    /// created before it, less the overlap, is known to be recorded. None: never scanned.
    pub watermark: Option<i64>,
    /// A scan that stopped before its last page (time budget, a failure).
    pub scan: Option<ScanCursor>,
    /// When a run last worked on this merchant (ms since the epoch): the least recent goes
    /// first, so a merchant not reached in one run is reached in the next.
    pub last_run_millis: i64,
    /// Incremented by every write; a write expects the version it read.
    pub version: u64,
}

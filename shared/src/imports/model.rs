//! Import records and per-feed upload slots, as stored in the Catalog table.

use serde::{Deserialize, Serialize};

use super::keys::{Feed, FileFormat};
use crate::bucket::ObjectRef;
use crate::merchants::ApiGeneration;

/// A validated file waiting for its feed's next upload slot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QueuedFile {
    pub object: ObjectRef,
    /// The file name under `incoming/<acct>/<feed>/`; it names the report folder.
    pub name: String,
    pub format: FileFormat,
    pub replace: bool,
    pub arrived_at: i64,
    pub rows: u64,
    pub rows_with_errors: u64,
    /// Failed rows past `validation.csv`'s row or byte cap (counted, not kept).
    #[serde(default)]
    pub rows_left_out_of_report: u64,
}

/// One account's upload state for one feed: what waits, what is in flight, and when the
/// last upload went out. Written with optimistic concurrency (`version`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeedSlot {
    pub account_id: String,
    pub feed: Feed,
    #[serde(default)]
    pub version: i64,
    #[serde(default)]
    pub last_upload_at: Option<i64>,
    /// The import key of the upload Stripe is still processing.
    #[serde(default)]
    pub in_flight: Option<String>,
    #[serde(default)]
    pub queue: Vec<QueuedFile>,
    /// The identities (`identity::object_identity`) of the latest files taken into an
    /// upload or superseded, newest last, at most [`SENT_REMEMBERED`]: a file whose S3
    /// event comes again after it went out (a retried event) is not queued a second time.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sent: Vec<String>,
    /// The invocation moving this feed forward now, if any (see `uploader::lease`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lease: Option<Lease>,
    /// When a message for this feed was put on the uploader's queue and not yet taken
    /// (see `uploader::fanout`): while set, the tick does not send another.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dispatched_at: Option<i64>,
    /// Not before then (ms) is Stripe asked again about the import in flight, but for an
    /// import event saying it changed (see `cadence::poll_after`): the tick does not send
    /// the feed until then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub poll_after: Option<i64>,
}

/// A slot with work, as the schedule lists it (from the slots index: no full read).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActiveSlot {
    pub account_id: String,
    pub feed: Feed,
    /// The slot's `dispatched_at`: a message for it waits on the queue since then.
    pub dispatched_at: Option<i64>,
    /// The slot's `poll_after`: its import in flight is not polled before then.
    pub poll_after: Option<i64>,
}

/// How many sent files a slot remembers (about 7 kB of the slot's item).
pub const SENT_REMEMBERED: usize = 100;

/// One invocation's exclusive right to move a feed forward (upload, poll, complete) until
/// `until` (ms): others leave the feed alone meanwhile, so a slow upload is not started
/// again by every tick, S3 event and import event that comes along.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lease {
    pub owner: String,
    pub until: i64,
}

impl FeedSlot {
    pub fn new(account_id: &str, feed: Feed) -> Self {
        Self {
            account_id: account_id.to_string(),
            feed,
            version: 0,
            last_upload_at: None,
            in_flight: None,
            queue: Vec::new(),
            sent: Vec::new(),
            lease: None,
            dispatched_at: None,
            poll_after: None,
        }
    }

    /// Remembers that these files went out (or were made moot), keeping the latest.
    pub fn remember_sent(&mut self, identities: impl IntoIterator<Item = String>) {
        self.sent.extend(identities);
        let excess = self.sent.len().saturating_sub(SENT_REMEMBERED);
        self.sent.drain(..excess);
    }

    /// Whether an invocation other than `owner` holds a lease that has not run out.
    pub fn leased_to_another(&self, owner: &str, now_millis: i64) -> bool {
        self.lease
            .as_ref()
            .is_some_and(|l| l.owner != owner && l.until > now_millis)
    }

    /// Slots with work (queued files or an upload in flight) are listed by the schedule.
    pub fn is_active(&self) -> bool {
        self.in_flight.is_some() || !self.queue.is_empty()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ImportStatus {
    /// Being uploaded to Stripe.
    Uploading,
    /// Stripe is processing it (v1 `pending`, v2 `awaiting_upload`/`processing`).
    Processing,
    Succeeded,
    SucceededWithErrors,
    Failed,
    /// Never uploaded: refused by our own checks.
    Rejected,
    /// Never uploaded: a later `replace` file made it moot.
    Superseded,
}

impl ImportStatus {
    pub fn is_terminal(self) -> bool {
        !matches!(self, ImportStatus::Uploading | ImportStatus::Processing)
    }
}

/// How Stripe applies an import (v2 `mode`); v1 imports always upsert.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ImportMode {
    /// Rows add or update products; products not in the file stay.
    #[default]
    Upsert,
    /// v2 product feed only: products missing from the file are deleted.
    Replace,
}

impl ImportMode {
    pub fn as_str(self) -> &'static str {
        match self {
            ImportMode::Upsert => "upsert",
            ImportMode::Replace => "replace",
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ImportCounts {
    /// Rows in the uploaded file(s).
    pub rows: u64,
    /// Rows our validation flagged.
    pub rows_with_errors: u64,
    /// As Stripe reports them once processed.
    pub stripe_successes: Option<u64>,
    pub stripe_errors: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImportRecord {
    pub account_id: String,
    /// Ours: derived from the source objects, so a retried upload finds its record.
    pub import_key: String,
    pub feed: Feed,
    pub generation: ApiGeneration,
    /// An unknown stored value is an error when the record is read, never a guess.
    pub mode: ImportMode,
    pub sources: Vec<QueuedFile>,
    /// What went to Stripe: the single source, or the merge of several.
    pub upload: ObjectRef,
    pub status: ImportStatus,
    #[serde(default)]
    pub stripe_status: Option<String>,
    #[serde(default)]
    pub stripe_file_id: Option<String>,
    #[serde(default)]
    pub stripe_import_id: Option<String>,
    #[serde(default)]
    pub counts: ImportCounts,
    #[serde(default)]
    pub failure: Option<String>,
    #[serde(default)]
    pub report_keys: Vec<String>,
    pub created_at: i64,
    pub updated_at: i64,
    /// What the incremental pass did (see `imports::snapshot`); None on records written
    /// before it existed, which went whole and left no snapshot to promote.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incremental: Option<IncrementalUpload>,
    /// Rows of the upload already written to SKU records by invocations that ran out of
    /// time finishing the import (a catalog of millions of products); the next one goes
    /// on from there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sku_rows_applied: Option<u64>,
}

impl ImportRecord {
    /// Whether Stripe was asked to `replace` (delete what the file lacks). An incremental
    /// upload of a replace file goes as an upsert with explicit deletion rows instead.
    pub fn stripe_mode(&self) -> ImportMode {
        match &self.incremental {
            Some(incremental) if incremental.applied => ImportMode::Upsert,
            _ => self.mode,
        }
    }

    /// The object Stripe got: the delta of an incremental upload (None when it had no row
    /// to send, and Stripe was not called), else the whole upload.
    pub fn sent_object(&self) -> Option<&ObjectRef> {
        match &self.incremental {
            Some(incremental) if incremental.applied => incremental.delta.as_ref(),
            _ => Some(&self.upload),
        }
    }
}

/// An upload compared with the snapshot of what Stripe already has for the feed: what was
/// sent, what was left out, and the snapshot to keep if Stripe accepts the import.
/// The counts cover the rows of the whole upload (one merged file, or the one source).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct IncrementalUpload {
    /// Only new, changed and deleted rows went to Stripe (`delta`); false: the whole file
    /// went, for the reason in `full_because`.
    pub applied: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub full_because: Option<String>,
    /// Rows whose content Stripe already has.
    #[serde(default)]
    pub unchanged: u64,
    /// Rows whose id Stripe does not have (and rows without an id, always sent).
    #[serde(default)]
    pub new: u64,
    /// Rows whose content differs from what Stripe has (or whose state is unknown).
    #[serde(default)]
    pub changed: u64,
    /// Deletion rows sent: the file's own `delete=true` rows, and for a replace file one
    /// per product Stripe has that the file lacks.
    #[serde(default)]
    pub deleted: u64,
    #[serde(default)]
    pub bytes_sent: u64,
    #[serde(default)]
    pub bytes_in_file: u64,
    /// The rows sent, when `applied` and there was at least one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delta: Option<ObjectRef>,
    /// The snapshot promoted to the feed's `sent.snapshot` when Stripe accepts the import.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub candidate: Option<ObjectRef>,
}

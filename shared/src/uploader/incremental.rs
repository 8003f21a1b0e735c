//! Incremental uploads: Stripe gets only the rows of a file that it does not already have.
//!
//! Per account and feed the bucket keeps `state/<acct>/<feed folder>/sent.snapshot`, what
//! Stripe has (format and bounds in `imports::snapshot`, the row hash in `imports::delta`).
//! - At upload ([`Uploader::prepare_incremental`]), after the merge: the file is compared
//!   with the snapshot in one streaming pass. The rows that are new or changed (and, for a
//!   v2 replace file, one deletion row per product the file lacks) go to
//!   `work/<acct>/<feed>/<import_key>.delta.<csv|tsv>`, which is what Stripe gets, as an
//!   upsert; the candidate snapshot (every row of the file, plus for an upsert what the
//!   snapshot had besides) goes to `work/…/<import_key>.snapshot`.
//! - At completion ([`Uploader::settle_snapshot`]): an accepted import promotes the
//!   candidate, keeping the old entry of each row Stripe failed, so it is sent again.
//!
//! The whole file goes instead (and says why in `status.json`) when the merchant turned
//! the feature off, on a feed's first upload, when the snapshot or the upload is past
//! [`SNAPSHOT_MAX_ROWS`], or when another feed's changes cannot be told apart (below).
//! The SKU records the hooks read are still written from the whole file at completion,
//! exactly as for a whole upload: a feed row resets `available`, unchanged or not.
//!
//! **Other feeds.** Product rows carry the inventory feed's columns (`availability`,
//! `inventory_quantity`…) and the pricing feed's (`price`…); an inventory or pricing
//! import changes what Stripe has for a product without touching the product feed's
//! snapshot, and the other way round. So before comparing, every id that an import of an
//! overlapping feed sent since the snapshot was computed (found in the import log, read
//! from the object that import sent) is marked dirty: its row is sent again. A whole
//! replace upload of the product feed touches products it does not name (it deletes
//! them), so after one the inventory and pricing uploads go whole once.
//!
//! **Failures.** An import Stripe failed leaves a tombstone (the next upload goes whole):
//! docs/stripe.md §1.1.8–10 do not say that a failed import applied nothing, and a
//! snapshot that is wrong about a row keeps that row from being sent for as long as the
//! file keeps it unchanged. So does an accepted import whose failed rows are not all
//! known (an error file that cannot be read as the feed, or past `MAX_FAILED_IDS`). An
//! upload Stripe never received leaves the old snapshot as it was.

use std::collections::HashSet;

use futures::StreamExt;

use super::{CatalogStore, UploadError, Uploader};
use crate::bucket::{BucketError, ByteChunks, ObjectRef, ObjectStore, ObjectWriter};
use crate::catalog::{Limits, Validator};
use crate::clock::Clock;
use crate::imports::delta::{DeltaPass, IdHashes};
use crate::imports::keys::{Feed, FileFormat};
use crate::imports::model::{ImportMode, ImportRecord, ImportStatus, IncrementalUpload};
use crate::imports::sku_rows::FailedIds;
use crate::imports::snapshot::{
    BaseLoader, BaseSnapshot, IdKeyed, Loaded, Promotion, SNAPSHOT_MAX_ROWS, SnapshotLines,
    SnapshotReader,
};
use crate::store::{IdempotencyStore, MerchantDirectory};
use crate::stripe::catalog::CatalogApi;

/// Where a feed's snapshot of what Stripe has lives.
pub(super) fn sent_snapshot_key(account_id: &str, feed: Feed) -> String {
    format!("state/{account_id}/{}/sent.snapshot", feed.folder())
}

const SNAPSHOT_TYPE: &str = "text/plain; charset=utf-8";

/// Imports of other feeds finished this long before a snapshot was computed still count
/// as after it: the clocks of two invocations may disagree a little.
const CLOCK_MARGIN_MILLIS: i64 = 5 * 60_000;

/// Import records read to find other feeds' changes (newest first).
const IMPORTS_SCANNED: usize = 200;

/// Buffered output written out past this size.
const FLUSH_BYTES: usize = 1 << 20;

#[cfg(not(test))]
fn row_cap() -> usize {
    SNAPSHOT_MAX_ROWS
}

#[cfg(test)]
thread_local! {
    /// Lets a test lower the bound (tokio tests run on one thread).
    pub(super) static ROW_CAP: std::cell::Cell<usize> = const { std::cell::Cell::new(SNAPSHOT_MAX_ROWS) };
}

#[cfg(test)]
fn row_cap() -> usize {
    ROW_CAP.with(std::cell::Cell::get)
}

/// Feeds whose rows set some of the same product fields at Stripe (docs/stripe.md §2.2,
/// §2.3.1, §2.3.2): an import of one changes what the other's snapshot describes.
fn overlapping(feed: Feed) -> &'static [Feed] {
    match feed {
        Feed::Product => &[Feed::Inventory, Feed::Pricing],
        Feed::Inventory | Feed::Pricing => &[Feed::Product],
        Feed::Promotion => &[],
    }
}

fn object(bucket: &str, key: String, size: u64) -> ObjectRef {
    ObjectRef {
        bucket: bucket.to_string(),
        key,
        version_id: None,
        etag: None,
        size,
    }
}

fn full(reason: String, record: &ImportRecord) -> IncrementalUpload {
    IncrementalUpload {
        applied: false,
        full_because: Some(reason),
        bytes_sent: record.upload.size,
        bytes_in_file: record.upload.size,
        ..Default::default()
    }
}

/// A stored snapshot that cannot be read as one is no snapshot; a read that may work
/// later is retried.
enum Read {
    Loaded(Loaded),
    Unusable(String),
}

impl<M, C, I, O, A, K> Uploader<M, C, I, O, A, K>
where
    M: MerchantDirectory,
    C: CatalogStore,
    I: IdempotencyStore,
    O: ObjectStore,
    A: CatalogApi,
    K: Clock,
{
    /// Compares the upload with the feed's snapshot: writes the delta (when one applies)
    /// and the candidate snapshot, and says what goes to Stripe.
    pub(super) async fn prepare_incremental(
        &self,
        record: &ImportRecord,
        enabled: bool,
    ) -> Result<IncrementalUpload, UploadError> {
        if !enabled {
            // Whatever the snapshot said stops being true with this upload.
            self.put_tombstone(record).await?;
            return Ok(full(
                "incremental uploads are off for this merchant".into(),
                record,
            ));
        }
        let cap = row_cap();
        if record.counts.rows > cap as u64 {
            self.put_tombstone(record).await?;
            return Ok(full(
                format!("the upload has more than {cap} rows, the snapshot's bound"),
                record,
            ));
        }
        let (mut base, mut reason) = match self.load_base(record, cap).await? {
            Read::Loaded(Loaded::Snapshot(base)) => (Some(base), None),
            Read::Loaded(Loaded::Absent) => (None, Some("no snapshot of what Stripe has for this feed yet (its first upload, or the last one was not confirmed)".to_string())),
            Read::Loaded(Loaded::OverCap) => (None, Some(format!("the snapshot of what Stripe has is past its bound of {cap} rows"))),
            Read::Unusable(why) => (None, Some(format!("the snapshot could not be used: {why}"))),
        };
        if let Some(snapshot) = base.as_mut() {
            match self
                .touched_by_other_feeds(record, snapshot.computed_at, cap)
                .await?
            {
                Ok(touched) => {
                    for key in touched {
                        snapshot.mark_dirty(key);
                    }
                }
                Err(why) => {
                    base = None;
                    reason = Some(why);
                }
            }
        }
        let mut result = self.compare(record, base.as_mut()).await?;
        if base.is_none() {
            result.full_because = reason;
            result.bytes_sent = record.upload.size;
        }
        Ok(result)
    }

    /// The file pass and the carry-over pass; the delta and candidate objects.
    async fn compare(
        &self,
        record: &ImportRecord,
        base: Option<&mut BaseSnapshot>,
    ) -> Result<IncrementalUpload, UploadError> {
        let applied = base.is_some();
        let prefix = format!(
            "work/{}/{}/{}",
            record.account_id,
            record.feed.folder(),
            record.import_key
        );
        let format = record.sources.last().map_or(FileFormat::Csv, |f| f.format);
        let delta_key = format!(
            "{prefix}.delta.{}",
            match format {
                FileFormat::Csv => "csv",
                FileFormat::Tsv => "tsv",
            }
        );
        let candidate_key = format!("{prefix}.snapshot");
        let bucket = &self.settings.bucket;
        let mut outputs = Outputs::<O::Writer> {
            delta: None,
            candidate: self
                .objects
                .writer(bucket, &candidate_key, SNAPSHOT_TYPE)
                .await?,
        };
        // Deletion rows for what the file lacks only where Stripe would have been asked to
        // replace: v2 product files (`cadence::next_step`; docs/stripe.md §1.1.2-3, `mode`
        // is a v2 parameter and only product feeds may replace). `delete` is a product
        // feed column whatever the API (docs/stripe.md §2.2, row `delete`: FEED, and the
        // v1 WooCommerce schema lists it), and a file's own `delete=true` rows go on v1 and
        // v2 alike; but a v1 import always upserts (§1.2 has no mode), so a v1
        // `.replace.` file sent whole deletes nothing, and neither does its delta: v1
        // incremental uploads only leave out unchanged rows.
        let replace = record.mode == ImportMode::Replace;
        let mut pass = DeltaPass::new(record.feed, base, replace, self.clock.now_millis());
        let (_, mut chunks) = self.objects.read(&record.upload).await?;
        let mut validator = Validator::new(record.feed, Limits::v2());
        while let Some(chunk) = chunks.next().await {
            validator
                .push(&chunk?, &mut pass)
                .map_err(|e| UploadError::Permanent(e.to_string()))?;
            self.drain(&mut pass, &mut outputs, &delta_key, FLUSH_BYTES)
                .await?;
        }
        validator
            .finish(&mut pass)
            .map_err(|e| UploadError::Permanent(e.to_string()))?;
        if applied {
            // The snapshot again, for the ids the file did not name.
            let (_, mut chunks) = self.objects.read(&self.snapshot_ref(record)).await?;
            let mut reader = SnapshotReader::default();
            while let Some(chunk) = chunks.next().await {
                reader
                    .push(&chunk?, |_, entry| {
                        pass.carry_over(&entry);
                        Ok(())
                    })
                    .map_err(|e| UploadError::Transient(e.to_string()))?;
                self.drain(&mut pass, &mut outputs, &delta_key, FLUSH_BYTES)
                    .await?;
            }
        }
        pass.finish();
        self.drain(&mut pass, &mut outputs, &delta_key, 0).await?;
        let counts = pass.counts;
        let candidate_size = outputs.candidate.finish().await?;
        let delta = match outputs.delta {
            Some(writer) => Some(object(bucket, delta_key, writer.finish().await?)),
            None => None,
        };
        Ok(IncrementalUpload {
            applied,
            full_because: None,
            unchanged: counts.unchanged,
            new: counts.new,
            changed: counts.changed,
            deleted: counts.deleted,
            bytes_sent: delta.as_ref().map_or(0, |d| d.size),
            bytes_in_file: record.upload.size,
            delta,
            candidate: Some(object(bucket, candidate_key, candidate_size)),
        })
    }

    async fn drain(
        &self,
        pass: &mut DeltaPass<'_>,
        outputs: &mut Outputs<O::Writer>,
        delta_key: &str,
        at_least: usize,
    ) -> Result<(), UploadError> {
        if pass.pending() < at_least.max(1) {
            return Ok(());
        }
        let candidate = pass.take_candidate();
        outputs.candidate.write(&candidate).await?;
        let delta = pass.take_delta();
        if !delta.is_empty() {
            let writer = match &mut outputs.delta {
                Some(writer) => writer,
                None => outputs.delta.insert(
                    self.objects
                        .writer(&self.settings.bucket, delta_key, "text/csv")
                        .await?,
                ),
            };
            writer.write(&delta).await?;
        }
        Ok(())
    }

    fn snapshot_ref(&self, record: &ImportRecord) -> ObjectRef {
        object(
            &self.settings.bucket,
            sent_snapshot_key(&record.account_id, record.feed),
            0,
        )
    }

    async fn load_base(&self, record: &ImportRecord, cap: usize) -> Result<Read, UploadError> {
        let (size, chunks) = match self.objects.read(&self.snapshot_ref(record)).await {
            Ok(read) => read,
            // Without s3:ListBucket a missing object reads as AccessDenied, not NoSuchKey:
            // either way there is no snapshot to use, and the upload goes whole.
            Err(BucketError::Permanent(why)) => {
                if !why.starts_with("NoSuchKey") {
                    tracing::info!(account = %record.account_id, feed = record.feed.as_str(), error = %why, "no readable snapshot; this upload goes whole");
                }
                return Ok(Read::Loaded(Loaded::Absent));
            }
            Err(e) => return Err(e.into()),
        };
        let mut loader = BaseLoader::new(record.feed, cap, size);
        let mut chunks: ByteChunks = chunks;
        while let Some(chunk) = chunks.next().await {
            if let Err(e) = loader.push(&chunk?) {
                tracing::warn!(account = %record.account_id, feed = record.feed.as_str(), error = %e, "the feed's snapshot is unreadable; this upload goes whole");
                return Ok(Read::Unusable(e.to_string()));
            }
        }
        match loader.finish() {
            Ok(loaded) => Ok(Read::Loaded(loaded)),
            Err(e) => Ok(Read::Unusable(e.to_string())),
        }
    }

    /// The ids that imports of overlapping feeds sent since `since` (ms), as id hashes;
    /// `Err(reason)` when they cannot all be known (the upload then goes whole).
    async fn touched_by_other_feeds(
        &self,
        record: &ImportRecord,
        since: i64,
        cap: usize,
    ) -> Result<Result<HashSet<u128, IdKeyed>, String>, UploadError> {
        let feeds = overlapping(record.feed);
        let mut touched = IdHashes::new(cap);
        if feeds.is_empty() {
            return Ok(Ok(touched.hashes));
        }
        let imports = self
            .catalog
            .imports(&record.account_id, IMPORTS_SCANNED)
            .await?;
        let whole_log = imports.len() < IMPORTS_SCANNED;
        let threshold = since - CLOCK_MARGIN_MILLIS;
        for feed in feeds {
            // Uploads of one feed go one at a time in arrival order (newest first here):
            // past one that ended before the snapshot, every older one did too.
            let mut bounded = whole_log;
            for other in imports.iter().filter(|r| r.feed == *feed) {
                if matches!(
                    other.status,
                    ImportStatus::Rejected | ImportStatus::Superseded
                ) {
                    continue;
                }
                if other.status.is_terminal() && other.updated_at < threshold {
                    bounded = true;
                    break;
                }
                if other.stripe_mode() == ImportMode::Replace {
                    return Ok(Err(format!(
                        "a {feed} import replaced the catalog since the snapshot, deleting products it did not name"
                    )));
                }
                let Some(sent) = other.sent_object() else {
                    continue;
                };
                let chunks = match self.objects.read(sent).await {
                    Ok((_, chunks)) => chunks,
                    Err(BucketError::Permanent(why)) => {
                        return Ok(Err(format!(
                            "what a {feed} import sent since the snapshot cannot be read: {why}"
                        )));
                    }
                    Err(e) => return Err(e.into()),
                };
                self.feed_validator(*feed, chunks, &mut touched).await?;
                if touched.overflowed {
                    return Ok(Err(format!(
                        "{feed} imports since the snapshot touched more than {cap} rows"
                    )));
                }
            }
            if !bounded {
                return Ok(Err(format!(
                    "more than {IMPORTS_SCANNED} imports since the snapshot: the {feed} feed's changes cannot all be found"
                )));
            }
        }
        Ok(Ok(touched.hashes))
    }

    async fn put_tombstone(&self, record: &ImportRecord) -> Result<(), UploadError> {
        self.objects
            .put(
                &self.settings.bucket,
                &sent_snapshot_key(&record.account_id, record.feed),
                SnapshotLines::tombstone(record.feed, self.clock.now_millis()),
                SNAPSHOT_TYPE,
            )
            .await?;
        Ok(())
    }

    /// A terminal import: an accepted one's candidate becomes the feed's snapshot (the
    /// old entry kept for each row Stripe failed); one Stripe failed, or whose failed rows
    /// are not all known (past the bound, an unreadable error file), leaves a tombstone;
    /// one Stripe never got leaves the old one.
    pub(super) async fn settle_snapshot(
        &self,
        record: &ImportRecord,
        status: ImportStatus,
        failed: &FailedIds,
        failed_known: bool,
    ) -> Result<(), UploadError> {
        let Some(candidate) = record
            .incremental
            .as_ref()
            .and_then(|i| i.candidate.as_ref())
        else {
            return Ok(());
        };
        let accepted = matches!(
            status,
            ImportStatus::Succeeded | ImportStatus::SucceededWithErrors
        );
        if accepted && failed_known && !failed.overflowed() {
            match self.promote(record, candidate, failed).await {
                Ok(()) => return Ok(()),
                Err(UploadError::Permanent(why)) => {
                    tracing::warn!(account = %record.account_id, import_key = %record.import_key, error = %why, "the candidate snapshot cannot be promoted; the next upload goes whole");
                }
                Err(e) => return Err(e),
            }
        } else if !accepted && record.stripe_import_id.is_none() {
            return Ok(());
        }
        self.put_tombstone(record).await
    }

    async fn promote(
        &self,
        record: &ImportRecord,
        candidate: &ObjectRef,
        failed: &FailedIds,
    ) -> Result<(), UploadError> {
        let mut chunks = match self.objects.read(candidate).await {
            Ok((_, chunks)) => chunks,
            Err(BucketError::Permanent(why)) => return Err(UploadError::Permanent(why)),
            Err(e) => return Err(e.into()),
        };
        let mut writer = self
            .objects
            .writer(
                &self.settings.bucket,
                &sent_snapshot_key(&record.account_id, record.feed),
                SNAPSHOT_TYPE,
            )
            .await?;
        let mut promotion = Promotion::new(|id: &str| failed.contains(id));
        let unreadable =
            |e: crate::imports::snapshot::SnapshotError| UploadError::Permanent(e.to_string());
        while let Some(chunk) = chunks.next().await {
            let out = promotion.push(&chunk?).map_err(unreadable)?;
            writer.write(&out).await?;
        }
        // Only a whole candidate completes the object: a cut one leaves the old snapshot.
        let out = promotion.finish().map_err(unreadable)?;
        writer.write(&out).await?;
        writer.finish().await?;
        Ok(())
    }
}

struct Outputs<W> {
    delta: Option<W>,
    candidate: W,
}

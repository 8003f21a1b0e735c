//! An import Stripe has finished: its status, Stripe's error report copied next to every
//! source (re-fetching expired v2 URLs), the SKU records the checkout hooks read updated
//! from the rows Stripe accepted, and the feed's slot freed for the next upload.

use std::time::Duration;

use futures::{StreamExt, TryStreamExt};

use super::upload::Uploaded;
use super::{CatalogStore, NextPoll, UploadError, Uploader};
use crate::bucket::{BucketError, ByteChunks, ObjectRef, ObjectStore, ObjectWriter};
use crate::budget;
use crate::catalog::{Limits, Validator};
use crate::clock::Clock;
use crate::imports::cadence::poll_after;
use crate::imports::keys::{Feed, report_key};
use crate::imports::model::{FeedSlot, ImportMode, ImportRecord, ImportStatus};
use crate::imports::sku_rows::{FailedIds, MAX_FAILED_IDS, SkuRowSink};
use crate::merchants::{ApiGeneration, Merchant};
use crate::metrics::Unit;
use crate::store::{IdempotencyStore, MerchantDirectory};
use crate::stripe::catalog::{CatalogApi, ErrorReport, ImportState};

/// Time kept back from writing SKU records for what finishing an import does after them:
/// the replace sweep, the snapshot, the reports, the slot.
const AFTER_SKU_WRITES: Duration = Duration::from_secs(90);

fn out_of_time() -> bool {
    budget::remaining().is_some_and(|left| left < AFTER_SKU_WRITES)
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
    /// Polls the in-flight import; true when it ended (the slot is free again).
    pub(super) async fn poll(
        &self,
        slot: &FeedSlot,
        import_key: &str,
        merchant: &Merchant,
    ) -> Result<bool, UploadError> {
        let Some(record) = self.catalog.import(&slot.account_id, import_key).await? else {
            // The record write was lost after the slot was claimed: free the slot.
            tracing::error!(account = %slot.account_id, import_key, "in-flight import has no record; freeing the slot");
            self.release_slot(slot, import_key).await?;
            return Ok(true);
        };
        if record.status == ImportStatus::Uploading {
            let next = match self.upload(record, merchant).await? {
                Uploaded::Ended => {
                    self.release_slot(slot, import_key).await?;
                    return Ok(true);
                }
                Uploaded::Sent => NextPoll::Backoff,
                Uploaded::WritingSkus => NextPoll::Now,
            };
            self.defer_poll(slot, import_key, next).await?;
            return Ok(false);
        }
        if record.status.is_terminal() {
            self.release_slot(slot, import_key).await?;
            return Ok(true);
        }
        let Some(stripe_id) = record.stripe_import_id.clone() else {
            return Ok(false);
        };
        let state = match merchant.api_generation {
            ApiGeneration::V1 => self.stripe.poll_v1(&record.account_id, &stripe_id).await?,
            ApiGeneration::V2 => self.stripe.poll_v2(&record.account_id, &stripe_id).await?,
        };
        if !state.terminal {
            if record.stripe_status.as_deref() != Some(state.status.as_str()) {
                let mut record = record;
                record.stripe_status = Some(state.status.clone());
                record.updated_at = self.clock.now_millis();
                self.catalog.put_import(&record).await?;
            }
            self.defer_poll(slot, import_key, NextPoll::Backoff).await?;
            return Ok(false);
        }
        let status = match (
            state.succeeded,
            state.error_count.unwrap_or(0) > 0 || state.status == "succeeded_with_errors",
        ) {
            (true, false) => ImportStatus::Succeeded,
            (true, true) => ImportStatus::SucceededWithErrors,
            (false, _) => ImportStatus::Failed,
        };
        if !self.finish(record, status, Some(state)).await? {
            // Out of time writing SKU records: the next invocation goes on at once.
            self.defer_poll(slot, import_key, NextPoll::Now).await?;
            return Ok(false);
        }
        self.release_slot(slot, import_key).await?;
        Ok(true)
    }

    /// Records a terminal import: Stripe's error report copied to S3, `status.json` for
    /// every source, SKU records for the rows Stripe accepted. False when this invocation
    /// ran out of time writing SKU records: the record says how far it got, and the import
    /// is not recorded as finished until a later call has written the rest.
    pub(super) async fn finish(
        &self,
        mut record: ImportRecord,
        status: ImportStatus,
        state: Option<ImportState>,
    ) -> Result<bool, UploadError> {
        let mut failed_ids = FailedIds::default();
        // Whether the rows Stripe failed are all known: they are when it failed none, or
        // when its error file was read whole.
        let mut failed_known = status != ImportStatus::SucceededWithErrors;
        if let Some(state) = &state {
            record.stripe_status = Some(state.status.clone());
            record.counts.stripe_successes = state.success_count;
            record.counts.stripe_errors = state.error_count;
            if record.failure.is_none() {
                record.failure = state.failure.clone();
            }
            if let Some(report) = &state.error_report {
                let copied = self.copy_error_report(&record, report).await?;
                failed_ids = copied.1;
                failed_known = copied.2;
                record.report_keys.extend(copied.0);
            }
        }
        let accepted = matches!(
            status,
            ImportStatus::Succeeded | ImportStatus::SucceededWithErrors
        );
        if accepted && failed_ids.overflowed() {
            // Past the bound, accepted rows cannot be told from failed ones: the SKU
            // records keep their previous values rather than take a rejected row's.
            tracing::warn!(account = %record.account_id, import_key = %record.import_key, "Stripe failed more than {MAX_FAILED_IDS} rows: SKU records not updated from this import");
            record.failure.get_or_insert_with(|| {
                format!("Stripe failed more than {MAX_FAILED_IDS} rows; the checkout's SKU records were not updated from this import")
            });
        } else if accepted {
            // From the whole file, as a whole upload would: rows Stripe already had (left
            // out of an incremental upload) still reset the hooks' stock and price.
            if !self.update_sku_records(&mut record, &failed_ids).await? {
                return Ok(false);
            }
            if record.mode == ImportMode::Replace && record.feed == Feed::Product {
                self.retire_left_out_skus(&record).await?;
            }
        }
        // Before the import is stored as finished: a failure here is retried by the poll.
        self.settle_snapshot(&record, status, &failed_ids, failed_known)
            .await?;
        record.status = status;
        record.updated_at = self.clock.now_millis();
        self.save_and_report(&record).await?;
        tracing::info!(account = %record.account_id, import_key = %record.import_key, status = ?status, "catalog import finished");
        let status_name = serde_json::to_value(status)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        self.metrics
            .count("ImportsFinished", &[("Status", &status_name)]);
        Ok(true)
    }

    /// Copies Stripe's error CSV into every source's report folder and returns the ids of
    /// the failed rows (and whether the report could be read as the feed's CSV). v2
    /// download URLs expire after minutes: an expired one is refreshed by fetching the
    /// import again.
    async fn copy_error_report(
        &self,
        record: &ImportRecord,
        report: &ErrorReport,
    ) -> Result<(Vec<String>, FailedIds, bool), UploadError> {
        let mut report = report.clone();
        let mut response = None;
        for _ in 0..3 {
            let expired = matches!(&report, ErrorReport::Url { expires_at: Some(at), .. } if *at <= self.clock.now_seconds());
            if !expired {
                match self
                    .stripe
                    .download_report(&record.account_id, &report)
                    .await
                {
                    Ok(r) => {
                        response = Some(r);
                        break;
                    }
                    Err(e)
                        if matches!(e.status(), Some(403 | 404 | 410))
                            && matches!(report, ErrorReport::Url { .. }) => {}
                    Err(e) => return Err(e.into()),
                }
            }
            let Some(id) = &record.stripe_import_id else {
                break;
            };
            match self
                .stripe
                .poll_v2(&record.account_id, id)
                .await?
                .error_report
            {
                Some(fresh) => report = fresh,
                None => break,
            }
        }
        let Some(response) = response else {
            return Err(UploadError::Transient(
                "Stripe's error report could not be downloaded".into(),
            ));
        };
        let chunks: ByteChunks = Box::pin(
            response
                .bytes_stream()
                .map_err(|e| BucketError::Transient(format!("downloading the error report: {e}"))),
        );
        let first = &record.sources[0];
        let key = report_key(&record.account_id, &first.name, "stripe-errors.csv");
        let (ids, parsed) = self.stream_report(record.feed, chunks, &key).await?;
        let mut keys = vec![key.clone()];
        for source in record.sources.iter().skip(1) {
            // Streamed object to object: a large report is never held whole.
            let copy = report_key(&record.account_id, &source.name, "stripe-errors.csv");
            let (_, mut body) = self
                .objects
                .read(&ObjectRef {
                    bucket: self.settings.bucket.clone(),
                    key: key.clone(),
                    version_id: None,
                    etag: None,
                    size: 0,
                })
                .await?;
            let mut writer = self
                .objects
                .writer(&self.settings.bucket, &copy, "text/csv")
                .await?;
            while let Some(chunk) = body.try_next().await? {
                writer.write(&chunk).await?;
            }
            writer.finish().await?;
            keys.push(copy);
        }
        Ok((keys, ids, parsed))
    }

    /// Streams the error CSV to S3 while collecting the ids of its rows, read as the
    /// import's feed (its key column, its required columns: the report has the file's
    /// columns, docs/stripe.md §1.3.2); false when it could not be read whole.
    async fn stream_report(
        &self,
        feed: Feed,
        mut chunks: ByteChunks,
        key: &str,
    ) -> Result<(FailedIds, bool), UploadError> {
        use crate::imports::merge::IdCollector;
        let mut writer = self
            .objects
            .writer(&self.settings.bucket, key, "text/csv")
            .await?;
        let mut ids = IdCollector::default();
        let mut parser = Validator::new(feed, Limits::v2());
        let mut parse_ok = true;
        while let Some(chunk) = chunks.next().await {
            let chunk = chunk?;
            if parse_ok && parser.push(&chunk, &mut ids).is_err() {
                parse_ok = false;
            }
            writer.write(&chunk).await?;
        }
        if parse_ok {
            parse_ok = parser.finish(&mut ids).is_ok();
        }
        writer.finish().await?;
        Ok((ids.ids, parse_ok))
    }

    /// Writes the SKU records of the upload's accepted rows, going on after the rows an
    /// earlier invocation wrote. False when the invocation's time ran short first: the rows
    /// written so far are saved in the record (a catalog of millions of products takes
    /// more than one 15-minute invocation at a few thousand writes a second).
    async fn update_sku_records(
        &self,
        record: &mut ImportRecord,
        failed: &FailedIds,
    ) -> Result<bool, UploadError> {
        let (_, mut chunks) = self.objects.read(&record.upload).await?;
        let resume_after = record.sku_rows_applied.unwrap_or(0);
        let mut sink = SkuRowSink::new(
            &record.account_id,
            record.feed,
            &record.import_key,
            self.clock.now_millis(),
            failed,
        )
        .resuming_after(resume_after);
        let mut validator = Validator::new(record.feed, Limits::v2());
        while let Some(chunk) = chunks.next().await {
            validator
                .push(&chunk?, &mut sink)
                .map_err(|e| UploadError::Permanent(e.to_string()))?;
            self.flush_sku_records(&mut sink, 500).await?;
            // Only once past the earlier invocations' rows: each one writes some.
            if sink.rows_seen() > resume_after && out_of_time() {
                self.flush_sku_records(&mut sink, 0).await?;
                record.sku_rows_applied = Some(sink.rows_seen());
                record.updated_at = self.clock.now_millis();
                self.catalog.put_import(record).await?;
                tracing::info!(account = %record.account_id, import_key = %record.import_key, rows = sink.rows_seen(), "SKU records written up to here; the next invocation goes on");
                self.metrics.count("SkuWritesContinued", &[]);
                return Ok(false);
            }
        }
        validator
            .finish(&mut sink)
            .map_err(|e| UploadError::Permanent(e.to_string()))?;
        self.flush_sku_records(&mut sink, 0).await?;
        Ok(true)
    }

    /// A replace file is the whole catalog: Stripe deleted what it left out, so the
    /// checkout stops selling it. Only after the file's own rows are written, so none of
    /// them is taken for a left-out product; a retry does it again, harmlessly.
    async fn retire_left_out_skus(&self, record: &ImportRecord) -> Result<(), UploadError> {
        let retired = self
            .catalog
            .retire_skus_not_in(
                &record.account_id,
                &record.import_key,
                self.clock.now_millis(),
            )
            .await?;
        tracing::info!(account = %record.account_id, import_key = %record.import_key, deleted = retired.deleted, out_of_stock = retired.out_of_stock, "SKU records the replace file left out retired");
        self.metrics.put(
            "SkusRetired",
            Unit::Count,
            (retired.deleted + retired.out_of_stock) as f64,
            &[],
        );
        Ok(())
    }

    async fn flush_sku_records(
        &self,
        sink: &mut SkuRowSink<'_>,
        at_least: usize,
    ) -> Result<(), UploadError> {
        if sink.pending() < at_least.max(1) {
            return Ok(());
        }
        let changes = sink.take();
        self.catalog
            .apply_sku_changes(
                sink.account_id(),
                sink.source_import(),
                self.clock.now_millis(),
                &changes,
            )
            .await?;
        Ok(())
    }

    /// Sets when Stripe is next asked about the import still in flight (`poll_after`), and
    /// gives back the lease `slot` was taken with in the same write: the invocation does
    /// nothing more with the feed.
    pub(super) async fn defer_poll(
        &self,
        slot: &FeedSlot,
        import_key: &str,
        next: NextPoll,
    ) -> Result<(), UploadError> {
        let now = self.clock.now_millis();
        let uploaded_at = slot.last_upload_at.unwrap_or(now);
        let due = match next {
            NextPoll::Backoff => poll_after(uploaded_at, now),
            NextPoll::Now => now,
        };
        let owner = slot.lease.as_ref().map(|l| l.owner.as_str());
        let mut current = slot.clone();
        for _ in 0..20 {
            if current.in_flight.as_deref() != Some(import_key) {
                return Ok(());
            }
            current.poll_after = Some(due);
            if current.lease.as_ref().map(|l| l.owner.as_str()) == owner {
                current.lease = None;
            }
            if self.catalog.save_slot(&current).await? {
                return Ok(());
            }
            let Some(reread) = self.catalog.slot(&slot.account_id, slot.feed).await? else {
                return Ok(());
            };
            current = reread;
        }
        Err(UploadError::Transient("the slot kept changing".into()))
    }

    pub(super) async fn release_slot(
        &self,
        slot: &FeedSlot,
        import_key: &str,
    ) -> Result<(), UploadError> {
        for _ in 0..20 {
            let Some(mut current) = self.catalog.slot(&slot.account_id, slot.feed).await? else {
                return Ok(());
            };
            if current.in_flight.as_deref() != Some(import_key) {
                return Ok(());
            }
            current.in_flight = None;
            current.poll_after = None;
            if self.catalog.save_slot(&current).await? {
                return Ok(());
            }
        }
        Err(UploadError::Transient("the slot kept changing".into()))
    }
}

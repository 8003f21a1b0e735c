//! A new file in the bucket: decode its key, check the merchant, claim the object version,
//! validate it while streaming (rows with errors go to `validation.csv`), then queue it for
//! its feed's next upload, or reject it with a `status.json` that says why.

use futures::StreamExt;
use serde_json::json;

use super::{CatalogStore, FileOutcome, UploadError, Uploader};
use crate::bucket::{ObjectRef, ObjectStore, ObjectWriter};
use crate::catalog::{ErrorCsvWriter, Limits, RowSink, Validator};
use crate::clock::Clock;
use crate::imports::identity::object_identity;
use crate::imports::keys::{Feed, IncomingKey, decode_event_key, parse_incoming_key};
use crate::imports::model::{FeedSlot, QueuedFile};
use crate::merchants::{ApiGeneration, Merchant, ValidationMode};
use crate::store::{Claim, IdempotencyStore, MerchantDirectory};
use crate::stripe::catalog::CatalogApi;

fn limits(generation: ApiGeneration) -> Limits {
    match generation {
        ApiGeneration::V1 => Limits::v1(),
        ApiGeneration::V2 => Limits::v2(),
    }
}

/// The most bytes `validation.csv` keeps, whatever its row cap: a file of long bad rows
/// must not grow the report (or the memory behind it) without bound.
pub const MAX_VALIDATION_REPORT_BYTES: usize = 16 * 1024 * 1024;

/// Collects failed rows as an error CSV, up to a row cap and a byte cap; counts all of
/// them. Rows gather in a small buffer that the caller drains to S3 after every chunk, so
/// memory holds at most one chunk's worth of failed rows.
struct CappedErrorCsv {
    writer: ErrorCsvWriter<Vec<u8>>,
    kept: usize,
    cap: usize,
    /// Bytes of the report so far (drained or not).
    bytes: usize,
    dropped: u64,
}

impl CappedErrorCsv {
    /// The buffered part of the report, once a failed row has been written (a header
    /// alone is not a report).
    fn drain(&mut self) -> Option<Vec<u8>> {
        (self.writer.rows_written() > 0 && !self.writer.output().is_empty())
            .then(|| std::mem::take(self.writer.output_mut()))
    }
}

impl RowSink for CappedErrorCsv {
    type Error = String;

    fn header(&mut self, header: &crate::catalog::Header) -> Result<(), Self::Error> {
        self.writer.header(header).map_err(|e| e.to_string())?;
        self.bytes = self.writer.output().len();
        Ok(())
    }

    fn row(
        &mut self,
        record: &crate::catalog::Record<'_>,
        header: &crate::catalog::Header,
        errors: &[crate::catalog::RowError],
    ) -> Result<(), Self::Error> {
        if errors.is_empty() {
            return Ok(());
        }
        if self.kept >= self.cap || self.bytes >= MAX_VALIDATION_REPORT_BYTES {
            self.dropped += 1;
            return Ok(());
        }
        self.kept += 1;
        let before = self.writer.output().len();
        self.writer
            .row(record, header, errors)
            .map_err(|e| e.to_string())?;
        self.bytes += self.writer.output().len().saturating_sub(before);
        Ok(())
    }
}

struct Validated {
    fatal: Option<String>,
    rows: u64,
    rows_with_errors: u64,
    dropped: u64,
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
    /// Handles one S3 `ObjectCreated` record. `raw_key` is as the event carries it
    /// (URL-encoded).
    pub async fn on_object_created(
        &self,
        bucket: &str,
        raw_key: &str,
        version_id: Option<String>,
        etag: Option<String>,
        size: u64,
    ) -> Result<FileOutcome, UploadError> {
        let key = match decode_event_key(raw_key) {
            Ok(key) => key,
            Err(e) => {
                return Ok(FileOutcome::Ignored {
                    reason: e.to_string(),
                });
            }
        };
        let object = ObjectRef {
            bucket: bucket.to_string(),
            key: key.clone(),
            version_id,
            etag,
            size,
        };
        let incoming = match parse_incoming_key(&key) {
            Ok(incoming) => incoming,
            Err(e) => {
                tracing::warn!(key = %key, error = %e, "object outside the incoming layout; not uploaded");
                return Ok(FileOutcome::Ignored {
                    reason: e.to_string(),
                });
            }
        };
        let merchant = match self.merchants.merchant(&incoming.account_id).await? {
            Some(m) if m.enabled => m,
            Some(_) => {
                return self
                    .reject(
                        &incoming,
                        &object,
                        "the merchant is disabled: nothing is uploaded for it",
                        None,
                    )
                    .await;
            }
            None => {
                return self
                    .reject(
                        &incoming,
                        &object,
                        "unknown account: no merchant is registered under this prefix",
                        None,
                    )
                    .await;
            }
        };
        if merchant.api_generation == ApiGeneration::V1 && incoming.feed.v1_format().is_none() {
            let reason = format!(
                "the {} feed needs the v2 API; this merchant uses v1",
                incoming.feed.as_str()
            );
            return self.reject(&incoming, &object, &reason, None).await;
        }

        let claim_key = object_identity(&object);
        match self
            .idempotency
            .claim(&claim_key, None, self.clock.now_millis())
            .await?
        {
            Claim::Acquired => {}
            Claim::Completed(_) => return Ok(FileOutcome::Duplicate),
            Claim::InProgress | Claim::PayloadMismatch => {
                return Err(UploadError::Transient(format!(
                    "{key} is being processed by another invocation"
                )));
            }
        }
        let result = self.accept(&merchant, &incoming, &object).await;
        match &result {
            Ok(outcome) => {
                let text = serde_json::to_string(outcome).unwrap_or_default();
                self.idempotency
                    .complete(&claim_key, &text, self.clock.now_millis())
                    .await?;
            }
            Err(_) => {
                let _ = self.idempotency.release(&claim_key).await;
            }
        }
        result
    }

    async fn accept(
        &self,
        merchant: &Merchant,
        incoming: &IncomingKey,
        object: &ObjectRef,
    ) -> Result<FileOutcome, UploadError> {
        let validated = self
            .validate(object, incoming, limits(merchant.api_generation))
            .await?;
        if let Some(fatal) = &validated.fatal {
            return self.reject(incoming, object, fatal, Some(&validated)).await;
        }
        if validated.rows_with_errors > 0 && merchant.validation == ValidationMode::Strict {
            let reason = format!(
                "{} row(s) have errors and this merchant's validation is strict: see validation.csv",
                validated.rows_with_errors
            );
            return self
                .reject(incoming, object, &reason, Some(&validated))
                .await;
        }
        let queued = QueuedFile {
            object: object.clone(),
            name: incoming.name.clone(),
            format: incoming.format,
            replace: incoming.replace,
            arrived_at: self.clock.now_millis(),
            rows: validated.rows,
            rows_with_errors: validated.rows_with_errors,
            rows_left_out_of_report: validated.dropped,
        };
        if !self
            .enqueue(&incoming.account_id, incoming.feed, queued)
            .await?
        {
            // Its event came again after the file had gone out: nothing more to do.
            return Ok(FileOutcome::Duplicate);
        }
        self.write_status(&incoming.account_id, &incoming.name, json!({
            "status": "queued",
            "feed": incoming.feed.as_str(),
            "source": object.key,
            "rows": validated.rows,
            "rows_with_errors": validated.rows_with_errors,
            "rows_left_out_of_validation_csv": validated.dropped,
            "validation_report": (validated.rows_with_errors > 0).then(|| incoming.report_key("validation.csv")),
        }))
        .await?;
        // Upload at once when the slot is free (through the uploader's queue when there is
        // one); otherwise the schedule will. The file is safely queued: a failure here is
        // the schedule's to retry, not this event's (a retried event would only find the
        // file queued or sent).
        if let Err(e) = self
            .start_now(&incoming.account_id, incoming.feed, merchant)
            .await
        {
            tracing::warn!(account = %incoming.account_id, key = %object.key, error = %e, "queued; the upload did not start now and the schedule will retry it");
        }
        Ok(FileOutcome::Queued {
            account_id: incoming.account_id.clone(),
            feed: incoming.feed,
            rows: validated.rows,
            rows_with_errors: validated.rows_with_errors,
        })
    }

    /// Moves a feed that just got a file: sends it to the queue's consumers when there is
    /// a queue (the tick's claim-and-send, unless a message for it already waits), else
    /// drives it here.
    async fn start_now(
        &self,
        account_id: &str,
        feed: Feed,
        merchant: &Merchant,
    ) -> Result<(), UploadError> {
        if !self.dispatch.is_queued() {
            return self.drive(account_id, feed, merchant).await;
        }
        let slot = crate::imports::ActiveSlot {
            account_id: account_id.to_string(),
            feed,
            dispatched_at: None,
            poll_after: None,
        };
        match self.dispatch_feeds(&[slot]).await {
            (_, 0) => Ok(()),
            _ => Err(UploadError::Transient(
                "the feed could not be put on the queue".into(),
            )),
        }
    }

    /// Validates the file as it streams; failed rows stream to `validation.csv` (created
    /// only when there is one).
    async fn validate(
        &self,
        object: &ObjectRef,
        incoming: &IncomingKey,
        limits: Limits,
    ) -> Result<Validated, UploadError> {
        let (_, mut chunks) = self.objects.read(object).await?;
        let mut validator = Validator::new(incoming.feed, limits);
        let mut sink = CappedErrorCsv {
            writer: ErrorCsvWriter::new(Vec::new()),
            kept: 0,
            cap: self.settings.max_report_rows,
            bytes: 0,
            dropped: 0,
        };
        let mut report: Option<O::Writer> = None;
        let mut fatal = None;
        let mut summary = None;
        loop {
            let Some(chunk) = chunks.next().await else {
                match validator.finish(&mut sink) {
                    Ok(s) => summary = Some(s),
                    Err(e) => fatal = Some(e.to_string()),
                }
                self.drain_report(&mut sink, &mut report, incoming).await?;
                break;
            };
            let pushed = validator.push(&chunk?, &mut sink);
            self.drain_report(&mut sink, &mut report, incoming).await?;
            if let Err(e) = pushed {
                fatal = Some(e.to_string());
                break;
            }
        }
        if let Some(writer) = report {
            writer.finish().await?;
        }
        Ok(Validated {
            fatal,
            rows: summary.map_or(0, |s| s.rows),
            rows_with_errors: summary.map_or(0, |s| s.rows_with_errors),
            dropped: sink.dropped,
        })
    }

    /// Sends what the sink buffered to `validation.csv`, opening it on first use.
    async fn drain_report(
        &self,
        sink: &mut CappedErrorCsv,
        report: &mut Option<O::Writer>,
        incoming: &IncomingKey,
    ) -> Result<(), UploadError> {
        let Some(bytes) = sink.drain() else {
            return Ok(());
        };
        if report.is_none() {
            let key = incoming.report_key("validation.csv");
            *report = Some(
                self.objects
                    .writer(&self.settings.bucket, &key, incoming.format.content_type())
                    .await?,
            );
        }
        if let Some(writer) = report.as_mut() {
            writer.write(&bytes).await?;
        }
        Ok(())
    }

    async fn reject(
        &self,
        incoming: &IncomingKey,
        object: &ObjectRef,
        reason: &str,
        validated: Option<&Validated>,
    ) -> Result<FileOutcome, UploadError> {
        tracing::warn!(account = %incoming.account_id, key = %object.key, reason, "file rejected; nothing uploaded");
        self.write_status(&incoming.account_id, &incoming.name, json!({
            "status": "rejected",
            "reason": reason,
            "feed": incoming.feed.as_str(),
            "source": object.key,
            "rows": validated.map(|v| v.rows),
            "rows_with_errors": validated.map(|v| v.rows_with_errors),
            "rows_left_out_of_validation_csv": validated.map(|v| v.dropped),
            "validation_report": validated.filter(|v| v.rows_with_errors > 0).map(|_| incoming.report_key("validation.csv")),
        }))
        .await?;
        Ok(FileOutcome::Rejected {
            reason: reason.to_string(),
        })
    }

    /// Appends to the feed's queue (optimistic write, retried on conflict). False when the
    /// file already went out (its identity is in the slot's `sent`).
    async fn enqueue(
        &self,
        account_id: &str,
        feed: Feed,
        file: QueuedFile,
    ) -> Result<bool, UploadError> {
        let identity = object_identity(&file.object);
        for _ in 0..20 {
            let mut slot = self
                .catalog
                .slot(account_id, feed)
                .await?
                .unwrap_or_else(|| FeedSlot::new(account_id, feed));
            if slot.sent.contains(&identity) {
                return Ok(false);
            }
            if slot.queue.iter().any(|f| f.object == file.object) {
                return Ok(true);
            }
            slot.queue.push(file.clone());
            if self.catalog.save_slot(&slot).await? {
                return Ok(true);
            }
        }
        Err(UploadError::Transient(format!(
            "the {} slot of {account_id} kept changing",
            feed.as_str()
        )))
    }
}

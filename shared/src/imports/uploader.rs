//! The catalog uploader: S3 drops in, Stripe imports out, reports back in S3.
//!
//! `on_object_created` validates a new file (streaming) and queues it; `drive` moves one
//! account's feed forward: upload what is due (merging queued files), poll what is in
//! flight, and when Stripe is done copy its error report, write `status.json`, and update
//! the SKU snapshots the checkout hooks read. The schedule calls `drive` for every active
//! feed. Every step is safe to repeat: slot changes are optimistic-versioned writes, Stripe
//! calls carry idempotency keys derived from the source objects.

use std::collections::HashSet;

use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::cadence::{NextStep, next_step};
use super::keys::{
    Feed, FileFormat, IncomingKey, decode_event_key, parse_incoming_key, report_key,
};
use super::model::{FeedSlot, ImportCounts, ImportRecord, ImportStatus, QueuedFile};
use super::snapshot::SnapshotSink;
use crate::bucket::{BucketError, ByteChunks, ObjectRef, ObjectStore, ObjectWriter};
use crate::catalog::{ErrorCsvWriter, Limits, RowSink, Validator};
use crate::clock::Clock;
use crate::merchants::{ApiGeneration, Merchant, ValidationMode};
use crate::store::{
    Claim, FeedSlots, IdempotencyStore, ImportLog, MerchantDirectory, SkuSnapshots, StoreError,
};
use crate::stripe::StripeError;
use crate::stripe::catalog::{CatalogApi, ErrorReport, ImportState, Upload};

#[derive(Debug, Clone)]
pub struct UploaderSettings {
    pub bucket: String,
    /// At most one upload per account and feed per interval (default 15 minutes).
    pub interval_millis: i64,
    /// Feeds driven at once by the schedule; each makes a few Stripe calls, so this keeps
    /// the uploader well under the Files API's 20 requests per second.
    pub concurrency: usize,
    /// Rows kept in `validation.csv`; the count of all of them goes to `status.json`.
    pub max_report_rows: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    /// Worth retrying (the Lambda's asynchronous retries, or the next tick).
    #[error("transient: {0}")]
    Transient(String),
    /// Retrying cannot help; reported, not retried.
    #[error("{0}")]
    Permanent(String),
}

impl UploadError {
    pub fn is_retryable(&self) -> bool {
        matches!(self, UploadError::Transient(_))
    }
}

impl From<StoreError> for UploadError {
    fn from(e: StoreError) -> Self {
        UploadError::Transient(e.to_string())
    }
}

/// Like the stores: a bucket that refuses now is retried by the Lambda and the next tick,
/// since most refusals (a missing grant, a bucket policy) are fixed by an operator.
impl From<BucketError> for UploadError {
    fn from(e: BucketError) -> Self {
        UploadError::Transient(e.to_string())
    }
}

impl From<StripeError> for UploadError {
    fn from(e: StripeError) -> Self {
        if e.is_transient() {
            UploadError::Transient(e.to_string())
        } else {
            UploadError::Permanent(e.to_string())
        }
    }
}

/// What happened to one S3 object.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum FileOutcome {
    Queued {
        account_id: String,
        feed: Feed,
        rows: u64,
        rows_with_errors: u64,
    },
    Rejected {
        reason: String,
    },
    Duplicate,
    Ignored {
        reason: String,
    },
}

pub struct Uploader<M, C, I, O, A, K> {
    pub merchants: M,
    pub catalog: C,
    pub idempotency: I,
    pub objects: O,
    pub stripe: A,
    pub clock: K,
    pub settings: UploaderSettings,
}

fn limits(generation: ApiGeneration) -> Limits {
    match generation {
        ApiGeneration::V1 => Limits::v1(),
        ApiGeneration::V2 => Limits::v2(),
    }
}

fn digest(parts: &[&str]) -> String {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update((part.len() as u64).to_be_bytes());
        hasher.update(part.as_bytes());
    }
    hex::encode(&hasher.finalize()[..10])
}

/// One identity per object version: S3 may deliver an event twice, and an overwrite of the
/// same key is a new version (or a new ETag where versioning is off).
fn object_identity(object: &ObjectRef) -> String {
    let version = object
        .version_id
        .clone()
        .or_else(|| object.etag.clone())
        .unwrap_or_default();
    format!("s3:{}", digest(&[&object.bucket, &object.key, &version]))
}

/// The import key of an upload: first arrival time (so keys sort by age) and a digest of
/// the sources, so a repeated attempt at the same upload finds the same record and sends
/// the same idempotency keys to Stripe.
fn import_key_for(files: &[QueuedFile]) -> String {
    let identities: Vec<String> = files.iter().map(|f| object_identity(&f.object)).collect();
    let refs: Vec<&str> = identities.iter().map(String::as_str).collect();
    let first = files.iter().map(|f| f.arrived_at).min().unwrap_or(0);
    format!("{first:013}-{}", digest(&refs))
}

/// Collects failed rows as an error CSV, up to a cap; counts all of them.
struct CappedErrorCsv {
    writer: ErrorCsvWriter<Vec<u8>>,
    kept: usize,
    cap: usize,
    dropped: u64,
}

impl RowSink for CappedErrorCsv {
    type Error = String;

    fn header(&mut self, header: &crate::catalog::Header) -> Result<(), Self::Error> {
        self.writer.header(header).map_err(|e| e.to_string())
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
        if self.kept >= self.cap {
            self.dropped += 1;
            return Ok(());
        }
        self.kept += 1;
        self.writer
            .row(record, header, errors)
            .map_err(|e| e.to_string())
    }
}

struct Validated {
    fatal: Option<String>,
    rows: u64,
    rows_with_errors: u64,
    error_csv: Vec<u8>,
    dropped: u64,
}

impl<M, C, I, O, A, K> Uploader<M, C, I, O, A, K>
where
    M: MerchantDirectory,
    C: FeedSlots + ImportLog + SkuSnapshots,
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
            .validate(object, incoming.feed, limits(merchant.api_generation))
            .await?;
        if !validated.error_csv.is_empty() && validated.rows_with_errors > 0 {
            let key = incoming.report_key("validation.csv");
            self.objects
                .put(
                    &self.settings.bucket,
                    &key,
                    validated.error_csv.clone(),
                    incoming.format.content_type(),
                )
                .await?;
        }
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
        };
        self.enqueue(&incoming.account_id, incoming.feed, queued)
            .await?;
        self.write_status(&incoming.account_id, &incoming.name, json!({
            "status": "queued",
            "feed": incoming.feed.as_str(),
            "source": object.key,
            "rows": validated.rows,
            "rows_with_errors": validated.rows_with_errors,
            "validation_report": (validated.rows_with_errors > 0).then(|| incoming.report_key("validation.csv")),
        }))
        .await?;
        // Upload at once when the slot is free; otherwise the schedule will.
        self.drive(&incoming.account_id, incoming.feed, merchant)
            .await?;
        Ok(FileOutcome::Queued {
            account_id: incoming.account_id.clone(),
            feed: incoming.feed,
            rows: validated.rows,
            rows_with_errors: validated.rows_with_errors,
        })
    }

    async fn validate(
        &self,
        object: &ObjectRef,
        feed: Feed,
        limits: Limits,
    ) -> Result<Validated, UploadError> {
        let (_, mut chunks) = self.objects.read(object).await?;
        let mut validator = Validator::new(feed, limits);
        let mut sink = CappedErrorCsv {
            writer: ErrorCsvWriter::new(Vec::new()),
            kept: 0,
            cap: self.settings.max_report_rows,
            dropped: 0,
        };
        let mut fatal = None;
        while let Some(chunk) = chunks.next().await {
            let chunk = chunk?;
            if let Err(e) = validator.push(&chunk, &mut sink) {
                fatal = Some(e.to_string());
                break;
            }
        }
        let summary = match fatal {
            Some(_) => None,
            None => match validator.finish(&mut sink) {
                Ok(summary) => Some(summary),
                Err(e) => {
                    fatal = Some(e.to_string());
                    None
                }
            },
        };
        let dropped = sink.dropped;
        let error_csv = sink.writer.into_inner();
        Ok(Validated {
            fatal,
            rows: summary.map_or(0, |s| s.rows),
            rows_with_errors: summary.map_or(0, |s| s.rows_with_errors),
            error_csv,
            dropped,
        })
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

    async fn write_status(
        &self,
        account_id: &str,
        source_name: &str,
        mut status: Value,
    ) -> Result<(), UploadError> {
        if let Some(map) = status.as_object_mut() {
            map.insert("account_id".into(), json!(account_id));
            map.insert("source_name".into(), json!(source_name));
            map.insert("updated_at".into(), json!(self.clock.now_millis()));
        }
        let body = serde_json::to_vec_pretty(&status)
            .map_err(|e| UploadError::Permanent(e.to_string()))?;
        self.objects
            .put(
                &self.settings.bucket,
                &report_key(account_id, source_name, "status.json"),
                body,
                "application/json",
            )
            .await?;
        Ok(())
    }

    /// Appends to the feed's queue (optimistic write, retried on conflict).
    async fn enqueue(
        &self,
        account_id: &str,
        feed: Feed,
        file: QueuedFile,
    ) -> Result<(), UploadError> {
        for _ in 0..20 {
            let mut slot = self
                .catalog
                .slot(account_id, feed)
                .await?
                .unwrap_or_else(|| FeedSlot::new(account_id, feed));
            if slot.queue.iter().any(|f| f.object == file.object) {
                return Ok(());
            }
            slot.queue.push(file.clone());
            if self.catalog.save_slot(&slot).await? {
                return Ok(());
            }
        }
        Err(UploadError::Transient(format!(
            "the {} slot of {account_id} kept changing",
            feed.as_str()
        )))
    }

    /// Moves one feed forward as far as it can go now.
    pub async fn drive(
        &self,
        account_id: &str,
        feed: Feed,
        merchant: &Merchant,
    ) -> Result<(), UploadError> {
        // Each pass makes progress (a poll that ends an import, an upload); a few are enough.
        for _ in 0..4 {
            let Some(slot) = self.catalog.slot(account_id, feed).await? else {
                return Ok(());
            };
            let replace_supported =
                merchant.api_generation == ApiGeneration::V2 && feed == Feed::Product;
            match next_step(
                &slot,
                self.clock.now_millis(),
                self.settings.interval_millis,
                replace_supported,
            ) {
                NextStep::Nothing | NextStep::WaitUntil(_) => return Ok(()),
                NextStep::Poll(import_key) => {
                    if !self.poll(&slot, &import_key, merchant).await? {
                        return Ok(());
                    }
                }
                NextStep::Upload {
                    files,
                    superseded,
                    replace,
                } => {
                    let import_key = import_key_for(&files);
                    let mut claimed = slot.clone();
                    claimed
                        .queue
                        .retain(|q| !files.contains(q) && !superseded.contains(q));
                    claimed.in_flight = Some(import_key.clone());
                    claimed.last_upload_at = Some(self.clock.now_millis());
                    if !self.catalog.save_slot(&claimed).await? {
                        continue; // someone else moved the slot: look again
                    }
                    for file in &superseded {
                        self.write_status(account_id, &file.name, json!({
                            "status": "superseded", "feed": feed.as_str(), "source": file.object.key,
                            "reason": "a later replace file in the same slot made this file moot",
                        }))
                        .await?;
                    }
                    let record = ImportRecord {
                        account_id: account_id.to_string(),
                        import_key: import_key.clone(),
                        feed,
                        generation: merchant.api_generation,
                        mode: if replace { "replace" } else { "upsert" }.into(),
                        upload: files[0].object.clone(),
                        counts: ImportCounts {
                            rows: files.iter().map(|f| f.rows).sum(),
                            rows_with_errors: files.iter().map(|f| f.rows_with_errors).sum(),
                            ..Default::default()
                        },
                        sources: files,
                        status: ImportStatus::Uploading,
                        stripe_status: None,
                        stripe_file_id: None,
                        stripe_import_id: None,
                        failure: None,
                        report_keys: Vec::new(),
                        created_at: self.clock.now_millis(),
                        updated_at: self.clock.now_millis(),
                    };
                    self.catalog.put_import(&record).await?;
                    self.upload(record).await?;
                }
            }
        }
        Ok(())
    }

    /// Sends an `Uploading` import to Stripe. Repeating it is safe: the merged file has a
    /// fixed key and every Stripe call an idempotency key derived from the import key.
    async fn upload(&self, mut record: ImportRecord) -> Result<(), UploadError> {
        if record.sources.len() > 1 {
            record.upload = self.merge(&record).await?;
            self.catalog.put_import(&record).await?;
        }
        let format = record.sources.last().map_or(FileFormat::Csv, |f| f.format);
        let filename = record
            .upload
            .key
            .rsplit('/')
            .next()
            .unwrap_or("catalog.csv")
            .to_string();
        let trigger = format!("{}:{}", record.account_id, record.import_key);
        let result = match record.generation {
            ApiGeneration::V1 => {
                let upload = self
                    .stream_upload(&record.upload, &filename, format)
                    .await?;
                self.stripe
                    .start_v1(&record.account_id, record.feed, upload, &trigger)
                    .await
                    .map(|(file_id, state)| (Some(file_id), state))
            }
            ApiGeneration::V2 => {
                let object = record.upload.clone();
                let filename = filename.clone();
                self.stripe
                    .start_v2(
                        &record.account_id,
                        record.feed,
                        record.mode == "replace",
                        &trigger,
                        || async move {
                            self.stream_upload(&object, &filename, format)
                                .await
                                .map_err(|e| StripeError::Network(e.to_string()))
                        },
                    )
                    .await
                    .map(|state| (None, state))
            }
        };
        match result {
            Ok((file_id, state)) => {
                record.stripe_file_id = file_id.or(record.stripe_file_id);
                record.stripe_import_id = Some(state.id.clone());
                record.stripe_status = Some(state.status.clone());
                record.status = ImportStatus::Processing;
                record.updated_at = self.clock.now_millis();
                self.catalog.put_import(&record).await?;
                for source in &record.sources {
                    self.write_status(
                        &record.account_id,
                        &source.name,
                        self.status_document(&record, source),
                    )
                    .await?;
                }
                tracing::info!(account = %record.account_id, import_key = %record.import_key, stripe_import = %state.id, "catalog uploaded to Stripe");
                Ok(())
            }
            Err(e) if e.is_transient() => {
                // The import stays Uploading and in flight: the next drive tries again.
                tracing::warn!(account = %record.account_id, import_key = %record.import_key, error = %e, "upload failed; will retry");
                Err(UploadError::Transient(e.to_string()))
            }
            Err(e) => {
                record.failure = Some(e.to_string());
                self.finish(record, ImportStatus::Failed, None).await?;
                Ok(())
            }
        }
    }

    async fn stream_upload(
        &self,
        object: &ObjectRef,
        filename: &str,
        format: FileFormat,
    ) -> Result<Upload, UploadError> {
        let (length, chunks) = self.objects.read(object).await?;
        Ok(Upload {
            filename: filename.to_string(),
            content_type: format.content_type(),
            length,
            body: reqwest::Body::wrap_stream(chunks),
        })
    }

    /// Merges queued files into one upload (written to S3 in parts, never held whole):
    /// rows in arrival order, the last row per id winning. Pass one finds each id's last
    /// occurrence; pass two writes those rows.
    async fn merge(&self, record: &ImportRecord) -> Result<ObjectRef, UploadError> {
        use super::merge::{LastOccurrences, MergeWriter};
        let mut last = LastOccurrences::default();
        for (index, file) in record.sources.iter().enumerate() {
            let (_, chunks) = self.objects.read(&file.object).await?;
            self.feed_validator(record.feed, chunks, &mut last.for_file(index))
                .await?;
        }
        let key = format!(
            "work/{}/{}/{}.{}",
            record.account_id,
            record.feed.folder(),
            record.import_key,
            if record.sources.last().map(|f| f.format) == Some(FileFormat::Tsv) {
                "tsv"
            } else {
                "csv"
            }
        );
        let mut writer = self
            .objects
            .writer(&self.settings.bucket, &key, "text/csv")
            .await?;
        let mut merge = MergeWriter::new(
            &last,
            record.sources.last().map_or(FileFormat::Csv, |f| f.format),
        );
        for (index, file) in record.sources.iter().enumerate() {
            let (_, mut chunks) = self.objects.read(&file.object).await?;
            let mut validator = Validator::new(record.feed, Limits::v2());
            let mut sink = merge.for_file(index);
            while let Some(chunk) = chunks.next().await {
                validator
                    .push(&chunk?, &mut sink)
                    .map_err(|e| UploadError::Permanent(e.to_string()))?;
                let out = sink.take_output();
                if !out.is_empty() {
                    if let Err(e) = writer.write(&out).await {
                        return Err(e.into());
                    }
                }
            }
            validator
                .finish(&mut sink)
                .map_err(|e| UploadError::Permanent(e.to_string()))?;
            let out = sink.take_output();
            writer.write(&out).await?;
        }
        let size = writer.finish().await?;
        Ok(ObjectRef {
            bucket: self.settings.bucket.clone(),
            key,
            version_id: None,
            etag: None,
            size,
        })
    }

    async fn feed_validator<S: RowSink>(
        &self,
        feed: Feed,
        mut chunks: ByteChunks,
        sink: &mut S,
    ) -> Result<(), UploadError> {
        let mut validator = Validator::new(feed, Limits::v2());
        while let Some(chunk) = chunks.next().await {
            validator
                .push(&chunk?, &mut *sink)
                .map_err(|e| UploadError::Permanent(e.to_string()))?;
        }
        validator
            .finish(sink)
            .map_err(|e| UploadError::Permanent(e.to_string()))?;
        Ok(())
    }

    /// Polls the in-flight import; true when it ended (the slot is free again).
    async fn poll(
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
            self.upload(record).await?;
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
        self.finish(record, status, Some(state)).await?;
        self.release_slot(slot, import_key).await?;
        Ok(true)
    }

    /// Records a terminal import: Stripe's error report copied to S3, `status.json` for
    /// every source, SKU snapshots for the rows Stripe accepted.
    async fn finish(
        &self,
        mut record: ImportRecord,
        status: ImportStatus,
        state: Option<ImportState>,
    ) -> Result<(), UploadError> {
        let mut failed_ids = HashSet::new();
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
                record.report_keys.extend(copied.0);
            }
        }
        if matches!(
            status,
            ImportStatus::Succeeded | ImportStatus::SucceededWithErrors
        ) {
            self.update_snapshots(&record, &failed_ids).await?;
        }
        record.status = status;
        record.updated_at = self.clock.now_millis();
        self.catalog.put_import(&record).await?;
        for source in &record.sources {
            self.write_status(
                &record.account_id,
                &source.name,
                self.status_document(&record, source),
            )
            .await?;
        }
        tracing::info!(account = %record.account_id, import_key = %record.import_key, status = ?status, "catalog import finished");
        Ok(())
    }

    fn status_document(&self, record: &ImportRecord, source: &QueuedFile) -> Value {
        json!({
            "status": record.status,
            "feed": record.feed.as_str(),
            "source": source.object.key,
            "api_generation": record.generation,
            "mode": record.mode,
            "import_key": record.import_key,
            "stripe_import_id": record.stripe_import_id,
            "stripe_status": record.stripe_status,
            "merged_with": record.sources.iter().filter(|s| s.name != source.name).map(|s| &s.name).collect::<Vec<_>>(),
            "rows": source.rows,
            "rows_with_errors": source.rows_with_errors,
            "stripe_successes": record.counts.stripe_successes,
            "stripe_errors": record.counts.stripe_errors,
            "failure": record.failure,
            "reports": record.report_keys,
        })
    }

    /// Copies Stripe's error CSV into every source's report folder and returns the ids of
    /// the failed rows. v2 download URLs expire after minutes: an expired one is refreshed
    /// by fetching the import again.
    async fn copy_error_report(
        &self,
        record: &ImportRecord,
        report: &ErrorReport,
    ) -> Result<(Vec<String>, HashSet<String>), UploadError> {
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
        let ids = self.stream_report(chunks, &key).await?;
        let mut keys = vec![key.clone()];
        for source in record.sources.iter().skip(1) {
            let copy = report_key(&record.account_id, &source.name, "stripe-errors.csv");
            let (_, body) = self
                .objects
                .read(&ObjectRef {
                    bucket: self.settings.bucket.clone(),
                    key: key.clone(),
                    version_id: None,
                    etag: None,
                    size: 0,
                })
                .await?;
            let body: Vec<Bytes> = body.try_collect().await?;
            self.objects
                .put(&self.settings.bucket, &copy, body.concat(), "text/csv")
                .await?;
            keys.push(copy);
        }
        Ok((keys, ids))
    }

    /// Streams the error CSV to S3 while collecting the ids of its rows.
    async fn stream_report(
        &self,
        mut chunks: ByteChunks,
        key: &str,
    ) -> Result<HashSet<String>, UploadError> {
        use super::merge::IdCollector;
        let mut writer = self
            .objects
            .writer(&self.settings.bucket, key, "text/csv")
            .await?;
        let mut ids = IdCollector::default();
        let mut parser = Validator::new(Feed::Product, Limits::v2());
        let mut parse_ok = true;
        while let Some(chunk) = chunks.next().await {
            let chunk = chunk?;
            if parse_ok && parser.push(&chunk, &mut ids).is_err() {
                parse_ok = false;
            }
            writer.write(&chunk).await?;
        }
        if parse_ok {
            let _ = parser.finish(&mut ids);
        }
        writer.finish().await?;
        Ok(ids.ids)
    }

    async fn update_snapshots(
        &self,
        record: &ImportRecord,
        failed: &HashSet<String>,
    ) -> Result<(), UploadError> {
        let (_, mut chunks) = self.objects.read(&record.upload).await?;
        let mut sink = SnapshotSink::new(
            &record.account_id,
            record.feed,
            &record.import_key,
            self.clock.now_millis(),
            failed,
        );
        let mut validator = Validator::new(record.feed, Limits::v2());
        while let Some(chunk) = chunks.next().await {
            validator
                .push(&chunk?, &mut sink)
                .map_err(|e| UploadError::Permanent(e.to_string()))?;
            self.flush_snapshots(&mut sink, 500).await?;
        }
        validator
            .finish(&mut sink)
            .map_err(|e| UploadError::Permanent(e.to_string()))?;
        self.flush_snapshots(&mut sink, 0).await
    }

    async fn flush_snapshots(
        &self,
        sink: &mut SnapshotSink<'_>,
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

    async fn release_slot(&self, slot: &FeedSlot, import_key: &str) -> Result<(), UploadError> {
        for _ in 0..20 {
            let Some(mut current) = self.catalog.slot(&slot.account_id, slot.feed).await? else {
                return Ok(());
            };
            if current.in_flight.as_deref() != Some(import_key) {
                return Ok(());
            }
            current.in_flight = None;
            if self.catalog.save_slot(&current).await? {
                return Ok(());
            }
        }
        Err(UploadError::Transient("the slot kept changing".into()))
    }

    /// A thin event said a v2 import changed: move its feed forward now instead of at the
    /// next tick. Returns the import's status after that, or None when the import is not
    /// one of ours.
    pub async fn on_import_event(
        &self,
        account_id: &str,
        stripe_import_id: &str,
    ) -> Result<Option<ImportStatus>, UploadError> {
        let Some(merchant) = self.merchants.merchant(account_id).await? else {
            return Ok(None);
        };
        let recent = self.catalog.imports(account_id, 100).await?;
        let Some(record) = recent
            .into_iter()
            .find(|r| r.stripe_import_id.as_deref() == Some(stripe_import_id))
        else {
            return Ok(None);
        };
        self.drive(account_id, record.feed, &merchant).await?;
        Ok(self
            .catalog
            .import(account_id, &record.import_key)
            .await?
            .map(|r| r.status))
    }

    /// The schedule's tick: drives every feed with work, a few at a time.
    pub async fn on_schedule(&self) -> Result<TickSummary, UploadError> {
        let slots = self.catalog.active_slots().await?;
        let results: Vec<Result<(), UploadError>> = futures::stream::iter(slots.iter().cloned())
            .map(|(account, feed)| async move {
                let Some(merchant) = self.merchants.merchant(&account).await? else {
                    return Ok(());
                };
                self.drive(&account, feed, &merchant).await
            })
            .buffer_unordered(self.settings.concurrency.max(1))
            .collect()
            .await;
        let failed: Vec<String> = results
            .iter()
            .filter_map(|r| r.as_ref().err().map(|e| e.to_string()))
            .collect();
        for error in &failed {
            tracing::warn!(error = %error, "a feed could not move forward this tick");
        }
        Ok(TickSummary {
            feeds: slots.len(),
            failed: failed.len(),
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct TickSummary {
    pub feeds: usize,
    pub failed: usize,
}

/// The uploader as deployed: DynamoDB stores, S3 objects, Stripe's catalog APIs.
pub type DeployedUploader = Uploader<
    crate::store::dynamo::DynamoMerchants,
    crate::store::dynamo::DynamoCatalog,
    crate::store::dynamo::DynamoIdempotency,
    crate::bucket::S3Objects,
    crate::stripe::catalog::StripeCatalog,
    crate::clock::SystemClock,
>;

impl DeployedUploader {
    /// Wires the uploader from its settings: the catalog-uploader function, and the
    /// webhooks function for v2 import events, run the same code on the same stores.
    pub fn deployed(
        config: &crate::config::UploaderConfig,
        api: &crate::stripe::catalog::CatalogApiSettings,
        dynamo: &aws_sdk_dynamodb::Client,
        s3: &aws_sdk_s3::Client,
        stripe: crate::stripe::StripeClient,
    ) -> Self {
        use crate::store::dynamo::{DynamoCatalog, DynamoIdempotency, DynamoMerchants};
        Uploader {
            merchants: DynamoMerchants::new(dynamo.clone(), &config.merchants_table),
            catalog: DynamoCatalog::new(dynamo.clone(), &config.catalog_table),
            idempotency: DynamoIdempotency::new(
                dynamo.clone(),
                &config.idempotency_table,
                config.idempotency.ttl_seconds,
                config.idempotency.in_progress_seconds,
            ),
            objects: crate::bucket::S3Objects::new(s3.clone()),
            stripe: crate::stripe::catalog::StripeCatalog::new(stripe, api.clone()),
            clock: crate::clock::SystemClock,
            settings: UploaderSettings {
                bucket: config.bucket.clone(),
                interval_millis: config.interval_seconds * 1000,
                concurrency: config.concurrency,
                max_report_rows: config.max_report_rows,
            },
        }
    }
}

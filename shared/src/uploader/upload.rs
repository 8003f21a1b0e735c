//! Moving a feed forward: upload what is due (one upload in flight per account and feed,
//! at most one per interval; queued files merged, the last row per id winning) or poll
//! what is in flight. Uploads stream from S3 to Stripe; nothing is held whole.

use futures::StreamExt;
use serde_json::json;

use super::{CatalogStore, NextPoll, UploadError, Uploader};
use crate::bucket::{ByteChunks, ObjectRef, ObjectStore, ObjectWriter};
use crate::catalog::{Limits, RowSink, Validator};
use crate::clock::Clock;
use crate::imports::cadence::{NextStep, next_step, poll_after};
use crate::imports::identity::{import_key, object_identity};
use crate::imports::keys::{Feed, FileFormat};
use crate::imports::model::{ImportCounts, ImportMode, ImportRecord, ImportStatus};
use crate::merchants::{ApiGeneration, Merchant};
use crate::store::{IdempotencyStore, MerchantDirectory};
use crate::stripe::StripeError;
use crate::stripe::catalog::{CatalogApi, Upload};

/// Where [`Uploader::upload`] left an import.
pub(super) enum Uploaded {
    /// With Stripe, to be polled.
    Sent,
    /// Finished without Stripe: nothing to send, or refused for good.
    Ended,
    /// Nothing to send, but its SKU records took more than this invocation's time: the
    /// next one goes on at once.
    WritingSkus,
}

/// When a drive asks Stripe about the import in flight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PollWhen {
    /// When its poll is due (`FeedSlot::poll_after`).
    Due,
    /// Now: an import event said it changed.
    Now,
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
    /// Moves one feed forward as far as it can go now, unless another invocation holds
    /// the feed's lease (see `lease`): then that one is already doing it.
    pub async fn drive(
        &self,
        account_id: &str,
        feed: Feed,
        merchant: &Merchant,
    ) -> Result<(), UploadError> {
        self.drive_with(account_id, feed, merchant, PollWhen::Due)
            .await
    }

    pub(super) async fn drive_with(
        &self,
        account_id: &str,
        feed: Feed,
        merchant: &Merchant,
        poll: PollWhen,
    ) -> Result<(), UploadError> {
        let owner = super::lease::owner();
        let result = self
            .drive_as(&owner, account_id, feed, merchant, poll)
            .await;
        self.give_back_lease(account_id, feed, &owner).await;
        result
    }

    async fn drive_as(
        &self,
        owner: &str,
        account_id: &str,
        feed: Feed,
        merchant: &Merchant,
        mut poll: PollWhen,
    ) -> Result<(), UploadError> {
        // Each pass makes progress (a poll that ends an import, an upload); a few are enough.
        for _ in 0..4 {
            let Some(slot) = self.catalog.slot(account_id, feed).await? else {
                return Ok(());
            };
            if slot.leased_to_another(owner, self.clock.now_millis()) {
                tracing::info!(
                    account = account_id,
                    feed = feed.as_str(),
                    "another invocation is moving this feed forward; leaving it alone"
                );
                return Ok(());
            }
            let replace_supported =
                merchant.api_generation == ApiGeneration::V2 && feed == Feed::Product;
            let mut slot = slot;
            if poll == PollWhen::Now {
                // Stripe said the import changed: its poll is due now (once), whatever
                // the schedule said.
                slot.poll_after = None;
                poll = PollWhen::Due;
            }
            match next_step(
                &slot,
                self.clock.now_millis(),
                self.settings.interval_millis,
                replace_supported,
            ) {
                NextStep::Nothing | NextStep::WaitUntil(_) => return Ok(()),
                NextStep::Poll(import_key) => {
                    let Some(slot) = self.take_lease(slot, owner).await? else {
                        continue; // someone else moved the slot: look again
                    };
                    if !self.poll(&slot, &import_key, merchant).await? {
                        return Ok(());
                    }
                }
                NextStep::Upload {
                    files,
                    superseded,
                    replace,
                } => {
                    let import_key = import_key(&files);
                    let mut claimed = slot.clone();
                    claimed
                        .queue
                        .retain(|q| !files.contains(q) && !superseded.contains(q));
                    claimed.remember_sent(
                        files
                            .iter()
                            .chain(&superseded)
                            .map(|f| object_identity(&f.object)),
                    );
                    let now = self.clock.now_millis();
                    claimed.in_flight = Some(import_key.clone());
                    claimed.last_upload_at = Some(now);
                    // Not polled in this invocation: Stripe has only just been sent it.
                    claimed.poll_after = Some(poll_after(now, now));
                    claimed.lease = Some(super::lease::lease_for(owner, now));
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
                        mode: if replace {
                            ImportMode::Replace
                        } else {
                            ImportMode::Upsert
                        },
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
                        incremental: None,
                        sku_rows_applied: None,
                    };
                    self.catalog.put_import(&record).await?;
                    match self.upload(record, merchant).await? {
                        // Ended without Stripe (nothing to send, or refused): free the
                        // slot now rather than at a poll.
                        Uploaded::Ended => self.release_slot(&claimed, &import_key).await?,
                        Uploaded::Sent => {}
                        Uploaded::WritingSkus => {
                            self.defer_poll(&claimed, &import_key, NextPoll::Now)
                                .await?
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// Sends an `Uploading` import to Stripe, or ends it when there is nothing to send or
    /// Stripe refused it for good. Repeating it is safe: the merged file has a
    /// fixed key and every Stripe call an idempotency key derived from the import key; the
    /// comparison with what Stripe has (`incremental`) is stored before anything is sent,
    /// and a repeat sends what it decided.
    pub(super) async fn upload(
        &self,
        mut record: ImportRecord,
        merchant: &Merchant,
    ) -> Result<Uploaded, UploadError> {
        if record.incremental.is_none() {
            if record.sources.len() > 1 {
                record.upload = self.merge(&record).await?;
                self.catalog.put_import(&record).await?;
            }
            record.incremental = Some(
                self.prepare_incremental(&record, merchant.incremental_uploads)
                    .await?,
            );
            self.catalog.put_import(&record).await?;
        }
        let Some(sent) = record.sent_object().cloned() else {
            // Stripe already has every row: nothing to send, nothing to wait for.
            tracing::info!(account = %record.account_id, import_key = %record.import_key, "every row is unchanged; Stripe is not called");
            return Ok(
                if self.finish(record, ImportStatus::Succeeded, None).await? {
                    Uploaded::Ended
                } else {
                    Uploaded::WritingSkus
                },
            );
        };
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
                let upload = self.stream_upload(&sent, &filename, format).await?;
                self.stripe
                    .start_v1(&record.account_id, record.feed, upload, &trigger)
                    .await
                    .map(|(file_id, state)| (Some(file_id), state))
            }
            ApiGeneration::V2 => {
                let object = sent;
                let filename = filename.clone();
                self.stripe
                    .start_v2(
                        &record.account_id,
                        record.feed,
                        record.stripe_mode() == ImportMode::Replace,
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
                self.save_and_report(&record).await?;
                tracing::info!(account = %record.account_id, import_key = %record.import_key, stripe_import = %state.id, "catalog uploaded to Stripe");
                Ok(Uploaded::Sent)
            }
            Err(e) if e.is_transient() => {
                // The import stays Uploading and in flight: the next drive tries again.
                tracing::warn!(account = %record.account_id, import_key = %record.import_key, error = %e, "upload failed; will retry");
                Err(UploadError::Transient(e.to_string()))
            }
            Err(e) => {
                record.failure = Some(e.to_string());
                // A failed import writes no SKU record: it ends here.
                self.finish(record, ImportStatus::Failed, None).await?;
                Ok(Uploaded::Ended)
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
        use crate::imports::merge::{LastOccurrences, MergeWriter};
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

    pub(super) async fn feed_validator<S: RowSink>(
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
}

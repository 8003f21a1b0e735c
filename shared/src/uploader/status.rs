//! `status.json`, written next to every source file at each step (queued, rejected,
//! superseded, processing, finished): what an operator or the merchant reads first.

use serde_json::{Value, json};

use super::{CatalogStore, UploadError, Uploader};
use crate::bucket::ObjectStore;
use crate::clock::Clock;
use crate::imports::keys::report_key;
use crate::imports::model::{ImportRecord, IncrementalUpload, QueuedFile};
use crate::store::{IdempotencyStore, MerchantDirectory};
use crate::stripe::catalog::CatalogApi;

impl<M, C, I, O, A, K> Uploader<M, C, I, O, A, K>
where
    M: MerchantDirectory,
    C: CatalogStore,
    I: IdempotencyStore,
    O: ObjectStore,
    A: CatalogApi,
    K: Clock,
{
    pub(super) async fn write_status(
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

    pub(super) fn status_document(&self, record: &ImportRecord, source: &QueuedFile) -> Value {
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
            "rows_left_out_of_validation_csv": source.rows_left_out_of_report,
            "stripe_successes": record.counts.stripe_successes,
            "stripe_errors": record.counts.stripe_errors,
            "failure": record.failure,
            "reports": record.report_keys,
            "incremental": record.incremental.as_ref().map(incremental_document),
        })
    }

    /// Stores `record` and writes every source's `status.json` from it: one step, so what
    /// the merchant reads never lags what the import log says.
    pub(super) async fn save_and_report(&self, record: &ImportRecord) -> Result<(), UploadError> {
        self.catalog.put_import(record).await?;
        for source in &record.sources {
            self.write_status(
                &record.account_id,
                &source.name,
                self.status_document(record, source),
            )
            .await?;
        }
        Ok(())
    }
}

/// What the comparison with Stripe's snapshot did, over the whole upload (every source of
/// a merged one): `rows` and `rows_with_errors` above still count the source's own rows.
/// Stripe's error file covers only the rows sent.
fn incremental_document(incremental: &IncrementalUpload) -> Value {
    json!({
        "applied": incremental.applied,
        "full_because": incremental.full_because,
        "unchanged": incremental.unchanged,
        "new": incremental.new,
        "changed": incremental.changed,
        "deleted": incremental.deleted,
        "rows_sent": if incremental.applied {
            incremental.new + incremental.changed + incremental.deleted
        } else {
            incremental.unchanged + incremental.new + incremental.changed + incremental.deleted
        },
        "bytes_sent": incremental.bytes_sent,
        "bytes_in_file": incremental.bytes_in_file,
        "delta": incremental.delta.as_ref().map(|d| &d.key),
    })
}

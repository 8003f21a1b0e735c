//! The catalog uploader: S3 drops in, Stripe imports out, reports back in S3.
//!
//! - [`intake`]: `on_object_created` validates a new file (streaming) and queues it.
//! - [`upload`]: `drive` moves one account's feed forward: upload what is due (merging
//!   queued files) or poll what is in flight.
//! - [`completion`]: when Stripe is done, copy its error report, update the SKU records the
//!   checkout hooks read, free the slot.
//! - [`status`]: the `status.json` written next to every source file.
//! - [`deployed`]: the uploader wired to DynamoDB, S3 and Stripe.
//!
//! The schedule calls `drive` for every active feed. Every step is safe to repeat: slot
//! changes are optimistic-versioned writes, Stripe calls carry idempotency keys derived
//! from the source objects.

mod completion;
mod deployed;
mod intake;
mod lease;
pub mod nudge;
mod status;
mod upload;

pub use deployed::DeployedUploader;
pub use nudge::{ImportNudge, Nudger};

use futures::StreamExt;

use crate::bucket::{BucketError, ObjectStore};
use crate::clock::Clock;
use crate::imports::{Feed, ImportStatus};
use crate::store::{
    FeedSlots, IdempotencyStore, ImportLog, MerchantDirectory, SkuRecords, StockHolds, StoreError,
};
use crate::stripe::StripeError;
use crate::stripe::catalog::CatalogApi;

/// What an import event does (a v2 thin event, or a v1 `data_management.import_set.*`
/// webhook): finish the import now instead of at the next poll, which stays the base.
pub trait ImportEvents: Send + Sync {
    /// The import's status afterwards, or None when it is not one of ours.
    fn import_changed(
        &self,
        account: &str,
        import_id: &str,
    ) -> impl std::future::Future<Output = Result<Option<String>, String>> + Send;
}

impl<T: ImportEvents> ImportEvents for Option<T> {
    async fn import_changed(
        &self,
        account: &str,
        import_id: &str,
    ) -> Result<Option<String>, String> {
        match self {
            Some(inner) => inner.import_changed(account, import_id).await,
            None => Ok(None),
        }
    }
}

/// Everything the uploader keeps in the Catalog table: feed slots, import records, the SKU
/// records the hooks read, and the stock holds the schedule expires.
pub trait CatalogStore: FeedSlots + ImportLog + SkuRecords + StockHolds {}

impl<T: FeedSlots + ImportLog + SkuRecords + StockHolds> CatalogStore for T {}

/// Holds expired per tick at most; the next tick takes the rest.
const HOLDS_PER_TICK: usize = 500;

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
    /// Imports by how they ended, files refused, holds expired: for the operator's alarms.
    pub metrics: crate::metrics::Metrics,
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
        // Holds nobody converted give their stock back once their expiry has passed.
        let holds_expired = match self
            .catalog
            .expire_due(self.clock.now_millis(), HOLDS_PER_TICK)
            .await
        {
            Ok(expired) => expired,
            Err(e) => {
                tracing::warn!(error = %e, "expired holds could not be swept this tick");
                0
            }
        };
        Ok(TickSummary {
            feeds: slots.len(),
            failed: failed.len(),
            holds_expired,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct TickSummary {
    pub feeds: usize,
    pub failed: usize,
    /// Holds whose stock went back this tick.
    pub holds_expired: usize,
}

/// A thin event said a v2 import changed: the uploader moves that feed forward now.
impl<M, Cat, I, O, A, K> ImportEvents for Uploader<M, Cat, I, O, A, K>
where
    M: crate::store::MerchantDirectory,
    Cat: CatalogStore,
    I: crate::store::IdempotencyStore,
    O: crate::bucket::ObjectStore,
    A: crate::stripe::catalog::CatalogApi,
    K: crate::clock::Clock,
{
    fn import_changed(
        &self,
        account: &str,
        import_id: &str,
    ) -> impl std::future::Future<Output = Result<Option<String>, String>> + Send {
        let (account, import_id) = (account.to_string(), import_id.to_string());
        async move {
            // Boxed: the uploader's future is Send, but proving it through every generic
            // layer of the thin-event receiver is more than the compiler does on its own.
            type Work<'a> = std::pin::Pin<
                Box<
                    dyn std::future::Future<
                            Output = Result<Option<crate::imports::ImportStatus>, UploadError>,
                        > + Send
                        + 'a,
                >,
            >;
            let work: Work<'_> = Box::pin(self.on_import_event(&account, &import_id));
            let status = work.await.map_err(|e| e.to_string())?;
            Ok(status
                .and_then(|s| serde_json::to_value(s).ok())
                .and_then(|v| v.as_str().map(str::to_string)))
        }
    }
}

#[cfg(test)]
mod tests;

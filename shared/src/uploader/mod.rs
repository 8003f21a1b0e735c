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
pub mod fanout;
mod incremental;
mod intake;
mod lease;
pub mod nudge;
mod status;
mod upload;

pub use deployed::DeployedUploader;
pub use fanout::{Dispatch, FeedDue, QueuedWork, SqsFeedQueue};
pub use nudge::{ImportNudge, Nudger};
pub use upload::PollWhen;

use futures::StreamExt;

use crate::bucket::{BucketError, ObjectStore};
use crate::clock::Clock;
use crate::imports::{ActiveSlot, Feed, ImportStatus};
use crate::store::{
    FeedSlots, IdempotencyStore, ImportLog, MerchantDirectory, SkuRecords, SkuRetirement,
    StockHolds, StoreError,
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
/// When an import still in flight is next looked at.
enum NextPoll {
    /// As `cadence::poll_after` backs off.
    Backoff,
    /// At once: the work is ours, not Stripe's.
    Now,
}

pub trait CatalogStore: FeedSlots + ImportLog + SkuRecords + SkuRetirement + StockHolds {}

impl<T: FeedSlots + ImportLog + SkuRecords + SkuRetirement + StockHolds> CatalogStore for T {}

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
    /// Where due feeds go: driven here, or sent to the uploader's queue (`fanout`).
    pub dispatch: Dispatch,
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
        self.drive_with(account_id, record.feed, &merchant, PollWhen::Now)
            .await?;
        Ok(self
            .catalog
            .import(account_id, &record.import_key)
            .await?
            .map(|r| r.status))
    }

    /// The schedule's tick: every feed with work is sent to the queue (or, without one,
    /// driven here a few at a time); expired stock holds are given back.
    pub async fn on_schedule(&self) -> Result<TickSummary, UploadError> {
        let slots = self.catalog.active_slots().await?;
        let (dispatched, failed) = if self.dispatch.is_queued() {
            self.dispatch_feeds(&slots).await
        } else {
            (0, self.drive_all(&slots).await)
        };
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
            dispatched,
            failed,
            holds_expired,
        })
    }

    /// Drives every listed feed here, `concurrency` at a time; returns how many failed.
    async fn drive_all(&self, slots: &[ActiveSlot]) -> usize {
        let results: Vec<Result<(), UploadError>> = futures::stream::iter(slots.iter().cloned())
            .map(
                |ActiveSlot {
                     account_id: account,
                     feed,
                     ..
                 }| async move {
                    let Some(merchant) = self.merchants.merchant(&account).await? else {
                        return Ok(());
                    };
                    self.drive(&account, feed, &merchant).await
                },
            )
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
        failed.len()
    }

    /// Claims and sends every listed feed whose last message was taken (or is stale) and
    /// whose import's next poll is due; returns how many were sent and how many could not
    /// be. The others are skipped from the index alone: no write for them.
    pub(super) async fn dispatch_feeds(&self, slots: &[ActiveSlot]) -> (usize, usize) {
        let now = self.clock.now_millis();
        let stale = now - fanout::REDISPATCH_AFTER_MILLIS;
        let waiting = slots
            .iter()
            .filter(|s| s.dispatched_at.is_none_or(|at| at < stale))
            .filter(|s| s.poll_after.is_none_or(|at| at <= now))
            .cloned();
        let claims: Vec<Option<FeedDue>> = futures::stream::iter(waiting)
            .map(|ActiveSlot { account_id: account, feed, .. }| async move {
                match self.catalog.claim_dispatch(&account, feed, now, stale).await
                {
                    Ok(true) => Some(FeedDue {
                        account_id: account,
                        feed,
                    }),
                    Ok(false) => None,
                    Err(e) => {
                        tracing::warn!(account = %account, error = %e, "a feed could not be claimed for the queue this tick");
                        None
                    }
                }
            })
            .buffer_unordered(DISPATCH_CLAIMS_IN_FLIGHT)
            .collect()
            .await;
        let due: Vec<FeedDue> = claims.into_iter().flatten().collect();
        let claimed = due.len();
        let unsent = self.dispatch.send(due).await;
        for (due, error) in &unsent {
            tracing::warn!(account = %due.account_id, feed = due.feed.as_str(), error = %error, "a due feed could not be queued; the next tick sends it");
            // Unmarked, so the next tick tries again instead of waiting out the claim.
            if let Err(e) = self.catalog.clear_dispatch(&due.account_id, due.feed).await {
                tracing::warn!(error = %e, "the claim stays until it is stale");
            }
        }
        (claimed - unsent.len(), unsent.len())
    }

    /// The queue's consumer: one message's work. A nudge finishes its import now; a due
    /// feed is moved forward. The claim is cleared first, so a file that arrives while this
    /// runs gets a message of its own.
    pub async fn on_queued(&self, work: QueuedWork) -> Result<(), UploadError> {
        match work {
            QueuedWork::Nudge(nudge) => {
                let status = self
                    .on_import_event(&nudge.account_id, &nudge.import_id)
                    .await?;
                tracing::info!(account = %nudge.account_id, import = %nudge.import_id, status = ?status, "import nudge handled");
                Ok(())
            }
            QueuedWork::Feed(due) => {
                self.catalog
                    .clear_dispatch(&due.account_id, due.feed)
                    .await?;
                let Some(merchant) = self.merchants.merchant(&due.account_id).await? else {
                    tracing::warn!(account = %due.account_id, "a due feed for an unknown merchant; dropped");
                    return Ok(());
                };
                self.drive(&due.account_id, due.feed, &merchant).await
            }
        }
    }
}

/// Claims the tick writes at once (conditional updates on the slots).
const DISPATCH_CLAIMS_IN_FLIGHT: usize = 16;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct TickSummary {
    pub feeds: usize,
    /// Feeds sent to the uploader's queue (0 without one).
    pub dispatched: usize,
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

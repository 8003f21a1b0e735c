//! Persistence, one small trait per capability, with DynamoDB adapters (`dynamo`) and
//! in-memory ones (`memory`, for tests only) side by side. Handlers ask for the narrowest
//! trait they need.

pub mod attr;
pub mod cache;
pub mod dynamo;
#[cfg(any(test, feature = "memory"))]
pub mod memory;

use std::future::Future;

use crate::agreements::Agreement;
use crate::imports::{Feed, FeedSlot, ImportRecord};
use crate::merchants::Merchant;
use crate::orders::{DisputeFact, Order, PaymentFact, RefundFact};
use crate::skus::{SkuChange, SkuRecord};

#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    /// Throttling, timeouts, service errors: the operation may succeed later.
    #[error("store temporarily unavailable: {0}")]
    Transient(String),
    /// A request the store refuses whatever the timing (bad schema, missing table…).
    #[error("store refused the request: {0}")]
    Permanent(String),
    #[error("stored data is unreadable: {0}")]
    Corrupt(String),
}

impl StoreError {
    pub fn is_transient(&self) -> bool {
        matches!(self, StoreError::Transient(_))
    }
}

/// What a conditional state update did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    /// The fact was newer and is now stored.
    Updated,
    /// The stored state was already as new or newer: nothing changed.
    Stale,
    /// There is no such order (yet).
    Missing,
}

pub trait OrderStore: Send + Sync {
    /// Stores the order unless one already exists for (account, session). True if stored.
    fn insert_if_absent(
        &self,
        order: &Order,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    fn get(
        &self,
        account_id: &str,
        checkout_session_id: &str,
    ) -> impl Future<Output = Result<Option<Order>, StoreError>> + Send;

    /// The session id of the order paid by `payment_intent_id` (eventually consistent).
    fn find_by_payment_intent(
        &self,
        account_id: &str,
        payment_intent_id: &str,
    ) -> impl Future<Output = Result<Option<String>, StoreError>> + Send;

    fn list(
        &self,
        account_id: &str,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<Order>, StoreError>> + Send;

    fn apply_payment(
        &self,
        account_id: &str,
        checkout_session_id: &str,
        fact: &PaymentFact,
    ) -> impl Future<Output = Result<Applied, StoreError>> + Send;

    fn apply_refund(
        &self,
        account_id: &str,
        checkout_session_id: &str,
        fact: &RefundFact,
    ) -> impl Future<Output = Result<Applied, StoreError>> + Send;

    fn apply_dispute(
        &self,
        account_id: &str,
        checkout_session_id: &str,
        fact: &DisputeFact,
    ) -> impl Future<Output = Result<Applied, StoreError>> + Send;
}

/// The outcome of claiming an idempotency key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// Ours: do the work, then `complete` (or `release` on failure).
    Acquired,
    /// Done before: here is the stored response.
    Completed(String),
    /// Someone is working on it now (or crashed less than the in-progress expiry ago).
    InProgress,
    /// The key was used with a different payload.
    PayloadMismatch,
}

/// Idempotency on the AWS Lambda Powertools design: a conditional put marks a key in
/// progress; the result is stored on completion; an in-progress mark expires so a crashed
/// invocation does not block retries forever; every record has a TTL.
pub trait IdempotencyStore: Send + Sync {
    /// `payload_hash`: when given, a later claim with another hash is a `PayloadMismatch`.
    fn claim(
        &self,
        key: &str,
        payload_hash: Option<&str>,
        now_millis: i64,
    ) -> impl Future<Output = Result<Claim, StoreError>> + Send;

    fn complete(
        &self,
        key: &str,
        response: &str,
        now_millis: i64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Gives up a claim after a failure, so the next delivery can try again at once.
    fn release(&self, key: &str) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// Reading a merchant's settings (the hooks and the uploader need no more).
pub trait MerchantDirectory: Send + Sync {
    fn merchant(
        &self,
        account_id: &str,
    ) -> impl Future<Output = Result<Option<Merchant>, StoreError>> + Send;
}

/// Changing merchants: the operators' CLI.
pub trait MerchantAdmin: MerchantDirectory {
    fn put_merchant(
        &self,
        merchant: &Merchant,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    fn list_merchants(
        &self,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<Merchant>, StoreError>> + Send;
}

/// Per account and feed: what is queued, what is in flight, when the last upload went.
pub trait FeedSlots: Send + Sync {
    fn slot(
        &self,
        account_id: &str,
        feed: Feed,
    ) -> impl Future<Output = Result<Option<FeedSlot>, StoreError>> + Send;

    /// Writes `slot` if nobody wrote it since it was read (its `version`); the stored
    /// version becomes `slot.version + 1`. False on a conflict: read again and retry.
    fn save_slot(&self, slot: &FeedSlot) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Slots with queued files or an upload in flight, for the schedule.
    fn active_slots(&self) -> impl Future<Output = Result<Vec<(String, Feed)>, StoreError>> + Send;
}

pub trait ImportLog: Send + Sync {
    fn put_import(
        &self,
        record: &ImportRecord,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    fn import(
        &self,
        account_id: &str,
        import_key: &str,
    ) -> impl Future<Output = Result<Option<ImportRecord>, StoreError>> + Send;
    /// Newest first.
    fn imports(
        &self,
        account_id: &str,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<ImportRecord>, StoreError>> + Send;
}

pub trait SkuRecords: Send + Sync {
    fn sku(
        &self,
        account_id: &str,
        sku: &str,
    ) -> impl Future<Output = Result<Option<SkuRecord>, StoreError>> + Send;

    /// Several SKUs in one round trip; unknown ones are absent from the map.
    fn skus(
        &self,
        account_id: &str,
        skus: &[String],
    ) -> impl Future<Output = Result<std::collections::HashMap<String, SkuRecord>, StoreError>> + Send;

    /// Applies accepted feed rows: whole records in batches, partial ones (stock, price)
    /// as updates that keep the other fields.
    fn apply_sku_changes(
        &self,
        account_id: &str,
        source_import: &str,
        now_millis: i64,
        changes: &[SkuChange],
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// One SKU's share of a reservation.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct StockLine {
    pub sku: String,
    pub quantity: i64,
    /// The feed import that set the stock being reserved: a release only gives stock back
    /// to that same record (a newer feed has superseded the reservation).
    pub source_import: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reservation {
    Reserved,
    /// This reservation id was taken before (a retried finalize): nothing changed.
    AlreadyReserved,
    /// Not enough stock left for this SKU: nothing changed.
    Short {
        sku: String,
    },
}

/// Stock held by approved checkouts, taken atomically over all lines of one checkout.
pub trait StockReservations: Send + Sync {
    fn reserve(
        &self,
        account_id: &str,
        reservation_id: &str,
        lines: &[StockLine],
    ) -> impl Future<Output = Result<Reservation, StoreError>> + Send;

    /// Gives the stock back (once). False when there was nothing to release.
    fn release(
        &self,
        account_id: &str,
        reservation_id: &str,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
}

/// Deployments without a catalog (webhooks only) have no reservations to release.
impl<T: StockReservations> StockReservations for Option<T> {
    async fn reserve(
        &self,
        account_id: &str,
        reservation_id: &str,
        lines: &[StockLine],
    ) -> Result<Reservation, StoreError> {
        match self {
            Some(inner) => inner.reserve(account_id, reservation_id, lines).await,
            None => Ok(Reservation::Reserved),
        }
    }

    async fn release(&self, account_id: &str, reservation_id: &str) -> Result<bool, StoreError> {
        match self {
            Some(inner) => inner.release(account_id, reservation_id).await,
            None => Ok(false),
        }
    }
}

/// Agreements per account, written only forward (see `agreements`).
pub trait AgreementStore: Send + Sync {
    /// Stores `agreement` unless the stored state is as far along or further.
    fn put_if_newer(
        &self,
        agreement: &Agreement,
    ) -> impl Future<Output = Result<Applied, StoreError>> + Send;
    fn agreement(
        &self,
        account_id: &str,
        agreement_id: &str,
    ) -> impl Future<Output = Result<Option<Agreement>, StoreError>> + Send;
    fn agreements(
        &self,
        account_id: &str,
    ) -> impl Future<Output = Result<Vec<Agreement>, StoreError>> + Send;
}

/// Without an Agreements table there are no agreements to require.
impl<T: AgreementStore> AgreementStore for Option<T> {
    async fn put_if_newer(&self, agreement: &Agreement) -> Result<Applied, StoreError> {
        match self {
            Some(inner) => inner.put_if_newer(agreement).await,
            None => Ok(Applied::Stale),
        }
    }

    async fn agreement(
        &self,
        account_id: &str,
        agreement_id: &str,
    ) -> Result<Option<Agreement>, StoreError> {
        match self {
            Some(inner) => inner.agreement(account_id, agreement_id).await,
            None => Ok(None),
        }
    }

    async fn agreements(&self, account_id: &str) -> Result<Vec<Agreement>, StoreError> {
        match self {
            Some(inner) => inner.agreements(account_id).await,
            None => Ok(Vec::new()),
        }
    }
}

//! Persistence, one small trait per capability, with DynamoDB adapters (`dynamo`) and
//! in-memory ones (`memory`, for tests only) side by side. Handlers ask for the narrowest
//! trait they need.

pub mod attr;
pub mod cache;
pub mod dynamo;
#[cfg(any(test, feature = "memory"))]
pub mod memory;
pub mod page;

use std::future::Future;

use crate::agreements::Agreement;
use crate::dead_letters::DeadLetter;
use crate::holds::Hold;
use crate::imports::{ActiveSlot, Feed, FeedSlot, ImportRecord};
use crate::merchants::Merchant;
use crate::orders::{DisputeFact, Order, PaymentFact, ReconcileState, RefundFact};
use crate::skus::{SkuChange, SkuRecord};

pub use page::{Cursor, Page, PageRequest};

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
    /// A page cursor that this listing did not hand out (or altered, or another account's).
    #[error("the page cursor is not valid: {0}")]
    BadCursor(String),
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

    /// The first `limit` orders of [`OrderPages::order_page`].
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

/// An account's orders a page at a time, by checkout session id.
pub trait OrderPages: Send + Sync {
    fn order_page(
        &self,
        account_id: &str,
        request: &PageRequest,
    ) -> impl Future<Output = Result<Page<Order>, StoreError>> + Send;
}

/// Per merchant, how far the reconciliation of its orders has come (kept on the Merchants
/// table's item, so a merchant removed from the table is no longer reconciled).
pub trait ReconcileProgress: Send + Sync {
    /// Every registered merchant with its progress (the default for one never reconciled).
    fn reconcile_states(
        &self,
    ) -> impl Future<Output = Result<Vec<(String, ReconcileState)>, StoreError>> + Send;

    /// Stores `next` if the stored version is still `next.version - 1` (and the merchant
    /// still exists). False on a conflict: another run moved it; leave it to that run.
    fn save_reconcile_state(
        &self,
        account_id: &str,
        next: &ReconcileState,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
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
}

/// Every merchant a page at a time, in the table's order.
pub trait MerchantPages: Send + Sync {
    fn merchant_page(
        &self,
        request: &PageRequest,
    ) -> impl Future<Output = Result<Page<Merchant>, StoreError>> + Send;
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
    fn active_slots(&self) -> impl Future<Output = Result<Vec<ActiveSlot>, StoreError>> + Send;

    /// Marks the feed as sent to the uploader's queue at `now`, unless a mark newer than
    /// `stale_before` is there already (its message still waits). True when marked. Does
    /// not change the slot's `version`: the mark is advisory, and a slot write that loses
    /// it only lets the next tick send the feed once more.
    fn claim_dispatch(
        &self,
        account_id: &str,
        feed: Feed,
        now: i64,
        stale_before: i64,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Removes the mark: the feed's message was taken (or could not be sent).
    fn clear_dispatch(
        &self,
        account_id: &str,
        feed: Feed,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
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
    /// The newest `limit`: the first of [`ImportPages::import_page`].
    fn imports(
        &self,
        account_id: &str,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<ImportRecord>, StoreError>> + Send;
}

/// An account's imports a page at a time, newest first.
pub trait ImportPages: Send + Sync {
    fn import_page(
        &self,
        account_id: &str,
        request: &PageRequest,
    ) -> impl Future<Output = Result<Page<ImportRecord>, StoreError>> + Send;
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

/// After a `replace` product import, Stripe deletes the products the file left out
/// (docs/stripe.md 1.1.3); the checkout must stop selling them too.
pub trait SkuRetirement: Send + Sync {
    /// Deletes the account's SKU records that no row of `product_import` wrote. A record
    /// open holds still keep stock in is marked `out_of_stock` instead (`now_millis`), so
    /// the holds can settle against it; a later replace import removes it.
    fn retire_skus_not_in(
        &self,
        account_id: &str,
        product_import: &str,
        now_millis: i64,
    ) -> impl Future<Output = Result<SkusRetired, StoreError>> + Send;
}

/// What [`SkuRetirement::retire_skus_not_in`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SkusRetired {
    pub deleted: u64,
    /// Kept for their open holds, no longer sold.
    pub out_of_stock: u64,
}

/// What placing a hold did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Placement {
    Placed,
    /// This request's hold is already open (a retried finalize): nothing changed.
    AlreadyPlaced,
    /// Not enough stock left for this SKU: nothing changed.
    Short {
        sku: String,
    },
}

/// Stock held by approved checkouts (see `crate::holds`). Each move is one transaction:
/// the hold's status and every SKU it touches change together or not at all.
pub trait StockHolds: Send + Sync {
    /// Takes the hold's lines out of `available` (each SKU must have enough) and stores the
    /// open hold, whatever the number of lines. A hold of the same id that was released or
    /// expired may be placed again; one left partly placed is carried on. A transient error
    /// means nothing this call could see as approved happened: calling again is safe.
    fn place(&self, hold: &Hold) -> impl Future<Output = Result<Placement, StoreError>> + Send;

    /// The order of `session_id` (with `fingerprint`) keeps its stock sold: converts the hold
    /// `holds::hold_to_convert` picks. Returns its id, or None when no hold matches. A
    /// redelivered order finds the hold it converted and converts nothing else.
    fn convert(
        &self,
        account_id: &str,
        fingerprint: &str,
        session_id: &str,
    ) -> impl Future<Output = Result<Option<String>, StoreError>> + Send;

    /// Gives back now the stock of the open hold that names `session_id` (its checkout was
    /// given up). False when no open hold names it.
    fn release_for_session(
        &self,
        account_id: &str,
        session_id: &str,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Gives back the stock of up to `limit` open holds whose expiry is before `now_millis`,
    /// each exactly once. Returns how many expired.
    fn expire_due(
        &self,
        now_millis: i64,
        limit: usize,
    ) -> impl Future<Output = Result<usize, StoreError>> + Send;
}

/// Deployments without a catalog (webhooks only) hold no stock.
impl<T: StockHolds> StockHolds for Option<T> {
    async fn place(&self, hold: &Hold) -> Result<Placement, StoreError> {
        match self {
            Some(inner) => inner.place(hold).await,
            None => Ok(Placement::Placed),
        }
    }

    async fn convert(
        &self,
        account_id: &str,
        fingerprint: &str,
        session_id: &str,
    ) -> Result<Option<String>, StoreError> {
        match self {
            Some(inner) => inner.convert(account_id, fingerprint, session_id).await,
            None => Ok(None),
        }
    }

    async fn release_for_session(
        &self,
        account_id: &str,
        session_id: &str,
    ) -> Result<bool, StoreError> {
        match self {
            Some(inner) => inner.release_for_session(account_id, session_id).await,
            None => Ok(false),
        }
    }

    async fn expire_due(&self, now_millis: i64, limit: usize) -> Result<usize, StoreError> {
        match self {
            Some(inner) => inner.expire_due(now_millis, limit).await,
            None => Ok(0),
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

/// An account's stored agreements a page at a time, by agreement id.
pub trait AgreementPages: Send + Sync {
    fn agreement_page(
        &self,
        account_id: &str,
        request: &PageRequest,
    ) -> impl Future<Output = Result<Page<Agreement>, StoreError>> + Send;
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

/// Events kept for an operator (see `crate::dead_letters`).
pub trait DeadLetterStore: Send + Sync {
    /// Stores `letter`; the same event kept twice stays one record.
    fn keep(&self, letter: &DeadLetter) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Newest first: one account's, or every account's when `account_id` is None.
    fn dead_letters(
        &self,
        account_id: Option<&str>,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<DeadLetter>, StoreError>> + Send;
}

/// Kept events a page at a time, in the table's order (not by time: the table has no index
/// on it): one account's by event id, or every account's when `account_id` is None.
pub trait DeadLetterPages: Send + Sync {
    fn dead_letter_page(
        &self,
        account_id: Option<&str>,
        request: &PageRequest,
    ) -> impl Future<Output = Result<Page<DeadLetter>, StoreError>> + Send;
}

/// Without a dead-letter table nothing can be kept: the event is answered 5xx, so Stripe
/// keeps it (and retries) until an operator sets DEAD_LETTERS_TABLE.
impl<T: DeadLetterStore> DeadLetterStore for Option<T> {
    async fn keep(&self, letter: &DeadLetter) -> Result<(), StoreError> {
        match self {
            Some(inner) => inner.keep(letter).await,
            None => Err(StoreError::Permanent(
                "DEAD_LETTERS_TABLE is not set: the event cannot be kept".into(),
            )),
        }
    }

    async fn dead_letters(
        &self,
        account_id: Option<&str>,
        limit: usize,
    ) -> Result<Vec<DeadLetter>, StoreError> {
        match self {
            Some(inner) => inner.dead_letters(account_id, limit).await,
            None => Ok(Vec::new()),
        }
    }
}

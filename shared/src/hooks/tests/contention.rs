//! Reservations under contention: a transaction that meets another checkout's on the same
//! SKU is tried again inside the request's deadline. Only a merchant that chose fail-open
//! approves without a reservation, and every such approval is counted. Time is tokio's
//! paused clock: the retries' pauses cost no wall time.

use std::sync::atomic::{AtomicU32, Ordering};

use super::*;
use crate::holds::Hold;
use crate::metrics::{Metrics, Recorded};
use crate::store::Placement;

/// The in-memory catalog, but the first `conflicts` placements fail as DynamoDB's
/// `TransactionConflict` cancellation does (`store::dynamo::holds`): transient, nothing moved.
struct Conflicting {
    inner: MemoryCatalog,
    conflicts: u32,
    attempts: AtomicU32,
}

impl SkuRecords for Conflicting {
    async fn sku(&self, account: &str, sku: &str) -> Result<Option<SkuRecord>, StoreError> {
        self.inner.sku(account, sku).await
    }
    async fn skus(
        &self,
        account: &str,
        skus: &[String],
    ) -> Result<HashMap<String, SkuRecord>, StoreError> {
        self.inner.skus(account, skus).await
    }
    async fn apply_sku_changes(
        &self,
        account: &str,
        source: &str,
        now: i64,
        changes: &[SkuChange],
    ) -> Result<(), StoreError> {
        self.inner
            .apply_sku_changes(account, source, now, changes)
            .await
    }
}

impl StockHolds for Conflicting {
    async fn place(&self, hold: &Hold) -> Result<Placement, StoreError> {
        let attempt = self.attempts.fetch_add(1, Ordering::SeqCst) + 1;
        if attempt <= self.conflicts {
            return Err(StoreError::Transient(
                "hold not placed: [Some(\"TransactionConflict\")]".into(),
            ));
        }
        self.inner.place(hold).await
    }
    async fn convert(&self, a: &str, f: &str, s: &str) -> Result<Option<String>, StoreError> {
        self.inner.convert(a, f, s).await
    }
    async fn release_for_session(&self, a: &str, s: &str) -> Result<bool, StoreError> {
        self.inner.release_for_session(a, s).await
    }
    async fn expire_due(&self, now: i64, limit: usize) -> Result<usize, StoreError> {
        self.inner.expire_due(now, limit).await
    }
}

const DEADLINE: Duration = Duration::from_millis(3_000);

type Contended =
    HookService<MemoryMerchants, Conflicting, MemoryIdempotency, SystemClock, MemoryAgreements>;

/// The hook over the one-mug catalog, whose first `conflicts` placements conflict.
async fn contended(conflicts: u32, fallback: Fallback) -> (Contended, Recorded) {
    let live = live_service().await;
    let mut merchant = Merchant::new("acct_1Unit");
    merchant.checkout.when_unavailable = fallback;
    let (metrics, recorded) = Metrics::recording("finalize-checkout");
    let service = HookService {
        hook: Hook::Finalize,
        keys: live.keys,
        livemode: false,
        merchants: MemoryMerchants::with([merchant]),
        store: Conflicting {
            inner: live.store,
            conflicts,
            attempts: AtomicU32::new(0),
        },
        idempotency: MemoryIdempotency::new(3600, 60),
        clock: SystemClock,
        agreements: MemoryAgreements::default(),
        deadline: DEADLINE,
        hold_for: Duration::from_secs(1800),
        metrics,
    };
    (service, recorded)
}

async fn mugs_left(service: &Contended) -> Option<i64> {
    let mug = service.store.inner.sku("acct_1Unit", "MUG").await.unwrap();
    mug.and_then(|m| m.available)
}

#[tokio::test(start_paused = true)]
async fn a_conflicting_reservation_is_tried_again_and_approved_with_its_stock() {
    let (service, recorded) = contended(4, Fallback::Decline).await;
    let (body, header) = request();
    let answer = service.receive(&body, Some(&header)).await;
    assert_eq!(answer.body["manual_approval_details"]["type"], "approved");
    assert_eq!(service.store.attempts.load(Ordering::SeqCst), 5);
    assert_eq!(mugs_left(&service).await, Some(4), "reserved exactly once");
    assert_eq!(recorded.sum("HookFallback", &[]), 0.0);
    assert_eq!(
        recorded.sum("HookDecision", &[("Decision", "approved")]),
        1.0
    );
}

#[tokio::test(start_paused = true)]
async fn endless_conflicts_end_in_the_merchants_choice_inside_the_deadline_and_are_counted() {
    for (fallback, decision, counted) in [
        (Fallback::Decline, "declined", "declined"),
        (Fallback::Approve, "approved", "approved_unreserved"),
    ] {
        let (service, recorded) = contended(u32::MAX, fallback).await;
        let (body, header) = request();
        let started = Instant::now();
        let answer = service.receive(&body, Some(&header)).await;
        let elapsed = started.elapsed();
        assert_eq!(
            answer.body["manual_approval_details"]["type"], decision,
            "{fallback:?}"
        );
        assert!(
            elapsed <= DEADLINE,
            "{fallback:?} answered after {elapsed:?}"
        );
        let attempts = service.store.attempts.load(Ordering::SeqCst);
        assert!(
            attempts > 10,
            "kept trying while the deadline allowed: {attempts}"
        );
        assert_eq!(mugs_left(&service).await, Some(5), "nothing reserved");
        assert_eq!(
            recorded.sum("HookFallback", &[("Cause", "store"), ("Decision", counted)]),
            1.0,
            "{:?}",
            recorded.points()
        );
    }
}

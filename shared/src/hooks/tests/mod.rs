//! The hook service end to end over in-memory stores: idempotency, refusals, deadlines.

mod contention;
mod deadline;

use std::collections::HashMap;

use super::*;
use crate::clock::SystemClock;
use crate::merchants::Merchant;
use crate::secret::Secret;
use crate::signature::{Verifier, sign_header};
use crate::skus::{SkuChange, SkuRecord};
use crate::store::memory::{MemoryAgreements, MemoryCatalog, MemoryIdempotency, MemoryMerchants};

const SECRET: &str = "whsec_unit_hooks";

/// A store that never answers: what a stalled DynamoDB looks like from the hook.
struct Stalled;

impl SkuRecords for Stalled {
    async fn sku(&self, _: &str, _: &str) -> Result<Option<SkuRecord>, StoreError> {
        std::future::pending().await
    }
    async fn skus(&self, _: &str, _: &[String]) -> Result<HashMap<String, SkuRecord>, StoreError> {
        std::future::pending().await
    }
    async fn apply_sku_changes(
        &self,
        _: &str,
        _: &str,
        _: i64,
        _: &[SkuChange],
    ) -> Result<(), StoreError> {
        std::future::pending().await
    }
}

impl StockHolds for Stalled {
    async fn place(&self, _: &crate::holds::Hold) -> Result<crate::store::Placement, StoreError> {
        std::future::pending().await
    }
    async fn convert(&self, _: &str, _: &str, _: &str) -> Result<Option<String>, StoreError> {
        std::future::pending().await
    }
    async fn release_for_session(&self, _: &str, _: &str) -> Result<bool, StoreError> {
        std::future::pending().await
    }
    async fn expire_due(&self, _: i64, _: usize) -> Result<usize, StoreError> {
        std::future::pending().await
    }
}

fn service(
    fallback: Fallback,
) -> HookService<MemoryMerchants, Stalled, MemoryIdempotency, SystemClock, MemoryAgreements> {
    let mut merchant = Merchant::new("acct_1Unit");
    merchant.checkout.when_unavailable = fallback;
    HookService {
        hook: Hook::Finalize,
        keys: HookKeys::loaded(Verifier::new(vec![Secret::new(SECRET)], 300)),
        livemode: false,
        merchants: MemoryMerchants::with([merchant]),
        store: Stalled,
        idempotency: MemoryIdempotency::new(3600, 60),
        clock: SystemClock,
        agreements: MemoryAgreements::default(),
        deadline: Duration::from_millis(50),
        hold_for: Duration::from_secs(1800),
        metrics: crate::metrics::Metrics::recording("finalize-checkout").0,
    }
}

fn request() -> (Vec<u8>, String) {
    let body = json!({"type": FINALIZE, "id": "req_1", "livemode": false, "context": "acct_1Unit",
        "data": {"currency": "usd", "line_items_details": [{"id": "li_1", "sku_id": "MUG", "quantity": 1}], "amount_total": 1500}})
    .to_string()
    .into_bytes();
    let header = sign_header(&body, &[SECRET], SystemClock.now_seconds());
    (body, header)
}

#[tokio::test]
async fn a_stalled_store_gets_the_merchants_fallback_before_the_deadline() {
    let (body, header) = request();
    let closed = service(Fallback::Decline)
        .receive(&body, Some(&header))
        .await;
    assert_eq!(closed.status, 200);
    assert_eq!(closed.body["manual_approval_details"]["type"], "declined");
    let open = service(Fallback::Approve)
        .receive(&body, Some(&header))
        .await;
    assert_eq!(open.body["manual_approval_details"]["type"], "approved");
}

/// The hook over in-memory stores with one in-stock SKU.
async fn live_service()
-> HookService<MemoryMerchants, MemoryCatalog, MemoryIdempotency, SystemClock, MemoryAgreements> {
    let catalog = MemoryCatalog::default();
    let mug = SkuRecord {
        account_id: "acct_1Unit".into(),
        sku: "MUG".into(),
        title: Some("Mug".into()),
        availability: crate::skus::Availability::InStock,
        quantity: Some(5),
        available: Some(5),
        held: None,
        price: None,
        shipping: vec![],
        shipping_cost_basis: None,
        source_import: "import-1".into(),
        updated_at: 0,
        product_import: None,
    };
    catalog
        .apply_sku_changes("acct_1Unit", "import-1", 0, &[SkuChange::Replace(mug)])
        .await
        .unwrap();
    HookService {
        hook: Hook::Finalize,
        keys: HookKeys::loaded(Verifier::new(vec![Secret::new(SECRET)], 300)),
        livemode: false,
        merchants: MemoryMerchants::with([Merchant::new("acct_1Unit")]),
        store: catalog,
        idempotency: MemoryIdempotency::new(3600, 60),
        clock: SystemClock,
        agreements: MemoryAgreements::default(),
        deadline: Duration::from_secs(2),
        hold_for: Duration::from_secs(1800),
        metrics: crate::metrics::Metrics::recording("finalize-checkout").0,
    }
}

async fn available<M, I, C, G>(service: &HookService<M, MemoryCatalog, I, C, G>) -> Option<i64> {
    let mug = service.store.sku("acct_1Unit", "MUG").await.unwrap();
    mug.and_then(|m| m.available)
}

fn signed(body: &Value) -> (Vec<u8>, String) {
    let bytes = body.to_string().into_bytes();
    let header = sign_header(&bytes, &[SECRET], SystemClock.now_seconds());
    (bytes, header)
}

#[tokio::test]
async fn a_repeated_request_gets_the_same_answer_and_a_changed_one_409() {
    let service = live_service().await;
    let (body, header) = request();
    let first = service.receive(&body, Some(&header)).await;
    assert_eq!(first.body["manual_approval_details"]["type"], "approved");
    let again = service.receive(&body, Some(&header)).await;
    assert_eq!(again, first);
    assert_eq!(available(&service).await, Some(4), "reserved once");
    let mut changed: Value = serde_json::from_slice(&body).unwrap();
    changed["data"]["amount_total"] = json!(1);
    let (body, header) = signed(&changed);
    let mismatch = service.receive(&body, Some(&header)).await;
    assert_eq!(mismatch.status, 409);
    assert_eq!(mismatch.body["error"]["type"], "idempotency_error");
}

#[tokio::test]
async fn requests_that_are_not_this_merchants_finalize_are_refused_before_any_write() {
    let service = live_service().await;
    let base: Value = serde_json::from_slice(&request().0).unwrap();
    let with = |pointer: &str, value: Value| {
        let mut v = base.clone();
        *v.pointer_mut(pointer).unwrap() = value;
        v
    };
    let cases = [
        (with("/type", json!(CUSTOMIZE)), 400, "invalid_request"),
        (with("/livemode", json!(true)), 400, "livemode_mismatch"),
        (
            with("/context", json!("acct_1Stranger")),
            404,
            "unknown_merchant",
        ),
        (with("/context", json!("acct_../x")), 400, "invalid_request"),
        (
            with("/data", json!({"line_items_details": "x"})),
            400,
            "invalid_request",
        ),
    ];
    for (body, status, kind) in cases {
        let (bytes, header) = signed(&body);
        let answer = service.receive(&bytes, Some(&header)).await;
        assert_eq!(
            (answer.status, answer.body["error"]["type"].as_str()),
            (status, Some(kind)),
            "{body}"
        );
    }
    let (bytes, _) = request();
    let unsigned = service.receive(&bytes, None).await;
    assert_eq!(unsigned.status, 400);
    assert_eq!(available(&service).await, Some(5));
}

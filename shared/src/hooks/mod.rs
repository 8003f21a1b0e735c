//! The checkout hooks Stripe calls during an agent's checkout (docs/stripe.md §3):
//! `customize_checkout` (shipping options, tax rates) and `finalize_checkout` (approve or
//! decline, application fee; 4-second deadline). Both are verified with the Agentic
//! Commerce Extension's secret, idempotent by request id, and scoped to the merchant the
//! request's `context` names.

pub mod customize;
pub mod finalize;
pub mod function;
pub mod request;

use std::time::Duration;

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::clock::Clock;
use crate::endpoint::HttpAnswer;
use crate::merchants::{Fallback, Merchant, is_account_id};
use crate::signature::Verifier;
use crate::store::{
    AgreementStore, Claim, IdempotencyStore, MerchantDirectory, SkuRecords, StockHolds, StoreError,
};
use request::{CUSTOMIZE, CustomizeData, Envelope, FINALIZE, FinalizeData};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hook {
    Customize,
    Finalize,
}

impl Hook {
    pub fn event_type(self) -> &'static str {
        match self {
            Hook::Customize => CUSTOMIZE,
            Hook::Finalize => FINALIZE,
        }
    }
}

pub struct HookService<M, S, I, C, G> {
    pub hook: Hook,
    pub verifier: Verifier,
    pub livemode: bool,
    pub merchants: M,
    pub store: S,
    pub idempotency: I,
    pub clock: C,
    /// Agreements, for merchants that sell only through agents they have confirmed.
    pub agreements: G,
    /// Our own deadline, inside Stripe's 4 s: past it we answer with the merchant's
    /// fail-open or fail-closed choice instead of risking Stripe's timeout (a decline).
    pub deadline: Duration,
    /// How long an approval keeps its stock without an order (STOCK_HOLD_MINUTES).
    pub hold_for: Duration,
}

impl<M, S, I, C, G> HookService<M, S, I, C, G>
where
    M: MerchantDirectory,
    S: SkuRecords + StockHolds,
    I: IdempotencyStore,
    C: Clock,
    G: AgreementStore,
{
    pub async fn receive(&self, raw_body: &[u8], signature: Option<&str>) -> HttpAnswer {
        if let Err(error) = self
            .verifier
            .verify(raw_body, signature, self.clock.now_seconds())
        {
            return HttpAnswer::error(400, "signature_verification_failed", error.to_string());
        }
        let envelope: Envelope = match serde_json::from_slice(raw_body) {
            Ok(e) => e,
            Err(e) => {
                return HttpAnswer::error(
                    400,
                    "invalid_request",
                    format!("the body is not a hook request: {e}"),
                );
            }
        };
        if envelope.kind != self.hook.event_type() {
            return HttpAnswer::error(
                400,
                "invalid_request",
                format!(
                    "this endpoint takes {}, not {:?}",
                    self.hook.event_type(),
                    envelope.kind
                ),
            );
        }
        if envelope.livemode != self.livemode {
            return HttpAnswer::error(
                400,
                "livemode_mismatch",
                "the request's livemode does not match this deployment",
            );
        }
        let Some(account) = envelope.context.clone().filter(|a| is_account_id(a)) else {
            return HttpAnswer::error(
                400,
                "invalid_request",
                "the request has no connected account in `context`",
            );
        };
        // Parse the data now, so a malformed request is refused before anything is stored.
        let parsed = match self.hook {
            Hook::Customize => serde_json::from_value::<CustomizeData>(envelope.data.clone())
                .map(Parsed::Customize),
            Hook::Finalize => {
                serde_json::from_value::<FinalizeData>(envelope.data.clone()).map(Parsed::Finalize)
            }
        };
        let parsed = match parsed {
            Ok(p) => p,
            Err(e) => {
                return HttpAnswer::error(
                    400,
                    "invalid_request",
                    format!("`data` is malformed: {e}"),
                );
            }
        };

        let merchant =
            match tokio::time::timeout(self.deadline, self.merchants.merchant(&account)).await {
                Ok(Ok(Some(m))) if m.enabled => m,
                Ok(Ok(_)) => {
                    return HttpAnswer::error(
                        404,
                        "unknown_merchant",
                        format!("{account} is not a merchant of this platform"),
                    );
                }
                Ok(Err(e)) => return self.unavailable(None, &parsed, &e.to_string()),
                Err(_) => {
                    return self.unavailable(
                        None,
                        &parsed,
                        "the merchant store did not answer in time",
                    );
                }
            };

        let key = format!(
            "hook:{}:{}:{}",
            self.hook.event_type(),
            account,
            envelope.id
        );
        let hash = hex::encode(Sha256::digest(raw_body));
        let started = self.clock.now_millis();
        let work = async {
            match self
                .idempotency
                .claim(&key, Some(&hash), self.clock.now_millis())
                .await?
            {
                Claim::Acquired => {}
                Claim::Completed(previous) => return Ok(Err(previous)),
                Claim::PayloadMismatch => {
                    return Ok(Ok(HttpAnswer::error(
                        409,
                        "idempotency_error",
                        "this request id was already used with a different body",
                    )));
                }
                Claim::InProgress => {
                    return Ok(Ok(HttpAnswer::error(
                        409,
                        "in_progress",
                        "this request is being answered; retry shortly",
                    )));
                }
            }
            let answer = match &parsed {
                Parsed::Customize(data) => {
                    let ids: Vec<String> = data
                        .line_item_details
                        .iter()
                        .filter_map(|l| l.sku_id.clone())
                        .collect();
                    let skus = self.store.skus(&account, &ids).await?;
                    customize::customize(&merchant.checkout, data, &skus)
                }
                Parsed::Finalize(data) => {
                    finalize::finalize(
                        &self.store,
                        &self.agreements,
                        &account,
                        &envelope.id,
                        &merchant.checkout,
                        data,
                        finalize::HoldTerms {
                            now_millis: self.clock.now_millis(),
                            hold_for: self.hold_for,
                        },
                    )
                    .await?
                }
            };
            let text = answer.to_string();
            if let Err(e) = self
                .idempotency
                .complete(&key, &text, self.clock.now_millis())
                .await
            {
                tracing::warn!(error = %e, "could not store the hook answer; a retry recomputes it");
            }
            Ok::<_, StoreError>(Ok(HttpAnswer::ok(answer)))
        };
        let outcome = tokio::time::timeout(self.deadline, work).await;
        let elapsed = self.clock.now_millis() - started;
        match outcome {
            Ok(Ok(Ok(answer))) => {
                tracing::info!(hook = self.hook.event_type(), account = %account, request = %envelope.id, elapsed_ms = elapsed, status = answer.status, "hook answered");
                answer
            }
            Ok(Ok(Err(previous))) => {
                tracing::info!(hook = self.hook.event_type(), account = %account, request = %envelope.id, "replayed answer");
                HttpAnswer::ok(serde_json::from_str(&previous).unwrap_or(Value::Null))
            }
            Ok(Err(e)) => {
                let _ = self.idempotency.release(&key).await;
                self.unavailable(Some(&merchant), &parsed, &e.to_string())
            }
            Err(_) => {
                // Let a retry compute a real answer; bounded, as the deadline has passed.
                let _ = tokio::time::timeout(
                    Duration::from_millis(200),
                    self.idempotency.release(&key),
                )
                .await;
                self.unavailable(Some(&merchant), &parsed, "the store did not answer in time")
            }
        }
    }

    /// The store could not answer: customize answers with nothing to add; finalize applies
    /// the merchant's fail-open or fail-closed choice (fail-closed when even the merchant
    /// could not be read).
    fn unavailable(&self, merchant: Option<&Merchant>, parsed: &Parsed, why: &str) -> HttpAnswer {
        tracing::error!(
            hook = self.hook.event_type(),
            error = why,
            "store unavailable; answering the fallback"
        );
        match parsed {
            Parsed::Customize(_) => HttpAnswer::ok(json!({})),
            Parsed::Finalize(data) => match merchant.map(|m| m.checkout.when_unavailable) {
                Some(Fallback::Approve) => HttpAnswer::ok(finalize::approved(
                    &merchant.map(|m| m.checkout.clone()).unwrap_or_default(),
                    data,
                )),
                _ => HttpAnswer::ok(finalize::declined(
                    "The store could not confirm this order in time. Please try again.",
                )),
            },
        }
    }
}

enum Parsed {
    Customize(CustomizeData),
    Finalize(FinalizeData),
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::clock::SystemClock;
    use crate::merchants::Merchant;
    use crate::secret::Secret;
    use crate::signature::sign_header;
    use crate::skus::{SkuChange, SkuRecord};
    use crate::store::memory::{
        MemoryAgreements, MemoryCatalog, MemoryIdempotency, MemoryMerchants,
    };

    const SECRET: &str = "whsec_unit_hooks";

    /// A store that never answers: what a stalled DynamoDB looks like from the hook.
    struct Stalled;

    impl SkuRecords for Stalled {
        async fn sku(&self, _: &str, _: &str) -> Result<Option<SkuRecord>, StoreError> {
            std::future::pending().await
        }
        async fn skus(
            &self,
            _: &str,
            _: &[String],
        ) -> Result<HashMap<String, SkuRecord>, StoreError> {
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
        async fn place(
            &self,
            _: &crate::holds::Hold,
        ) -> Result<crate::store::Placement, StoreError> {
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
    ) -> HookService<MemoryMerchants, Stalled, MemoryIdempotency, SystemClock, MemoryAgreements>
    {
        let mut merchant = Merchant::new("acct_1Unit");
        merchant.checkout.when_unavailable = fallback;
        HookService {
            hook: Hook::Finalize,
            verifier: Verifier::new(vec![Secret::new(SECRET)], 300),
            livemode: false,
            merchants: MemoryMerchants::with([merchant]),
            store: Stalled,
            idempotency: MemoryIdempotency::new(3600, 60),
            clock: SystemClock,
            agreements: MemoryAgreements::default(),
            deadline: Duration::from_millis(50),
            hold_for: Duration::from_secs(1800),
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
    -> HookService<MemoryMerchants, MemoryCatalog, MemoryIdempotency, SystemClock, MemoryAgreements>
    {
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
        };
        catalog
            .apply_sku_changes("acct_1Unit", "import-1", 0, &[SkuChange::Replace(mug)])
            .await
            .unwrap();
        HookService {
            hook: Hook::Finalize,
            verifier: Verifier::new(vec![Secret::new(SECRET)], 300),
            livemode: false,
            merchants: MemoryMerchants::with([Merchant::new("acct_1Unit")]),
            store: catalog,
            idempotency: MemoryIdempotency::new(3600, 60),
            clock: SystemClock,
            agreements: MemoryAgreements::default(),
            deadline: Duration::from_secs(2),
            hold_for: Duration::from_secs(1800),
        }
    }

    async fn available<M, I, C, G>(
        service: &HookService<M, MemoryCatalog, I, C, G>,
    ) -> Option<i64> {
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
}

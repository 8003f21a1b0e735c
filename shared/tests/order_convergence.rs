//! Whatever order Stripe delivers the events of one purchase in, duplicates included, the
//! stored order ends in the same state. Runs the real event-application code on the
//! in-memory store and a fake Stripe that serves a fixture session.

use std::collections::HashMap;

use proptest::prelude::*;
use serde_json::{Value, json};
use shared::store::OrderStore;
use shared::store::memory::MemoryOrders;
use shared::stripe::checkout::CheckoutSessionApi;
use shared::stripe::objects::{CheckoutSession, SnapshotEvent};
use shared::stripe::{ApiErrorBody, StripeError};
use shared::webhooks::orders::{EventOutcome, apply_event};

const ACCOUNT: &str = "acct_1Merchant";
const SESSION: &str = "cs_test_a1Fixture0rder";
const INTENT: &str = "pi_3Fixture";

struct FakeStripe {
    sessions: HashMap<(String, String), Value>,
}

impl FakeStripe {
    fn with_fixture() -> Self {
        let session: Value =
            serde_json::from_str(include_str!("fixtures/checkout_session_expanded.json")).unwrap();
        Self {
            sessions: HashMap::from([((ACCOUNT.to_string(), SESSION.to_string()), session)]),
        }
    }
}

fn not_found(id: &str) -> StripeError {
    StripeError::Api {
        status: 404,
        body: Box::new(ApiErrorBody {
            kind: "invalid_request_error".into(),
            code: Some("resource_missing".into()),
            message: Some(format!("No such checkout.session: '{id}'")),
            ..Default::default()
        }),
        request_id: None,
    }
}

impl CheckoutSessionApi for FakeStripe {
    async fn retrieve_for_order(
        &self,
        account: &str,
        session_id: &str,
    ) -> Result<CheckoutSession, StripeError> {
        let value = self
            .sessions
            .get(&(account.to_string(), session_id.to_string()))
            .ok_or_else(|| not_found(session_id))?;
        Ok(serde_json::from_value(value.clone()).unwrap())
    }

    async fn find_by_payment_intent(
        &self,
        account: &str,
        payment_intent_id: &str,
    ) -> Result<Option<String>, StripeError> {
        Ok(self
            .sessions
            .iter()
            .find(|((acct, _), s)| {
                acct == account && s["payment_intent"]["id"] == payment_intent_id
            })
            .map(|((_, id), _)| id.clone()))
    }
}

fn event(id: &str, kind: &str, created: i64, object: Value) -> SnapshotEvent {
    serde_json::from_value(json!({
        "id": id, "object": "event", "type": kind, "created": created, "livemode": false,
        "account": ACCOUNT, "data": {"object": object}
    }))
    .unwrap()
}

fn charge(amount_refunded: i64) -> Value {
    json!({"id": "ch_3Fixture", "object": "charge", "amount": 3748, "amount_captured": 3748,
           "amount_refunded": amount_refunded, "payment_intent": INTENT, "refunded": amount_refunded == 3748})
}

fn dispute(status: &str) -> Value {
    json!({"id": "dp_1Fixture", "object": "dispute", "amount": 3748, "currency": "usd", "charge": "ch_3Fixture",
           "payment_intent": INTENT, "reason": "fraudulent", "status": status})
}

/// One purchase's events: an earlier declined attempt, success, two partial refunds adding
/// up to the whole, a dispute opened and lost.
fn purchase_events() -> Vec<SnapshotEvent> {
    vec![
        event(
            "evt_completed",
            "checkout.session.completed",
            1_764_339_070,
            json!({"id": SESSION, "object": "checkout.session"}),
        ),
        event(
            "evt_failed",
            "payment_intent.payment_failed",
            1_764_339_050,
            json!({
                "id": INTENT, "object": "payment_intent", "status": "requires_payment_method", "amount_received": 0,
                "last_payment_error": {"code": "card_declined", "decline_code": "insufficient_funds", "message": "Your card has insufficient funds."}
            }),
        ),
        event(
            "evt_succeeded",
            "payment_intent.succeeded",
            1_764_339_065,
            json!({
                "id": INTENT, "object": "payment_intent", "status": "succeeded", "amount_received": 3748, "amount_capturable": 0
            }),
        ),
        event(
            "evt_refund_1",
            "charge.refunded",
            1_764_339_200,
            charge(1000),
        ),
        event(
            "evt_refund_2",
            "charge.refunded",
            1_764_339_300,
            charge(3748),
        ),
        event(
            "evt_dispute_open",
            "charge.dispute.created",
            1_764_339_400,
            dispute("needs_response"),
        ),
        event(
            "evt_dispute_review",
            "charge.dispute.updated",
            1_764_339_450,
            dispute("under_review"),
        ),
        event(
            "evt_dispute_lost",
            "charge.dispute.closed",
            1_764_339_500,
            dispute("lost"),
        ),
    ]
}

fn deliver(events: &[SnapshotEvent]) -> shared::orders::Order {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    runtime.block_on(async {
        let orders = MemoryOrders::default();
        let stripe = FakeStripe::with_fixture();
        for e in events {
            apply_event(&orders, &stripe, ACCOUNT, e).await.unwrap();
        }
        let all = orders.all();
        assert_eq!(
            all.len(),
            1,
            "exactly one order whatever the delivery order"
        );
        all.into_iter().next().unwrap()
    })
}

fn assert_final_state(order: &shared::orders::Order) {
    assert_eq!(order.payment.status, "succeeded");
    assert_eq!(order.payment.event_id.as_deref(), Some("evt_succeeded"));
    assert_eq!(order.payment.amount_received, Some(3748));
    assert_eq!(order.refund.amount_refunded, 3748);
    assert_eq!(order.refund.status, "full");
    let dispute = &order.disputes["dp_1Fixture"];
    assert_eq!(dispute.status, "lost");
    assert_eq!(dispute.event_id, "evt_dispute_lost");
    // The base record is the same however it was created.
    assert_eq!(order.checkout_session_id, SESSION);
    assert_eq!(order.lines[0].sku.as_deref(), Some("MUG-TRAIL-12"));
}

#[test]
fn in_order_delivery_reaches_the_final_state() {
    assert_final_state(&deliver(&purchase_events()));
}

#[test]
fn fully_reversed_delivery_reaches_the_same_state() {
    let mut events = purchase_events();
    events.reverse();
    assert_final_state(&deliver(&events));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]
    #[test]
    fn any_order_with_duplicates_converges(
        order in Just((0..8usize).collect::<Vec<_>>()).prop_shuffle(),
        duplicates in proptest::collection::vec(0..8usize, 0..6),
        dup_positions in proptest::collection::vec(any::<proptest::sample::Index>(), 6),
    ) {
        let base = purchase_events();
        let mut sequence: Vec<SnapshotEvent> = order.iter().map(|&i| base[i].clone()).collect();
        for (n, &d) in duplicates.iter().enumerate() {
            let at = dup_positions[n].index(sequence.len() + 1);
            sequence.insert(at, base[d].clone());
        }
        assert_final_state(&deliver(&sequence));
    }
}

#[test]
fn payment_event_before_completion_creates_the_order_from_stripe() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    runtime.block_on(async {
        let orders = MemoryOrders::default();
        let stripe = FakeStripe::with_fixture();
        let events = purchase_events();
        let outcome = apply_event(&orders, &stripe, ACCOUNT, &events[2])
            .await
            .unwrap();
        assert!(
            matches!(outcome, EventOutcome::StateUpdated { .. }),
            "{outcome:?}"
        );
        let order = orders
            .get(ACCOUNT, SESSION)
            .await
            .unwrap()
            .expect("order created from Stripe");
        assert_eq!(order.payment.event_id.as_deref(), Some("evt_succeeded"));
        let outcome = apply_event(&orders, &stripe, ACCOUNT, &events[0])
            .await
            .unwrap();
        assert!(
            matches!(outcome, EventOutcome::OrderAlreadyExisted { .. }),
            "{outcome:?}"
        );
    });
}

#[test]
fn another_accounts_payment_is_not_attached_to_this_order() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    runtime.block_on(async {
        let orders = MemoryOrders::default();
        let stripe = FakeStripe::with_fixture();
        apply_event(&orders, &stripe, ACCOUNT, &purchase_events()[0])
            .await
            .unwrap();
        // The same payment intent id announced under another connected account.
        let foreign = purchase_events()[2].clone();
        let outcome = apply_event(&orders, &stripe, "acct_1Other", &foreign)
            .await
            .unwrap();
        assert!(
            matches!(outcome, EventOutcome::Ignored { .. }),
            "{outcome:?}"
        );
        let order = orders.get(ACCOUNT, SESSION).await.unwrap().unwrap();
        assert_eq!(
            order.payment.event_id, None,
            "untouched by the other account's event"
        );
        assert!(orders.list("acct_1Other", 10).await.unwrap().is_empty());
    });
}

#[test]
fn unknown_session_is_an_invalid_event_not_a_silent_success() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    runtime.block_on(async {
        let orders = MemoryOrders::default();
        let stripe = FakeStripe::with_fixture();
        let e = event(
            "evt_x",
            "checkout.session.completed",
            1,
            json!({"id": "cs_test_missing"}),
        );
        let err = apply_event(&orders, &stripe, ACCOUNT, &e)
            .await
            .unwrap_err();
        assert!(err.to_string().contains("cs_test_missing"), "{err}");
        assert!(orders.all().is_empty());
    });
}

#[test]
fn order_holds_every_field_of_the_stripe_md_table() {
    let order = deliver(&purchase_events()[..1]);
    assert_eq!(order.order_date, Some(1_764_339_060));
    assert_eq!(order.order_number.as_deref(), Some("1843-2291"));
    let line = &order.lines[0];
    assert_eq!(
        (line.quantity, line.sku.as_deref()),
        (2, Some("MUG-TRAIL-12"))
    );
    assert_eq!(
        line.description.as_deref(),
        Some("12 oz enamel camping mug")
    );
    assert_eq!(line.unit_amount, Some(1500));
    assert_eq!(line.taxes[0].amount, 248);
    assert_eq!(line.taxes[0].tax_type.as_deref(), Some("sales_tax"));
    assert_eq!(line.taxes[0].rate_percentage.as_deref(), Some("8.25"));
    assert_eq!(
        order.shipping_address().and_then(|a| a.line2.as_deref()),
        Some("Suite 5")
    );
    assert_eq!(
        order
            .billing
            .as_ref()
            .and_then(|b| b.address.as_ref())
            .and_then(|a| a.city.as_deref()),
        Some("Oakland")
    );
    let card = order.card.as_ref().unwrap();
    assert_eq!(
        (
            card.last4.as_deref(),
            card.exp_month,
            card.exp_year,
            card.brand.as_deref()
        ),
        (Some("4242"), Some(12), Some(2030), Some("visa"))
    );
    assert_eq!(order.amount_total, Some(3748));
    assert_eq!(
        (line.gtin.as_deref(), line.mpn.as_deref()),
        (Some("00012345678905"), Some("TM-12"))
    );
    assert_eq!(
        order.agent_details.as_ref().unwrap()["agent_name"],
        "ChatGPT"
    );
}

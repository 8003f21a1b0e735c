//! Order events: what the bundle tells the platform's fulfillment when an order changes,
//! published to the bundle's EventBridge bus after the order write succeeded.
//!
//! Every event carries a stable `event_id`: a hash of what changed, never of when it was
//! published. An order's creation has one id whichever path recorded it (a
//! `checkout.session.completed` webhook, a payment event that overtook it, or the
//! reconciliation); a state change has the id of the Stripe event that caused it. A
//! redelivered Stripe event, or a publish retried after a failure, therefore repeats the
//! same id, and consumers deduplicate on it. Amounts are integer minor units.

use std::future::Future;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{DisputeFact, Order, PaymentFact, RefundFact};

/// `detail-type` values.
pub const ORDER_CREATED: &str = "order.created";
pub const ORDER_PAID: &str = "order.paid";
pub const ORDER_AUTHORIZED: &str = "order.authorized";
pub const ORDER_PAYMENT_FAILED: &str = "order.payment_failed";
pub const ORDER_CANCELED: &str = "order.canceled";
pub const ORDER_PAYMENT_PROCESSING: &str = "order.payment_processing";
pub const ORDER_REFUNDED: &str = "order.refunded";
pub const ORDER_DISPUTED: &str = "order.disputed";

/// Which path recorded the change (informational: the id does not depend on it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventSource {
    Webhook,
    Reconciliation,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DisputeDetail {
    pub dispute_id: String,
    pub status: String,
    pub reason: Option<String>,
    pub amount: Option<i64>,
}

/// One event; serialised whole as the EventBridge `Detail`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderEvent {
    /// Stable: the same change always has the same id (see the module docs).
    pub event_id: String,
    /// The EventBridge `detail-type` (`order.created`, `order.paid`, ...).
    pub detail_type: String,
    /// The order's id: its checkout session (unique at Stripe), under `account_id`.
    pub order_id: String,
    pub account_id: String,
    pub checkout_session_id: String,
    pub payment_intent_id: Option<String>,
    pub livemode: bool,
    pub currency: Option<String>,
    /// Minor units.
    pub amount_total: Option<i64>,
    pub amount_received: Option<i64>,
    /// Cumulative, minor units.
    pub amount_refunded: Option<i64>,
    pub payment_status: Option<String>,
    pub refund_status: Option<String>,
    pub dispute: Option<DisputeDetail>,
    /// The Stripe event behind a state change (none for a creation).
    pub stripe_event_id: Option<String>,
    pub source: EventSource,
}

/// A stable id: SHA-256 of the parts, newline-separated, first 32 hex digits.
fn stable_id(parts: &[&str]) -> String {
    let mut hash = Sha256::new();
    for part in parts {
        hash.update(part.as_bytes());
        hash.update(b"\n");
    }
    hex::encode(hash.finalize())[..32].to_string()
}

impl OrderEvent {
    fn about(order: &Order, detail_type: &str, event_id: String, source: EventSource) -> Self {
        Self {
            event_id,
            detail_type: detail_type.to_string(),
            order_id: order.checkout_session_id.clone(),
            account_id: order.account_id.clone(),
            checkout_session_id: order.checkout_session_id.clone(),
            payment_intent_id: order.payment_intent_id.clone(),
            livemode: order.livemode,
            currency: order.currency.clone(),
            amount_total: order.amount_total,
            amount_received: order.payment.amount_received,
            amount_refunded: Some(order.refund.amount_refunded),
            payment_status: Some(order.payment.status.clone()),
            refund_status: Some(order.refund.status.clone()),
            dispute: None,
            stripe_event_id: None,
            source,
        }
    }

    /// The order was recorded. One id per order, whichever path recorded it.
    pub fn created(order: &Order, source: EventSource) -> Self {
        let id = stable_id(&[ORDER_CREATED, &order.account_id, &order.checkout_session_id]);
        Self::about(order, ORDER_CREATED, id, source)
    }

    fn transition(order: &Order, detail_type: &str, stripe_event_id: &str) -> Self {
        let id = stable_id(&[
            detail_type,
            &order.account_id,
            &order.checkout_session_id,
            stripe_event_id,
        ]);
        let mut event = Self::about(order, detail_type, id, EventSource::Webhook);
        event.stripe_event_id = Some(stripe_event_id.to_string());
        event
    }

    /// The payment state `fact` (set by a Stripe event) was stored on `order`. None for a
    /// fact no event set (read from a retrieved session) or that no consumer acts on
    /// (`pending`, `expired`: an expired session has no order).
    pub fn payment(order: &Order, fact: &PaymentFact) -> Option<Self> {
        let detail_type = match fact.status.as_str() {
            "succeeded" => ORDER_PAID,
            "authorized" => ORDER_AUTHORIZED,
            "failed" => ORDER_PAYMENT_FAILED,
            "canceled" => ORDER_CANCELED,
            "processing" => ORDER_PAYMENT_PROCESSING,
            _ => return None,
        };
        let mut event = Self::transition(order, detail_type, fact.event_id.as_deref()?);
        event.payment_status = Some(fact.status.clone());
        event.amount_received = fact.amount_received.or(event.amount_received);
        Some(event)
    }

    /// The cumulative refund `fact` was stored on `order`.
    pub fn refund(order: &Order, fact: &RefundFact) -> Option<Self> {
        let mut event = Self::transition(order, ORDER_REFUNDED, fact.event_id.as_deref()?);
        event.amount_refunded = Some(fact.amount_refunded);
        event.refund_status = Some(fact.status.clone());
        Some(event)
    }

    /// The dispute `fact` was stored on `order`.
    pub fn dispute(order: &Order, fact: &DisputeFact) -> Self {
        let mut event = Self::transition(order, ORDER_DISPUTED, &fact.event_id);
        event.dispute = Some(DisputeDetail {
            dispute_id: fact.dispute_id.clone(),
            status: fact.status.clone(),
            reason: fact.reason.clone(),
            amount: fact.amount,
        });
        event
    }
}

/// A publish that did not reach its destination: the events that were not accepted.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message} ({} event(s) not published)", failed.len())]
pub struct PublishError {
    pub failed: Vec<OrderEvent>,
    pub message: String,
}

/// Where order events go: the bus (with its dead-letter queue), or nowhere.
pub trait OrderEventSink: Send + Sync {
    /// Publishes every event, or fails with the ones that were not accepted.
    fn publish(
        &self,
        events: &[OrderEvent],
    ) -> impl Future<Output = Result<(), PublishError>> + Send;
}

/// A deployment without a bus publishes nothing (the Orders table's stream still has every
/// change).
impl<T: OrderEventSink> OrderEventSink for Option<T> {
    async fn publish(&self, events: &[OrderEvent]) -> Result<(), PublishError> {
        match self {
            Some(inner) => inner.publish(events).await,
            None => Ok(()),
        }
    }
}

/// No bus (tests and callers that only record orders).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoOrderEvents;

impl OrderEventSink for NoOrderEvents {
    async fn publish(&self, _: &[OrderEvent]) -> Result<(), PublishError> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::orders::state::ordering_key;

    fn order(account: &str, session: &str) -> Order {
        serde_json::from_value(serde_json::json!({
            "account_id": account, "checkout_session_id": session,
            "payment_intent_id": "pi_1", "charge_id": null, "livemode": false,
            "order_date": null, "order_number": null, "currency": "usd",
            "amount_total": 3748, "amount_subtotal": 3000, "total_details": null,
            "lines": [], "shipping": null, "billing": null, "card": null,
            "capture_method": null, "agent_details": null,
            "payment": {"status": "pending", "amount_received": null, "amount_capturable": null,
                        "failure_code": null, "failure_message": null, "event_id": null, "ordering_key": 0},
            "refund": {"amount_refunded": 0, "status": "none", "event_id": null}
        }))
        .unwrap()
    }

    #[test]
    fn a_creation_has_one_id_per_order_whichever_path_recorded_it() {
        let a = order("acct_1A", "cs_1");
        let by_webhook = OrderEvent::created(&a, EventSource::Webhook);
        let by_reconciliation = OrderEvent::created(&a, EventSource::Reconciliation);
        assert_eq!(by_webhook.event_id, by_reconciliation.event_id);
        assert_eq!(by_webhook.event_id.len(), 32);
        assert_eq!(by_webhook.amount_total, Some(3748));
        assert_ne!(
            by_webhook.event_id,
            OrderEvent::created(&order("acct_1B", "cs_1"), EventSource::Webhook).event_id,
            "another account's session is another order"
        );
    }

    #[test]
    fn a_transition_repeats_its_id_for_the_same_stripe_event_only() {
        let o = order("acct_1A", "cs_1");
        let paid = |event: &str| {
            let mut fact = PaymentFact::new("succeeded", 10, Some(event));
            fact.amount_received = Some(3748);
            OrderEvent::payment(&o, &fact).unwrap()
        };
        assert_eq!(paid("evt_1").event_id, paid("evt_1").event_id);
        assert_ne!(paid("evt_1").event_id, paid("evt_2").event_id);
        assert_eq!(paid("evt_1").detail_type, ORDER_PAID);
        assert_eq!(paid("evt_1").amount_received, Some(3748));
        // A fact read from a retrieved session (no event) is covered by order.created.
        assert!(OrderEvent::payment(&o, &PaymentFact::new("succeeded", 0, None)).is_none());
        assert!(OrderEvent::payment(&o, &PaymentFact::new("expired", 1, Some("evt_3"))).is_none());
        let refund = RefundFact {
            amount_refunded: 500,
            status: "partial".into(),
            event_id: Some("evt_4".into()),
        };
        let refunded = OrderEvent::refund(&o, &refund).unwrap();
        assert_eq!(
            (refunded.detail_type.as_str(), refunded.amount_refunded),
            (ORDER_REFUNDED, Some(500))
        );
        let dispute = DisputeFact {
            dispute_id: "dp_1".into(),
            status: "needs_response".into(),
            reason: Some("fraudulent".into()),
            amount: Some(3748),
            currency: Some("usd".into()),
            event_id: "evt_5".into(),
            ordering_key: ordering_key(0, 5),
        };
        let disputed = OrderEvent::dispute(&o, &dispute);
        assert_eq!(disputed.detail_type, ORDER_DISPUTED);
        assert_eq!(disputed.dispute.unwrap().amount, Some(3748));
    }
}

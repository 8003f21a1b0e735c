//! Payment, refund and dispute state that converges whatever order Stripe's events arrive
//! in, duplicates included.
//!
//! Each kind of state is a join-semilattice: a new fact replaces the stored one only when
//! its ordering key is greater. The key puts the status's rank first (a succeeded payment
//! is never undone by a late `payment_failed` from an earlier attempt; a closed dispute is
//! never reopened by a late `updated`) and the event's `created` second (among facts of one
//! rank, the latest wins). Taking a maximum is commutative, associative and idempotent, so
//! every delivery order ends in the same state. The stores apply it with a conditional
//! write, never with read-then-write.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::stripe::objects::{Charge, CheckoutSession, Dispute, PaymentIntent};

/// Rank and event time packed into one integer that DynamoDB can compare in a condition.
pub fn ordering_key(rank: i64, created: i64) -> i64 {
    rank * 10_000_000_000_000 + created.clamp(0, 9_999_999_999_999)
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PaymentFact {
    /// `pending`, `failed`, `expired`, `processing`, `authorized`, `canceled`, `succeeded`.
    pub status: String,
    pub amount_received: Option<i64>,
    pub amount_capturable: Option<i64>,
    pub failure_code: Option<String>,
    pub failure_message: Option<String>,
    /// The event that set this (none when read from a retrieved object).
    pub event_id: Option<String>,
    pub ordering_key: i64,
}

fn payment_rank(status: &str) -> i64 {
    match status {
        "pending" => 0,
        "failed" | "expired" => 1,
        "processing" => 2,
        "authorized" => 3,
        "canceled" => 4,
        "succeeded" => 5,
        _ => 0,
    }
}

/// Maps a PaymentIntent status to ours.
fn from_intent_status(status: Option<&str>) -> &'static str {
    match status {
        Some("succeeded") => "succeeded",
        Some("requires_capture") => "authorized",
        Some("processing") => "processing",
        Some("canceled") => "canceled",
        _ => "pending",
    }
}

impl PaymentFact {
    pub fn new(status: &str, created: i64, event_id: Option<&str>) -> Self {
        Self {
            status: status.to_string(),
            amount_received: None,
            amount_capturable: None,
            failure_code: None,
            failure_message: None,
            event_id: event_id.map(str::to_string),
            ordering_key: ordering_key(payment_rank(status), created),
        }
    }

    /// The state a freshly retrieved session shows. Ordering time 0: any event of the same
    /// rank carries at least as much detail and wins.
    pub fn from_session(session: &CheckoutSession) -> Self {
        let intent = session.payment_intent.as_ref().and_then(|pi| pi.object());
        let status = match (intent, session.payment_status.as_deref()) {
            (Some(pi), _) => from_intent_status(pi.status.as_deref()),
            (None, Some("paid" | "no_payment_required")) => "succeeded",
            (None, _) => "pending",
        };
        let mut fact = Self::new(status, 0, None);
        if let Some(pi) = intent {
            fact.amount_received = pi.amount_received;
            fact.amount_capturable = pi.amount_capturable;
        }
        fact
    }

    /// From `payment_intent.succeeded` or `payment_intent.payment_failed`.
    pub fn from_intent_event(
        intent: &PaymentIntent,
        event_type: &str,
        created: i64,
        event_id: &str,
    ) -> Self {
        let status = if event_type == "payment_intent.payment_failed" {
            "failed"
        } else {
            from_intent_status(intent.status.as_deref())
        };
        let mut fact = Self::new(status, created, Some(event_id));
        fact.amount_received = intent.amount_received;
        fact.amount_capturable = intent.amount_capturable;
        if status == "failed" {
            let error = intent.last_payment_error.as_ref();
            let text = |k: &str| {
                error
                    .and_then(|e| e.get(k))
                    .and_then(Value::as_str)
                    .map(str::to_string)
            };
            fact.failure_code = text("decline_code").or_else(|| text("code"));
            fact.failure_message = text("message");
        }
        fact
    }

    pub fn supersedes(&self, other: &PaymentFact) -> bool {
        self.ordering_key > other.ordering_key
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RefundFact {
    /// Cumulative, minor units: Stripe's `charge.amount_refunded` only grows.
    pub amount_refunded: i64,
    /// `none`, `partial` or `full`, derived from the amount when it was written.
    pub status: String,
    pub event_id: Option<String>,
}

impl RefundFact {
    pub fn from_charge(charge: Option<&Charge>, _created: i64) -> Self {
        let refunded = charge.and_then(|c| c.amount_refunded).unwrap_or(0).max(0);
        let captured = charge
            .and_then(|c| c.amount_captured.or(c.amount))
            .unwrap_or(0);
        Self {
            amount_refunded: refunded,
            status: refund_status(refunded, captured).to_string(),
            event_id: None,
        }
    }

    pub fn from_charge_event(charge: &Charge, event_id: &str) -> Self {
        let mut fact = Self::from_charge(Some(charge), 0);
        fact.event_id = Some(event_id.to_string());
        fact
    }

    pub fn supersedes(&self, other: &RefundFact) -> bool {
        self.amount_refunded > other.amount_refunded
    }
}

fn refund_status(refunded: i64, captured: i64) -> &'static str {
    if refunded <= 0 {
        "none"
    } else if captured > 0 && refunded >= captured {
        "full"
    } else {
        "partial"
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DisputeFact {
    pub dispute_id: String,
    pub status: String,
    pub reason: Option<String>,
    pub amount: Option<i64>,
    pub currency: Option<String>,
    pub event_id: String,
    pub ordering_key: i64,
}

fn dispute_rank(status: &str) -> i64 {
    match status {
        "warning_needs_response" | "needs_response" => 0,
        "warning_under_review" | "under_review" => 1,
        // Closed: final.
        "warning_closed" | "won" | "lost" | "prevented" => 2,
        _ => 0,
    }
}

impl DisputeFact {
    pub fn from_event(dispute: &Dispute, created: i64, event_id: &str) -> Self {
        let status = dispute
            .status
            .clone()
            .unwrap_or_else(|| "needs_response".into());
        Self {
            dispute_id: dispute.id.clone(),
            ordering_key: ordering_key(dispute_rank(&status), created),
            status,
            reason: dispute.reason.clone(),
            amount: dispute.amount,
            currency: dispute.currency.clone(),
            event_id: event_id.to_string(),
        }
    }

    pub fn supersedes(&self, other: &DisputeFact) -> bool {
        self.ordering_key > other.ordering_key
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_late_failure_never_undoes_a_success() {
        let succeeded = PaymentFact::new("succeeded", 100, Some("evt_a"));
        let failed_later = PaymentFact::new("failed", 200, Some("evt_b"));
        assert!(succeeded.supersedes(&failed_later));
        assert!(!failed_later.supersedes(&succeeded));
    }

    #[test]
    fn within_a_rank_the_latest_event_wins_and_duplicates_do_nothing() {
        let first = PaymentFact::new("failed", 100, Some("evt_a"));
        let second = PaymentFact::new("failed", 101, Some("evt_b"));
        assert!(second.supersedes(&first));
        assert!(!first.supersedes(&first.clone()));
    }

    #[test]
    fn retrieved_state_yields_to_events_of_the_same_rank() {
        let retrieved = PaymentFact::new("succeeded", 0, None);
        let event = PaymentFact::new("succeeded", 5, Some("evt"));
        assert!(event.supersedes(&retrieved));
    }

    #[test]
    fn closed_disputes_stay_closed() {
        let d = |status: &str, created| {
            DisputeFact::from_event(
                &Dispute {
                    id: "dp_1".into(),
                    status: Some(status.into()),
                    reason: None,
                    amount: Some(100),
                    currency: None,
                    charge: None,
                    payment_intent: None,
                },
                created,
                "evt",
            )
        };
        assert!(d("lost", 10).supersedes(&d("under_review", 20)));
        assert!(d("under_review", 10).supersedes(&d("needs_response", 20)));
    }

    #[test]
    fn refund_status_follows_the_amount() {
        assert_eq!(refund_status(0, 1000), "none");
        assert_eq!(refund_status(300, 1000), "partial");
        assert_eq!(refund_status(1000, 1000), "full");
    }
}

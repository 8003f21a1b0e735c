//! Receiving Stripe's snapshot webhooks: verify the raw bytes, deduplicate by event id,
//! apply, and answer 2xx only once the effect is durable.
//!
//! Answers fit Stripe's retries (docs/stripe.md §4.2): 400 only for what is not Stripe's
//! (no valid signature); 5xx for what a retry can fix (a store or Stripe unavailable,
//! another delivery of the same event in flight); 200 for everything else: events handled,
//! events deliberately ignored, and genuine events that cannot be processed (wrong mode,
//! unreadable, an object Stripe no longer has), which are first kept as dead letters for
//! an operator (`crate::dead_letters`).

pub mod orders;

use serde_json::{Value, json};

use crate::clock::Clock;
use crate::dead_letters::{DeadLetter, LOG_MESSAGE};
use crate::endpoint::HttpAnswer;
use crate::metrics::Metrics;
use crate::orders::OrderEventSink;
use crate::signature::Verifier;
use crate::store::{Claim, DeadLetterStore, IdempotencyStore, OrderStore, StockHolds};
use crate::stripe::checkout::CheckoutSessionApi;
use crate::stripe::objects::SnapshotEvent;
use crate::uploader::ImportEvents;
use orders::{ApplyError, HANDLED_EVENT_TYPES, OrderPorts, apply_event_published};

/// v1 catalog import events: they finish the import at once; the poll stays the base.
pub const IMPORT_SET_EVENT_TYPES: &[&str] = &[
    "data_management.import_set.succeeded",
    "data_management.import_set.failed",
];

pub struct SnapshotWebhooks<O, I, A, C, R, P, D, E> {
    pub verifier: Verifier,
    pub livemode: bool,
    pub orders: O,
    pub idempotency: I,
    pub stripe: A,
    pub clock: C,
    /// Stock held by approved checkouts, released when a session expires or its payment fails.
    pub stock: R,
    /// Catalog imports, when this deployment runs the uploader's stores here too.
    pub imports: P,
    /// Genuine events that cannot be processed are kept here for an operator.
    pub dead_letters: D,
    /// Where order changes are published once stored (the bus, with its dead-letter queue).
    pub order_events: E,
}

impl<O, I, A, C, R, P, D, E> SnapshotWebhooks<O, I, A, C, R, P, D, E>
where
    E: OrderEventSink,
    P: ImportEvents,
    D: DeadLetterStore,
    O: OrderStore,
    I: IdempotencyStore,
    A: CheckoutSessionApi,
    C: Clock,
    R: StockHolds,
{
    pub async fn receive(&self, raw_body: &[u8], signature: Option<&str>) -> HttpAnswer {
        if let Err(error) = self
            .verifier
            .verify(raw_body, signature, self.clock.now_seconds())
        {
            tracing::warn!(error = %error, "webhook signature verification failed");
            return HttpAnswer::error(400, "signature_verification_failed", error.to_string());
        }
        let envelope: Value = match serde_json::from_slice(raw_body) {
            Ok(v) => v,
            Err(e) => {
                return self
                    .keep_for_operator(raw_body, &format!("the body is not JSON: {e}"))
                    .await;
            }
        };
        if envelope.get("object").and_then(Value::as_str) == Some("v2.core.event") {
            return self
                .keep_for_operator(
                    raw_body,
                    "a thin (v2) event signed for the webhook endpoint: point that event destination at /stripe/events",
                )
                .await;
        }
        let event: SnapshotEvent = match serde_json::from_value(envelope) {
            Ok(e) => e,
            Err(e) => {
                return self
                    .keep_for_operator(raw_body, &format!("not a Stripe snapshot event: {e}"))
                    .await;
            }
        };
        if event.livemode != self.livemode {
            let reason = format!(
                "a {} event, but this deployment serves {} mode",
                mode(event.livemode),
                mode(self.livemode)
            );
            return self.keep_for_operator(raw_body, &reason).await;
        }
        if IMPORT_SET_EVENT_TYPES.contains(&event.kind.as_str()) {
            return self.import_set_event(&event).await;
        }
        if !HANDLED_EVENT_TYPES.contains(&event.kind.as_str()) {
            tracing::info!(event_id = %event.id, event_type = %event.kind, "event type not handled; acknowledged");
            return HttpAnswer::ok(
                json!({"received": true, "handled": false, "reason": "event type not handled"}),
            );
        }
        let Some(account) = event.account.clone().filter(|a| a.starts_with("acct_")) else {
            tracing::info!(event_id = %event.id, event_type = %event.kind, "event not from a connected account; acknowledged");
            return HttpAnswer::ok(
                json!({"received": true, "handled": false, "reason": "not from a connected account"}),
            );
        };

        let key = format!("webhook:{}", event.id);
        match self
            .idempotency
            .claim(&key, None, self.clock.now_millis())
            .await
        {
            Ok(Claim::Acquired) => {}
            Ok(Claim::Completed(previous)) => {
                tracing::info!(event_id = %event.id, "duplicate delivery; already applied");
                let outcome = serde_json::from_str(&previous).unwrap_or(Value::Null);
                return HttpAnswer::ok(
                    json!({"received": true, "duplicate": true, "outcome": outcome}),
                );
            }
            // Another delivery of this event is being applied: Stripe comes back later.
            // (Webhook claims carry no payload hash, so a mismatch is one of these too.)
            Ok(Claim::InProgress | Claim::PayloadMismatch) => {
                return HttpAnswer::error(
                    503,
                    "in_progress",
                    format!("event {} is being processed; retry later", event.id),
                );
            }
            Err(e) => {
                tracing::error!(event_id = %event.id, error = %e, "idempotency store unavailable");
                return HttpAnswer::error(
                    503,
                    "store_unavailable",
                    "the event store is unavailable; retry later",
                );
            }
        }

        let ports = OrderPorts {
            orders: &self.orders,
            stripe: &self.stripe,
            stock: &self.stock,
            events: &self.order_events,
        };
        let result = apply_event_published(&ports, &account, &event).await;
        if let Err(ApplyError::Invalid(message)) = &result {
            // A retry cannot fix it: kept for an operator, and the claim completed so
            // redeliveries stop here. If it cannot be kept, Stripe retries (5xx).
            let answer = self.keep_for_operator(raw_body, message).await;
            if answer.status == 200 {
                let kept = json!({"dead_letter": true, "reason": message});
                let _ = self
                    .idempotency
                    .complete(&key, &kept.to_string(), self.clock.now_millis())
                    .await;
            } else {
                let _ = self.idempotency.release(&key).await;
            }
            return answer;
        }
        match result {
            Ok(outcome) => {
                let outcome_json = serde_json::to_value(&outcome).unwrap_or(Value::Null);
                tracing::info!(event_id = %event.id, event_type = %event.kind, account = %account, outcome = %outcome_json, "event applied");
                if let Err(e) = self
                    .idempotency
                    .complete(&key, &outcome_json.to_string(), self.clock.now_millis())
                    .await
                {
                    // The effect is durable and idempotent; a redelivery re-applies it harmlessly.
                    tracing::warn!(event_id = %event.id, error = %e, "could not mark the event completed");
                }
                HttpAnswer::ok(json!({"received": true, "handled": true, "outcome": outcome_json}))
            }
            Err(error) => {
                if let Err(e) = self.idempotency.release(&key).await {
                    tracing::warn!(event_id = %event.id, error = %e, "could not release the claim; it expires on its own");
                }
                match error {
                    ApplyError::Transient(message) => {
                        tracing::error!(event_id = %event.id, event_type = %event.kind, account = %account, error = %message, "event failed; Stripe will redeliver");
                        HttpAnswer::error(
                            500,
                            "api_error",
                            "the event could not be applied now; it will be retried",
                        )
                    }
                    // Kept for an operator above.
                    ApplyError::Invalid(message) => HttpAnswer::error(500, "api_error", message),
                }
            }
        }
    }

    async fn keep_for_operator(&self, raw_body: &[u8], reason: &str) -> HttpAnswer {
        keep_for_operator(
            &self.dead_letters,
            "webhooks",
            raw_body,
            reason,
            self.clock.now_millis(),
        )
        .await
    }

    /// A v1 import set finished: move its feed forward now. Moving a feed forward is
    /// idempotent, so these events need no deduplication.
    async fn import_set_event(&self, event: &SnapshotEvent) -> HttpAnswer {
        let account = event.account.clone().filter(|a| a.starts_with("acct_"));
        let import_set = event.data.object.get("id").and_then(Value::as_str);
        let (Some(account), Some(import_set)) = (account, import_set) else {
            return HttpAnswer::ok(
                json!({"received": true, "handled": false, "reason": "not a connected account's import set"}),
            );
        };
        match self.imports.import_changed(&account, import_set).await {
            Ok(status) => {
                tracing::info!(event_id = %event.id, event_type = %event.kind, account = %account, import_set, status = ?status, "import set event applied");
                HttpAnswer::ok(
                    json!({"received": true, "handled": status.is_some(), "import_status": status}),
                )
            }
            Err(message) => {
                tracing::error!(event_id = %event.id, error = %message, "import set event failed; Stripe will redeliver");
                HttpAnswer::error(
                    500,
                    "api_error",
                    "the import could not be updated now; it will be retried",
                )
            }
        }
    }
}

/// What the operator's alarms watch, read from the answer itself so every path counts:
/// `WebhookRejected` (4xx, by error; a wrong signing secret shows as
/// `signature_verification_failed`), `WebhookFailed` (5xx: Stripe retries),
/// `DeadLetters`, `OrdersRecorded` and `EventsApplied` (by what the event did).
pub fn record(metrics: &Metrics, route: &str, answer: &HttpAnswer) {
    let route = if route.ends_with("/events") {
        "events"
    } else {
        "webhooks"
    };
    let error = answer.body["error"]["type"].as_str().unwrap_or("unknown");
    if answer.status >= 500 {
        metrics.count("WebhookFailed", &[("Route", route), ("Error", error)]);
        return;
    }
    if answer.status >= 400 {
        metrics.count("WebhookRejected", &[("Route", route), ("Error", error)]);
        return;
    }
    if answer.body["dead_letter"] == Value::Bool(true) {
        metrics.count("DeadLetters", &[("Route", route)]);
        return;
    }
    if answer.body["duplicate"] == Value::Bool(true) || answer.body["handled"] != Value::Bool(true)
    {
        return;
    }
    let action = answer.body["outcome"]["action"]
        .as_str()
        .unwrap_or("handled");
    if action == "order_created" {
        metrics.count("OrdersRecorded", &[]);
    }
    metrics.count("EventsApplied", &[("Route", route), ("Type", action)]);
}

fn mode(livemode: bool) -> &'static str {
    if livemode { "live" } else { "test" }
}

/// Keeps a genuine event that cannot be processed, then answers 2xx so Stripe stops
/// retrying it; if it cannot be kept, answers 5xx so Stripe keeps it instead.
pub(crate) async fn keep_for_operator<D: DeadLetterStore>(
    store: &D,
    route: &str,
    raw_body: &[u8],
    reason: &str,
    now_millis: i64,
) -> HttpAnswer {
    let letter = DeadLetter::of(route, raw_body, reason, now_millis);
    match store.keep(&letter).await {
        Ok(()) => {
            tracing::error!(
                event_id = %letter.event_id,
                event_type = letter.event_type.as_deref().unwrap_or(""),
                account = %letter.account_id,
                route,
                reason,
                "{LOG_MESSAGE}"
            );
            HttpAnswer::ok(json!({
                "received": true,
                "handled": false,
                "dead_letter": true,
                "reason": reason,
            }))
        }
        Err(e) => {
            tracing::error!(event_id = %letter.event_id, reason, error = %e, "an event that cannot be processed could not be kept either; answering 503 so Stripe retries");
            HttpAnswer::error(
                503,
                "store_unavailable",
                "the event cannot be processed and could not be kept for an operator; retry later",
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use orders::EventOutcome;

    #[test]
    fn every_kind_of_answer_is_counted_where_an_alarm_can_see_it() {
        let (metrics, recorded) = Metrics::recording("webhooks");
        let created = serde_json::to_value(EventOutcome::OrderCreated {
            checkout_session_id: "cs_1".into(),
        })
        .unwrap();
        let updated = serde_json::to_value(EventOutcome::StateUpdated {
            checkout_session_id: "cs_1".into(),
            state: "paid",
        })
        .unwrap();
        let answers = [
            HttpAnswer::error(400, "signature_verification_failed", "no match"),
            HttpAnswer::error(503, "store_unavailable", "later"),
            HttpAnswer::ok(json!({"received": true, "handled": true, "outcome": created})),
            HttpAnswer::ok(json!({"received": true, "handled": true, "outcome": updated})),
            HttpAnswer::ok(json!({"received": true, "duplicate": true, "outcome": created})),
            HttpAnswer::ok(json!({"received": true, "handled": false, "dead_letter": true})),
            HttpAnswer::ok(json!({"received": true, "handled": false})),
        ];
        for answer in &answers {
            record(&metrics, WEBHOOKS_ROUTE_FOR_TESTS, answer);
        }
        record(&metrics, "/stripe/events", &answers[0]);
        let sum = |name, filter: &[(&str, &str)]| recorded.sum(name, filter);
        assert_eq!(
            sum(
                "WebhookRejected",
                &[("Error", "signature_verification_failed")]
            ),
            2.0
        );
        assert_eq!(sum("WebhookRejected", &[("Route", "events")]), 1.0);
        assert_eq!(sum("WebhookFailed", &[]), 1.0);
        assert_eq!(
            sum("OrdersRecorded", &[]),
            1.0,
            "a duplicate is not a new order"
        );
        assert_eq!(sum("EventsApplied", &[]), 2.0);
        assert_eq!(sum("EventsApplied", &[("Type", "state_updated")]), 1.0);
        assert_eq!(sum("DeadLetters", &[("Route", "webhooks")]), 1.0);
    }

    const WEBHOOKS_ROUTE_FOR_TESTS: &str = "/prod/stripe/webhooks";
}

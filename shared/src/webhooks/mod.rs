//! Receiving Stripe's snapshot webhooks: verify the raw bytes, refuse the wrong mode,
//! deduplicate by event id, apply, and answer 2xx only once the effect is durable.
//!
//! Status codes are chosen for Stripe's redelivery: 400 for what redelivery cannot fix
//! (bad signature, malformed or wrong-mode event), 409 while another delivery of the same
//! event is in flight, 5xx for transient failures, 200 otherwise (handled or deliberately
//! ignored event types alike, so Stripe does not retry what we will never process).

pub mod orders;

use serde_json::{Value, json};

use crate::clock::Clock;
use crate::endpoint::HttpAnswer;
use crate::signature::Verifier;
use crate::store::{Claim, IdempotencyStore, OrderStore, StockHolds};
use crate::stripe::checkout::CheckoutSessionApi;
use crate::stripe::objects::SnapshotEvent;
use crate::uploader::ImportEvents;
use orders::{ApplyError, HANDLED_EVENT_TYPES, apply_event_with_stock};

/// v1 catalog import events: they finish the import at once; the poll stays the base.
pub const IMPORT_SET_EVENT_TYPES: &[&str] = &[
    "data_management.import_set.succeeded",
    "data_management.import_set.failed",
];

pub struct SnapshotWebhooks<O, I, A, C, R, P> {
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
}

impl<O, I, A, C, R, P> SnapshotWebhooks<O, I, A, C, R, P>
where
    P: ImportEvents,
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
                return HttpAnswer::error(
                    400,
                    "invalid_event",
                    format!("the body is not JSON: {e}"),
                );
            }
        };
        if envelope.get("object").and_then(Value::as_str) == Some("v2.core.event") {
            return HttpAnswer::error(
                400,
                "invalid_event",
                "this is a thin (v2) event: send it to /stripe/events",
            );
        }
        let event: SnapshotEvent = match serde_json::from_value(envelope) {
            Ok(e) => e,
            Err(e) => {
                return HttpAnswer::error(
                    400,
                    "invalid_event",
                    format!("not a Stripe snapshot event: {e}"),
                );
            }
        };
        if event.livemode != self.livemode {
            tracing::warn!(event_id = %event.id, event_livemode = event.livemode, "event refused: wrong mode");
            return HttpAnswer::error(
                400,
                "livemode_mismatch",
                format!(
                    "event {} is a {} event but this deployment serves {} mode",
                    event.id,
                    mode(event.livemode),
                    mode(self.livemode)
                ),
            );
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
            Ok(Claim::InProgress) => {
                return HttpAnswer::error(
                    409,
                    "in_progress",
                    format!("event {} is being processed; retry later", event.id),
                );
            }
            // Webhook claims carry no payload hash, so a mismatch cannot happen; treat it
            // like a concurrent delivery rather than drop the event.
            Ok(Claim::PayloadMismatch) => {
                return HttpAnswer::error(
                    409,
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

        match apply_event_with_stock(&self.orders, &self.stripe, &self.stock, &account, &event)
            .await
        {
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
                    ApplyError::Invalid(message) => {
                        tracing::error!(event_id = %event.id, event_type = %event.kind, account = %account, error = %message, "event cannot be applied");
                        HttpAnswer::error(400, "invalid_event", message)
                    }
                }
            }
        }
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

fn mode(livemode: bool) -> &'static str {
    if livemode { "live" } else { "test" }
}

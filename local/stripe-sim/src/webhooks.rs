//! Signed snapshot-event delivery to the configured webhook endpoint.
//!
//! Deliveries imitate Stripe's awkward parts on purpose (duplicates, reversed order,
//! delays, retries on non-2xx) because those are what a webhook consumer must survive.

use crate::DeliveryOptions;
use crate::errors::json_bytes;
use crate::state::Sim;
use crate::state::events::DeliveryRecord;
use crate::timestamps::now;
use axum::http::header;
use hmac::{Hmac, KeyInit, Mac};
use serde::Deserialize;
use sha2::Sha256;
use std::sync::Arc;
use std::time::Duration;

/// Stripe's webhook user agent; some consumers log or filter on it.
const USER_AGENT: &str = "Stripe/1.0 (+https://stripe.com/docs/webhooks)";
/// Upper bound on copies per event, so a typo in a test cannot queue millions of POSTs.
pub const MAX_DUPLICATES: u32 = 100;
pub const MAX_ATTEMPTS: u32 = 20;
/// Ten minutes: longer than any test waits, short enough that no task lingers for ever.
pub const MAX_DELAY_MS: u64 = 600_000;

/// hex(HMAC-SHA256(secret, "{timestamp}.{payload}")), the `v1` scheme.
pub fn sign(secret: &str, timestamp: i64, payload: &[u8]) -> String {
    // HMAC accepts keys of any length, so this never fails; the fallback keeps it panic-free.
    let Ok(mut mac) = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes()) else {
        return String::new();
    };
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(payload);
    hex::encode(mac.finalize().into_bytes())
}

/// The `Stripe-Signature` header value for a payload.
pub fn signature_header(secret: &str, timestamp: i64, payload: &[u8]) -> String {
    format!("t={timestamp},v1={}", sign(secret, timestamp, payload))
}

/// Per-request overrides of [`DeliveryOptions`]; unset fields keep the configured default.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeliveryOverrides {
    #[serde(default)]
    pub duplicates: Option<u32>,
    #[serde(default)]
    pub reorder: Option<bool>,
    #[serde(default)]
    pub delay_ms: Option<u64>,
    #[serde(default)]
    pub max_attempts: Option<u32>,
}

impl DeliveryOverrides {
    pub fn apply(&self, base: &DeliveryOptions) -> DeliveryOptions {
        DeliveryOptions {
            duplicates: self
                .duplicates
                .unwrap_or(base.duplicates)
                .min(MAX_DUPLICATES),
            reorder: self.reorder.unwrap_or(base.reorder),
            delay_ms: self.delay_ms.unwrap_or(base.delay_ms).min(MAX_DELAY_MS),
            max_attempts: self
                .max_attempts
                .unwrap_or(base.max_attempts)
                .clamp(1, MAX_ATTEMPTS),
        }
    }
}

/// The order in which copies go out: the whole batch once, then again per duplicate (so a
/// duplicate of the first event arrives after later events), reversed when reordering.
pub fn plan(event_ids: &[String], options: &DeliveryOptions) -> Vec<String> {
    let copies = 1 + options.duplicates.min(MAX_DUPLICATES) as usize;
    let mut queue: Vec<String> = (0..copies)
        .flat_map(|_| event_ids.iter().cloned())
        .collect();
    if options.reorder {
        queue.reverse();
    }
    queue
}

fn backoff(attempt: u32) -> Duration {
    Duration::from_millis((50u64 << attempt.saturating_sub(1).min(4)).min(500))
}

/// Delivers the events one at a time and records every attempt; returns when all are done.
///
/// Snapshot events go to the webhook endpoint, thin events to the thin-event destination,
/// each signed with its own secret; events whose destination is unset are skipped.
pub async fn deliver(sim: Arc<Sim>, event_ids: Vec<String>, options: DeliveryOptions) {
    let max_attempts = options.max_attempts.clamp(1, MAX_ATTEMPTS);
    for id in plan(&event_ids, &options) {
        let Some((body, target, thin, kind)) = ({
            let store = sim.lock();
            store.event(&id).map(|record| {
                let target = if record.thin {
                    store.thin_webhook.clone()
                } else {
                    store.webhook.clone()
                };
                let kind = record.event["type"].as_str().unwrap_or("").to_string();
                (json_bytes(&record.event), target, record.thin, kind)
            })
        }) else {
            continue;
        };
        let Some(url) = target.url else {
            continue;
        };
        if !thin && sim.lock().webhook_drops.take(&id, &kind) {
            tracing::info!(event = %id, event_type = %kind, "webhook delivery dropped on purpose");
            sim.lock().record_delivery(
                &id,
                DeliveryRecord {
                    status: None,
                    attempt: 1,
                    error: Some("dropped by /_sim/webhook_drops".into()),
                    dropped: true,
                },
            );
            continue;
        }
        if options.delay_ms > 0 {
            tokio::time::sleep(Duration::from_millis(options.delay_ms.min(MAX_DELAY_MS))).await;
        }
        for attempt in 1..=max_attempts {
            // Stripe signs each attempt afresh, so the timestamp is that of the attempt.
            let signature = signature_header(&target.secret, now(), &body);
            let result = sim
                .http
                .post(&url)
                .header(header::CONTENT_TYPE, "application/json; charset=utf-8")
                .header(header::USER_AGENT, USER_AGENT)
                .header("Stripe-Signature", signature)
                .body(body.clone())
                .send()
                .await;
            let (status, error) = match result {
                Ok(response) => (Some(response.status().as_u16()), None),
                Err(e) => (None, Some(e.to_string())),
            };
            let ok = status.is_some_and(|s| (200..300).contains(&s));
            tracing::info!(event = %id, attempt, status, ok, "webhook delivery");
            sim.lock().record_delivery(
                &id,
                DeliveryRecord {
                    status,
                    attempt,
                    error,
                    dropped: false,
                },
            );
            if ok {
                break;
            }
            if attempt < max_attempts {
                tokio::time::sleep(backoff(attempt)).await;
            }
        }
    }
}

/// Delivers in the background: API calls and control calls return without waiting.
pub fn spawn(sim: &Arc<Sim>, event_ids: Vec<String>, options: DeliveryOptions) {
    if event_ids.is_empty() {
        return;
    }
    tokio::spawn(deliver(Arc::clone(sim), event_ids, options));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_matches_a_known_vector() {
        // Computed independently: printf '1700000000.{"a":1}' | openssl dgst -sha256 -hmac whsec_test
        let sig = sign("whsec_test", 1_700_000_000, br#"{"a":1}"#);
        assert_eq!(
            sig,
            "38877139021993b830af32feea6e18a8da83eb2f6e49ee50bd9e4cf4ca4d3789"
        );
        assert_ne!(sig, sign("whsec_test", 1_700_000_001, br#"{"a":1}"#));
        assert_ne!(sig, sign("whsec_other", 1_700_000_000, br#"{"a":1}"#));
        assert_eq!(
            signature_header("whsec_test", 1_700_000_000, br#"{"a":1}"#),
            format!("t=1700000000,v1={sig}")
        );
    }

    #[test]
    fn plan_duplicates_and_reverses() {
        let ids: Vec<String> = ["a", "b"].map(String::from).to_vec();
        let mut options = DeliveryOptions {
            duplicates: 1,
            ..DeliveryOptions::default()
        };
        assert_eq!(plan(&ids, &options), ["a", "b", "a", "b"]);
        options.reorder = true;
        assert_eq!(plan(&ids, &options), ["b", "a", "b", "a"]);
        options.duplicates = 0;
        assert_eq!(plan(&ids, &options), ["b", "a"]);
    }

    #[test]
    fn overrides_keep_unset_fields() {
        let base = DeliveryOptions {
            duplicates: 2,
            reorder: true,
            delay_ms: 5,
            max_attempts: 4,
        };
        let over = DeliveryOverrides {
            duplicates: Some(0),
            max_attempts: Some(0),
            ..Default::default()
        };
        let merged = over.apply(&base);
        assert_eq!(
            (
                merged.duplicates,
                merged.reorder,
                merged.delay_ms,
                merged.max_attempts
            ),
            (0, true, 5, 1)
        );
    }

    #[test]
    fn drops_count_down_only_for_the_named_types() {
        let mut drops = crate::state::events::WebhookDrops {
            remaining: 2,
            types: vec!["checkout.session.completed".into()],
            dropped: Vec::new(),
        };
        assert!(!drops.take("evt_1", "payment_intent.succeeded"));
        assert!(drops.take("evt_2", "checkout.session.completed"));
        assert!(drops.take("evt_3", "checkout.session.completed"));
        assert!(
            !drops.take("evt_4", "checkout.session.completed"),
            "used up"
        );
        assert_eq!(drops.dropped, ["evt_2", "evt_3"]);
        let mut every = crate::state::events::WebhookDrops {
            remaining: 1,
            ..Default::default()
        };
        assert!(every.take("evt_5", "charge.refunded"));
    }

    #[test]
    fn backoff_is_small_and_capped() {
        assert_eq!(backoff(1), Duration::from_millis(50));
        assert_eq!(backoff(2), Duration::from_millis(100));
        assert_eq!(backoff(30), Duration::from_millis(500));
    }
}

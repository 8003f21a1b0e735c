//! The webhook endpoint, the list of emitted events with their deliveries, and resends.

use super::{ControlResult, dispatch, ok, parse};
use crate::errors::ApiError;
use crate::state::Sim;
use crate::state::events::EventRecord;
use crate::webhooks::DeliveryOverrides;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WebhookEndpointRequest {
    url: Option<String>,
    #[serde(default)]
    secret: Option<String>,
}

pub async fn set_webhook_endpoint(State(sim): State<Arc<Sim>>, body: Bytes) -> ControlResult {
    let req: WebhookEndpointRequest = parse(&body)?;
    if let Some(url) = &req.url {
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(ApiError::invalid_param(
                "url",
                "url must be an http:// or https:// URL.",
            ));
        }
    }
    let mut store = sim.lock();
    store.webhook.url = req.url.clone();
    if let Some(secret) = req.secret {
        store.webhook.secret = secret;
    }
    ok(json!({ "url": req.url }))
}

fn event_json(record: &EventRecord) -> Value {
    let mut value = json!({ "event": record.event, "deliveries": record.deliveries });
    if record.thin {
        value["thin"] = json!(true);
    }
    value
}

/// Every event emitted, oldest first; `?type=` and `?account=` narrow it down.
pub async fn list_events(
    State(sim): State<Arc<Sim>>,
    Query(query): Query<HashMap<String, String>>,
) -> ControlResult {
    let store = sim.lock();
    let events: Vec<Value> = store
        .events()
        .iter()
        .filter(|r| {
            query
                .get("type")
                .is_none_or(|t| r.event["type"] == json!(t))
        })
        .filter(|r| {
            query
                .get("account")
                .is_none_or(|a| r.event["account"] == json!(a) || r.event["context"] == json!(a))
        })
        .map(event_json)
        .collect();
    ok(json!(events))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ResendRequest {
    #[serde(default)]
    delivery: Option<DeliveryOverrides>,
    #[serde(default)]
    wait_for_delivery: bool,
}

pub async fn resend_event(
    State(sim): State<Arc<Sim>>,
    Path(id): Path<String>,
    body: Bytes,
) -> ControlResult {
    let req: ResendRequest = parse(&body)?;
    if sim.lock().event(&id).is_none() {
        return Err(ApiError::no_such("event", &id, "id"));
    }
    dispatch(
        &sim,
        vec![id.clone()],
        Some(true),
        req.delivery.as_ref(),
        req.wait_for_delivery,
    )
    .await;
    let store = sim.lock();
    ok(store.event(&id).map(event_json).unwrap_or(Value::Null))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WebhookDropsRequest {
    count: u32,
    #[serde(default)]
    types: Vec<String>,
}

/// Most deliveries one call can ask to drop: a typo must not silence the emulator for good.
const MAX_DROPS: u32 = 10_000;

/// `POST /_sim/webhook_drops {"count": N, "types": [...]}`: the next N snapshot deliveries
/// (of those types, if given) are not sent; the events still exist. Replaces any earlier
/// setting and forgets what was dropped before.
pub async fn set_webhook_drops(State(sim): State<Arc<Sim>>, body: Bytes) -> ControlResult {
    let req: WebhookDropsRequest = parse(&body)?;
    if req.count > MAX_DROPS {
        return Err(ApiError::invalid_param(
            "count",
            format!("count must be at most {MAX_DROPS}."),
        ));
    }
    let mut store = sim.lock();
    store.webhook_drops = crate::state::events::WebhookDrops {
        remaining: req.count,
        types: req.types,
        dropped: Vec::new(),
    };
    ok(json!(store.webhook_drops))
}

/// What is left to drop and which events were dropped.
pub async fn get_webhook_drops(State(sim): State<Arc<Sim>>) -> ControlResult {
    ok(json!(sim.lock().webhook_drops))
}

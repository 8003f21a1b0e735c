//! `/_sim/...`: JSON control endpoints (no auth) for things that, on real Stripe, a buyer,
//! an agent or a card network would cause, plus fault injection, webhook inspection, rate
//! limits and request statistics.
//!
//! Event-producing calls accept `deliver` (default true), `delivery` (overrides of the
//! configured [`crate::DeliveryOptions`]) and `wait_for_delivery`, so a test can assert on
//! what its webhook endpoint received right after the call returns.
//!
//! Each area's endpoints are in a child module; this one routes and holds what they share.

mod agreements;
mod checkouts;
mod disputes;
mod events;
mod feeds;
mod hook_settings;
mod payment_failures;
mod traffic;

use crate::errors::{ApiError, json_response};
use crate::faults;
use crate::model::to_json;
use crate::state::Sim;
use crate::state::faults::FaultSpec;
use crate::webhooks::{self, DeliveryOverrides};
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post, put};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use std::sync::Arc;

type ControlResult = Result<Response, ApiError>;

pub fn routes() -> Router<Arc<Sim>> {
    Router::new()
        .route("/_sim/health", get(health))
        .route("/_sim/agentic_checkouts", post(checkouts::agentic_checkout))
        .route(
            "/_sim/hooks",
            get(hook_settings::get_hooks).post(hook_settings::set_hooks),
        )
        .route("/_sim/hook_calls", get(hook_settings::list_hook_calls))
        .route(
            "/_sim/shipping_rates",
            post(checkouts::create_shipping_rate),
        )
        .route("/_sim/tax_rates", post(checkouts::create_tax_rate))
        .route(
            "/_sim/checkout_sessions/expire",
            post(checkouts::expire_session),
        )
        .route(
            "/_sim/payment_failures",
            post(payment_failures::payment_failure),
        )
        .route("/_sim/disputes", post(disputes::create_dispute))
        .route("/_sim/disputes/{id}/update", post(disputes::update_dispute))
        .route("/_sim/disputes/{id}/close", post(disputes::close_dispute))
        .route("/_sim/webhook_endpoint", post(events::set_webhook_endpoint))
        .route("/_sim/events", get(events::list_events))
        .route(
            "/_sim/webhook_drops",
            post(events::set_webhook_drops).get(events::get_webhook_drops),
        )
        .route("/_sim/events/{id}/resend", post(events::resend_event))
        .route("/_sim/reset", post(reset))
        .route(
            "/_sim/rate_limits",
            get(traffic::get_rate_limits).post(traffic::set_rate_limits),
        )
        .route("/_sim/stats", get(traffic::stats))
        .route("/_sim/stats/reset", post(traffic::reset_stats))
        .route(
            "/_sim/faults",
            post(add_fault).get(list_faults).delete(clear_faults),
        )
        .route("/_sim/uploads/{token}", put(feeds::upload))
        .route("/_sim/error_files/{token}", get(feeds::error_file))
        .route("/_sim/catalog/{account}", get(feeds::catalog))
        .route("/_sim/imports/{id}/complete", post(feeds::complete))
        .route("/_sim/imports/{id}/fail", post(feeds::fail))
        .route("/_sim/thin_event_endpoint", post(feeds::set_thin_endpoint))
        .route("/_sim/error_file_urls", post(feeds::error_file_urls))
        .route("/_sim/agreements", post(agreements::create))
        .route(
            "/_sim/agreements/{id}/redeliver",
            post(agreements::redeliver),
        )
        .method_not_allowed_fallback(method_not_allowed)
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "invalid_request_error",
        "This control endpoint does not accept that method.",
    )
}

fn ok(value: Value) -> ControlResult {
    Ok(json_response(StatusCode::OK, &value))
}

/// An empty body means "all defaults", which keeps curl calls like `POST /_sim/reset` short.
fn parse<T: DeserializeOwned>(body: &Bytes) -> Result<T, ApiError> {
    let body: &[u8] = if body.iter().all(u8::is_ascii_whitespace) {
        b"{}"
    } else {
        body
    };
    serde_json::from_slice(body).map_err(|e| ApiError::invalid(format!("Invalid JSON body: {e}")))
}

async fn dispatch(
    sim: &Arc<Sim>,
    events: Vec<String>,
    deliver: Option<bool>,
    overrides: Option<&DeliveryOverrides>,
    wait: bool,
) {
    if !deliver.unwrap_or(true) {
        return;
    }
    let options = overrides.map_or_else(
        || sim.config.delivery.clone(),
        |o| o.apply(&sim.config.delivery),
    );
    if wait {
        webhooks::deliver(Arc::clone(sim), events, options).await;
    } else {
        webhooks::spawn(sim, events, options);
    }
}

async fn health(State(sim): State<Arc<Sim>>) -> ControlResult {
    ok(json!({ "ok": true, "api_version": sim.config.api_version }))
}

async fn reset(State(sim): State<Arc<Sim>>) -> ControlResult {
    sim.reset();
    ok(json!({ "reset": true }))
}

async fn add_fault(State(sim): State<Arc<Sim>>, body: Bytes) -> ControlResult {
    let spec: FaultSpec = parse(&body)?;
    spec.validate()?;
    let fault = faults::add(&mut sim.lock(), spec);
    ok(to_json(&fault))
}

async fn list_faults(State(sim): State<Arc<Sim>>) -> ControlResult {
    let store = sim.lock();
    ok(json!(store.faults))
}

async fn clear_faults(State(sim): State<Arc<Sim>>) -> ControlResult {
    let mut store = sim.lock();
    let deleted = store.faults.len();
    store.faults.clear();
    ok(json!({ "deleted": deleted }))
}

//! `/_sim/...`: JSON control endpoints (no auth) for things that, on real Stripe, a buyer,
//! an agent or a card network would cause, plus fault injection and webhook inspection.
//!
//! Event-producing calls accept `deliver` (default true), `delivery` (overrides of the
//! configured [`crate::DeliveryOptions`]) and `wait_for_delivery`, so a test can assert on
//! what its webhook endpoint received right after the call returns.
//!
//! Catalog-feed control endpoints are in [`feeds`], agreement ones in [`agreements`].

mod agreements;
mod feeds;

use crate::checkout::{self, ExpireRequest, PurchaseRequest, parse_account};
use crate::errors::{ApiError, json_response};
use crate::expand::{self, Expand};
use crate::faults;
use crate::hooks::{
    self, CustomizeAnswer, Decision, FinalizeAnswer, ShippingRateData, TaxRateData,
};
use crate::ids;
use crate::model::{
    DISPUTE_CLOSED_STATUSES, DISPUTE_OPEN_STATUSES, Dispute, Metadata, PaymentIntent, to_json,
};
use crate::state::events::{EventRecord, RequestInfo};
use crate::state::faults::FaultSpec;
use crate::state::hooks::Hook;
use crate::state::{Scope, Sim};
use crate::timestamps::now;
use crate::webhooks::{self, DeliveryOverrides};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post, put};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;

type ControlResult = Result<Response, ApiError>;

pub fn routes() -> Router<Arc<Sim>> {
    Router::new()
        .route("/_sim/health", get(health))
        .route("/_sim/agentic_checkouts", post(agentic_checkout))
        .route("/_sim/hooks", get(get_hooks).post(set_hooks))
        .route("/_sim/hook_calls", get(list_hook_calls))
        .route("/_sim/shipping_rates", post(create_shipping_rate))
        .route("/_sim/tax_rates", post(create_tax_rate))
        .route("/_sim/checkout_sessions/expire", post(expire_session))
        .route("/_sim/payment_failures", post(payment_failure))
        .route("/_sim/disputes", post(create_dispute))
        .route("/_sim/disputes/{id}/update", post(update_dispute))
        .route("/_sim/disputes/{id}/close", post(close_dispute))
        .route("/_sim/webhook_endpoint", post(set_webhook_endpoint))
        .route("/_sim/events", get(list_events))
        .route("/_sim/events/{id}/resend", post(resend_event))
        .route("/_sim/reset", post(reset))
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

/// An agent's purchase: customize_checkout, the agent's shipping pick, finalize_checkout,
/// then a paid checkout (200) or an aborted one (402); a failed customize is a 424 that
/// leaves nothing behind.
async fn agentic_checkout(State(sim): State<Arc<Sim>>, body: Bytes) -> ControlResult {
    let req: PurchaseRequest = parse(&body)?;
    let mut draft = checkout::prepare_purchase(&req)?;
    let settings = {
        let mut store = sim.lock();
        draft.check_ids(store.account(&draft.scope))?;
        store.hooks.clone()
    };
    let copies = if req.replay_hooks { 2 } else { 1 };
    if let Some(url) = &settings.customize_url {
        let hook = Hook::CustomizeCheckout;
        let data = draft.customize_data();
        let request = hooks::envelope(hook, &draft.scope, data);
        let applied = hooks::exchange(
            &sim,
            hook,
            &settings,
            url,
            &draft.session_id,
            &request,
            copies,
        )
        .await
        .and_then(|answer| hooks::parse_answer::<CustomizeAnswer>(hook, answer))
        .and_then(|answer| {
            let mut store = sim.lock();
            let acct = store.account(&draft.scope);
            draft.apply_customize(&answer, acct)
        });
        if let Err(message) = applied {
            return Err(
                ApiError::new(StatusCode::FAILED_DEPENDENCY, "api_error", message)
                    .code("hook_failed"),
            );
        }
    }
    draft.pick_shipping(req.choose_shipping.as_deref())?;
    let decision = match &settings.finalize_url {
        None => Decision::approved(),
        Some(url) => {
            let hook = Hook::FinalizeCheckout;
            let amount_total = draft.amount_total()?;
            let data = draft.finalize_data();
            let request = hooks::envelope(hook, &draft.scope, data);
            hooks::exchange(
                &sim,
                hook,
                &settings,
                url,
                &draft.session_id,
                &request,
                copies,
            )
            .await
            .and_then(|answer| hooks::parse_answer::<FinalizeAnswer>(hook, answer))
            .and_then(|answer| answer.decision(amount_total))
            .unwrap_or_else(Decision::hook_failed)
        }
    };
    let declined = match decision {
        Decision::Approved {
            application_fee_amount,
            transfer_amount,
        } => {
            draft.approve(application_fee_amount, transfer_amount);
            None
        }
        Decision::Declined { code, reason } => Some((code, reason)),
    };
    let (created, session) = {
        let mut store = sim.lock();
        let created = if declined.is_some() {
            draft.abort(&mut store, &sim.config.api_version)?
        } else {
            draft.commit(&mut store, &sim.config.api_version)?
        };
        let acct = store.account(&created.scope);
        let session = acct
            .sessions
            .get(&created.session_id)
            .map(|s| expand::session(acct, s, &Expand::full_session()));
        (created, session)
    };
    dispatch(
        &sim,
        created.events.clone(),
        req.deliver,
        req.delivery.as_ref(),
        req.wait_for_delivery,
    )
    .await;
    match declined {
        None => ok(json!({ "checkout_session": session, "events": created.events })),
        Some((code, reason)) => {
            let mut body = ApiError::new(StatusCode::PAYMENT_REQUIRED, "card_error", reason)
                .code(code)
                .body();
            body["checkout_session"] = json!(session);
            body["events"] = json!(created.events);
            Ok(json_response(StatusCode::PAYMENT_REQUIRED, &body))
        }
    }
}

/// `GET /_sim/hooks`: the hooks' current destinations, secret and deadline.
async fn get_hooks(State(sim): State<Arc<Sim>>) -> ControlResult {
    let store = sim.lock();
    ok(to_json(&store.hooks))
}

fn hook_url(key: &str, value: &Value) -> Result<Option<String>, ApiError> {
    match value {
        Value::Null => Ok(None),
        Value::String(url) if url.starts_with("http://") || url.starts_with("https://") => {
            Ok(Some(url.clone()))
        }
        _ => Err(ApiError::invalid_param(
            key,
            format!("{key} must be an http:// or https:// URL, or null."),
        )),
    }
}

/// `POST /_sim/hooks {customize_url?, finalize_url?, secret?, timeout_ms?}`: a given key
/// changes that setting (a URL of null switches that hook off); the others stay.
async fn set_hooks(State(sim): State<Arc<Sim>>, body: Bytes) -> ControlResult {
    let req: serde_json::Map<String, Value> = parse(&body)?;
    let mut hooks = sim.lock().hooks.clone();
    for (key, value) in &req {
        match key.as_str() {
            "customize_url" => hooks.customize_url = hook_url(key, value)?,
            "finalize_url" => hooks.finalize_url = hook_url(key, value)?,
            "secret" => match value.as_str() {
                Some(secret) if !secret.is_empty() => hooks.secret = secret.to_string(),
                _ => {
                    return Err(ApiError::invalid_param(
                        key,
                        "secret must be a non-empty string.",
                    ));
                }
            },
            "timeout_ms" => match value.as_u64() {
                Some(ms) if (1..=hooks::MAX_TIMEOUT_MS).contains(&ms) => hooks.timeout_ms = ms,
                _ => {
                    return Err(ApiError::invalid_param(
                        key,
                        format!(
                            "timeout_ms must be an integer from 1 to {}.",
                            hooks::MAX_TIMEOUT_MS
                        ),
                    ));
                }
            },
            _ => return Err(ApiError::unknown_param(key)),
        }
    }
    let mut store = sim.lock();
    store.hooks = hooks;
    ok(to_json(&store.hooks))
}

/// `GET /_sim/hook_calls?hook=&checkout_session=`: every hook exchange, oldest first.
async fn list_hook_calls(
    State(sim): State<Arc<Sim>>,
    Query(query): Query<HashMap<String, String>>,
) -> ControlResult {
    let store = sim.lock();
    let calls: Vec<Value> = store
        .hook_calls
        .iter()
        .filter(|c| query.get("hook").is_none_or(|h| c.hook.name() == h))
        .filter(|c| {
            query
                .get("checkout_session")
                .is_none_or(|id| &c.checkout_session == id)
        })
        .map(to_json)
        .collect();
    ok(json!(calls))
}

/// Splits a seed request into `account`, `id` and the object's own fields, parsed as `T`.
fn seed_request<T: DeserializeOwned>(body: &Bytes) -> Result<(Scope, Option<String>, T), ApiError> {
    let mut fields: serde_json::Map<String, Value> = parse(body)?;
    let mut take = |key: &str| -> Result<Option<String>, ApiError> {
        match fields.remove(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(ApiError::invalid_param(
                key,
                format!("{key} must be a string."),
            )),
        }
    };
    let scope = parse_account(take("account")?.as_deref())?;
    let id = take("id")?;
    let data = serde_json::from_value(Value::Object(fields))
        .map_err(|e| ApiError::invalid(format!("Invalid JSON body: {e}")))?;
    Ok((scope, id, data))
}

/// Seeds a ShippingRate (`{account?, id?, display_name, fixed_amount{amount, currency},
/// delivery_estimate?, tax_behavior?, tax_code?, metadata?}`) that a customize answer can
/// name as `{shipping_rate: "shr_…"}`.
async fn create_shipping_rate(State(sim): State<Arc<Sim>>, body: Bytes) -> ControlResult {
    let (scope, id, data): (Scope, Option<String>, ShippingRateData) = seed_request(&body)?;
    let currency = checkout::parse_currency(Some(&data.fixed_amount.currency))?;
    let mut rate =
        checkout::shipping_rate_from(&data, &currency, now()).map_err(ApiError::invalid)?;
    let mut store = sim.lock();
    let acct = store.account(&scope);
    if let Some(id) = id {
        checkout::check_free_id(acct.shipping_rates.contains_key(&id), &id, "shr_", "id")?;
        rate.id = id;
    }
    let value = to_json(&rate);
    acct.shipping_rates.insert(rate.id.clone(), rate);
    ok(value)
}

/// Seeds a TaxRate (`{account?, id?, display_name, inclusive, percentage, tax_type?,
/// country?, state?, jurisdiction?, description?}`) that a customize answer can name as
/// `{rate: "txr_…"}`.
async fn create_tax_rate(State(sim): State<Arc<Sim>>, body: Bytes) -> ControlResult {
    let (scope, id, data): (Scope, Option<String>, TaxRateData) = seed_request(&body)?;
    let mut rate = checkout::tax_rate_from(&data, now(), None).map_err(ApiError::invalid)?;
    let mut store = sim.lock();
    let acct = store.account(&scope);
    if let Some(id) = id {
        checkout::check_free_id(acct.tax_rates.contains_key(&id), &id, "txr_", "id")?;
        rate.id = id;
    }
    let value = to_json(&rate);
    acct.tax_rates.insert(rate.id.clone(), rate);
    ok(value)
}

async fn expire_session(State(sim): State<Arc<Sim>>, body: Bytes) -> ControlResult {
    let req: ExpireRequest = parse(&body)?;
    let (created, session) = {
        let mut store = sim.lock();
        let created = checkout::expire_session(&mut store, &sim.config.api_version, &req)?;
        let session = store
            .account(&created.scope)
            .sessions
            .get(&created.session_id)
            .map(to_json);
        (created, session)
    };
    dispatch(
        &sim,
        created.events.clone(),
        req.deliver,
        req.delivery.as_ref(),
        req.wait_for_delivery,
    )
    .await;
    ok(json!({ "checkout_session": session, "events": created.events }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PaymentFailureRequest {
    #[serde(default)]
    account: Option<String>,
    #[serde(default)]
    payment_intent: Option<String>,
    #[serde(default)]
    amount: Option<i64>,
    #[serde(default)]
    currency: Option<String>,
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    decline_code: Option<String>,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    deliver: Option<bool>,
    #[serde(default)]
    delivery: Option<DeliveryOverrides>,
    #[serde(default)]
    wait_for_delivery: bool,
}

/// Emits `payment_intent.payment_failed` for an attempt that failed. An intent that has
/// since been authorised or paid keeps its stored state: the event reports an earlier
/// attempt, which is exactly the out-of-order case a consumer must not regress on.
async fn payment_failure(State(sim): State<Arc<Sim>>, body: Bytes) -> ControlResult {
    let req: PaymentFailureRequest = parse(&body)?;
    let scope = parse_account(req.account.as_deref())?;
    let id = req
        .payment_intent
        .clone()
        .unwrap_or_else(ids::payment_intent);
    if !id.starts_with("pi_") {
        return Err(ApiError::invalid_param(
            "payment_intent",
            format!("Invalid id '{id}': expected pi_…"),
        ));
    }
    let code = req.code.clone().unwrap_or_else(|| "card_declined".into());
    let error = json!({
        "type": "card_error",
        "code": code,
        "decline_code": req.decline_code.clone().unwrap_or_else(|| "generic_decline".into()),
        "doc_url": format!("https://stripe.com/docs/error-codes/{}", code.replace('_', "-")),
        "message": req.message.clone().unwrap_or_else(|| "Your card was declined.".into()),
        "payment_method": { "id": ids::payment_method(), "object": "payment_method", "type": "card" },
    });
    let (snapshot, event) = {
        let mut store = sim.lock();
        let acct = store.account(&scope);
        let snapshot = match acct.payment_intents.get_mut(&id) {
            Some(pi) => {
                let mut snapshot = pi.clone();
                snapshot.status = "requires_payment_method".into();
                snapshot.last_payment_error = Some(error.clone());
                snapshot.amount_capturable = 0;
                snapshot.amount_received = 0;
                snapshot.latest_charge = None;
                if !["succeeded", "requires_capture", "processing", "canceled"]
                    .contains(&pi.status.as_str())
                {
                    pi.status = "requires_payment_method".into();
                    pi.last_payment_error = Some(error);
                }
                snapshot
            }
            None => {
                let amount = req.amount.unwrap_or(1000);
                if !(1..=99_999_999).contains(&amount) {
                    return Err(ApiError::invalid_param(
                        "amount",
                        "amount must be between 1 and 99999999.",
                    ));
                }
                let intent = PaymentIntent {
                    id: id.clone(),
                    object: "payment_intent",
                    amount,
                    amount_capturable: 0,
                    amount_received: 0,
                    application_fee_amount: None,
                    capture_method: "automatic".into(),
                    created: now(),
                    currency: checkout::parse_currency(req.currency.as_deref())?,
                    customer: None,
                    description: None,
                    last_payment_error: Some(error),
                    latest_charge: None,
                    livemode: false,
                    metadata: Metadata::new(),
                    payment_method: None,
                    payment_method_types: vec!["card"],
                    status: "requires_payment_method".into(),
                    transfer_data: None,
                    agent_details: None,
                };
                acct.payment_intents.insert(id.clone(), intent.clone());
                intent
            }
        };
        let snapshot = to_json(&snapshot);
        let event = store.emit(
            &sim.config.api_version,
            &scope,
            "payment_intent.payment_failed",
            snapshot.clone(),
            None,
            &RequestInfo::default(),
        );
        (snapshot, event)
    };
    dispatch(
        &sim,
        vec![event.clone()],
        req.deliver,
        req.delivery.as_ref(),
        req.wait_for_delivery,
    )
    .await;
    ok(json!({ "payment_intent": snapshot, "events": [event] }))
}

const DISPUTE_REASONS: &[&str] = &[
    "bank_cannot_process",
    "check_returned",
    "credit_not_processed",
    "customer_initiated",
    "debit_not_authorized",
    "duplicate",
    "fraudulent",
    "general",
    "incorrect_account_details",
    "insufficient_funds",
    "noncompliant",
    "product_not_received",
    "product_unacceptable",
    "subscription_canceled",
    "unrecognized",
];

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DisputeRequest {
    #[serde(default)]
    account: Option<String>,
    #[serde(default)]
    charge: Option<String>,
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    amount: Option<i64>,
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    deliver: Option<bool>,
    #[serde(default)]
    delivery: Option<DeliveryOverrides>,
    #[serde(default)]
    wait_for_delivery: bool,
}

fn check_status(status: &str, allowed: &[&str]) -> Result<(), ApiError> {
    if allowed.contains(&status) {
        Ok(())
    } else {
        Err(ApiError::invalid_param(
            "status",
            format!(
                "Invalid status '{status}': must be one of {}.",
                allowed.join(", ")
            ),
        ))
    }
}

async fn create_dispute(State(sim): State<Arc<Sim>>, body: Bytes) -> ControlResult {
    let req: DisputeRequest = parse(&body)?;
    let scope = parse_account(req.account.as_deref())?;
    let charge_id = req
        .charge
        .clone()
        .ok_or_else(|| ApiError::missing_param("charge"))?;
    let status = req
        .status
        .clone()
        .unwrap_or_else(|| "needs_response".into());
    check_status(&status, DISPUTE_OPEN_STATUSES)?;
    let reason = req.reason.clone().unwrap_or_else(|| "fraudulent".into());
    if !DISPUTE_REASONS.contains(&reason.as_str()) {
        return Err(ApiError::invalid_param(
            "reason",
            format!("Invalid reason '{reason}'."),
        ));
    }
    let (dispute, event) = {
        let mut store = sim.lock();
        let acct = store.account(&scope);
        let id = req.id.clone().unwrap_or_else(ids::dispute);
        if !id.starts_with("dp_") && !id.starts_with("du_") {
            return Err(ApiError::invalid_param(
                "id",
                format!("Invalid id '{id}': expected dp_…"),
            ));
        }
        if acct.disputes.contains_key(&id) {
            return Err(ApiError::invalid_param(
                "id",
                format!("A dispute with id '{id}' already exists."),
            )
            .code("resource_already_exists"));
        }
        let charge = acct
            .charges
            .get_mut(&charge_id)
            .ok_or_else(|| ApiError::no_such("charge", &charge_id, "charge"))?;
        let amount = req.amount.unwrap_or(if charge.amount_captured > 0 {
            charge.amount_captured
        } else {
            charge.amount
        });
        if !(1..=charge.amount).contains(&amount) {
            return Err(ApiError::invalid_param(
                "amount",
                "amount must be between 1 and the charge amount.",
            ));
        }
        charge.disputed = true;
        let dispute = Dispute {
            id: id.clone(),
            object: "dispute",
            amount,
            balance_transactions: Vec::new(),
            charge: charge_id.clone(),
            created: now(),
            currency: charge.currency.clone(),
            is_charge_refundable: status.starts_with("warning_"),
            livemode: false,
            metadata: Metadata::new(),
            payment_intent: charge.payment_intent.clone(),
            reason,
            status,
        };
        let snapshot = to_json(&dispute);
        acct.disputes.insert(id, dispute);
        let event = store.emit(
            &sim.config.api_version,
            &scope,
            "charge.dispute.created",
            snapshot.clone(),
            None,
            &RequestInfo::default(),
        );
        (snapshot, event)
    };
    dispatch(
        &sim,
        vec![event.clone()],
        req.deliver,
        req.delivery.as_ref(),
        req.wait_for_delivery,
    )
    .await;
    ok(json!({ "dispute": dispute, "events": [event] }))
}

/// Moves an open dispute to `status`; `closing` picks the allowed statuses and event type.
async fn change_dispute(sim: Arc<Sim>, id: String, body: Bytes, closing: bool) -> ControlResult {
    let req: DisputeRequest = parse(&body)?;
    if req.charge.is_some() || req.id.is_some() || req.amount.is_some() {
        return Err(ApiError::invalid(
            "Only account, status, reason and the delivery fields can be given here.",
        ));
    }
    let scope: Scope = parse_account(req.account.as_deref())?;
    let status = req
        .status
        .clone()
        .ok_or_else(|| ApiError::missing_param("status"))?;
    let (allowed, kind) = if closing {
        (
            &["won", "lost", "warning_closed"][..],
            "charge.dispute.closed",
        )
    } else {
        (DISPUTE_OPEN_STATUSES, "charge.dispute.updated")
    };
    check_status(&status, allowed)?;
    if let Some(reason) = &req.reason {
        if !DISPUTE_REASONS.contains(&reason.as_str()) {
            return Err(ApiError::invalid_param(
                "reason",
                format!("Invalid reason '{reason}'."),
            ));
        }
    }
    let (dispute, event) = {
        let mut store = sim.lock();
        let acct = store.account(&scope);
        let dispute = acct
            .disputes
            .get_mut(&id)
            .ok_or_else(|| ApiError::no_such("dispute", &id, "id"))?;
        if DISPUTE_CLOSED_STATUSES.contains(&dispute.status.as_str()) {
            return Err(ApiError::invalid(format!(
                "This dispute is already closed (status {}).",
                dispute.status
            )));
        }
        let mut previous = json!({ "status": dispute.status });
        if let Some(reason) = &req.reason {
            previous["reason"] = json!(dispute.reason);
            dispute.reason = reason.clone();
        }
        dispute.status = status;
        dispute.is_charge_refundable = dispute.status.starts_with("warning_");
        let snapshot = to_json(&*dispute);
        let event = store.emit(
            &sim.config.api_version,
            &scope,
            kind,
            snapshot.clone(),
            Some(previous),
            &RequestInfo::default(),
        );
        (snapshot, event)
    };
    dispatch(
        &sim,
        vec![event.clone()],
        req.deliver,
        req.delivery.as_ref(),
        req.wait_for_delivery,
    )
    .await;
    ok(json!({ "dispute": dispute, "events": [event] }))
}

async fn update_dispute(
    State(sim): State<Arc<Sim>>,
    Path(id): Path<String>,
    body: Bytes,
) -> ControlResult {
    change_dispute(sim, id, body, false).await
}

async fn close_dispute(
    State(sim): State<Arc<Sim>>,
    Path(id): Path<String>,
    body: Bytes,
) -> ControlResult {
    change_dispute(sim, id, body, true).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WebhookEndpointRequest {
    url: Option<String>,
    #[serde(default)]
    secret: Option<String>,
}

async fn set_webhook_endpoint(State(sim): State<Arc<Sim>>, body: Bytes) -> ControlResult {
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
async fn list_events(
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

async fn resend_event(
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

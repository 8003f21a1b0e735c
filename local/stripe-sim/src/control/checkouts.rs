//! Control endpoints for checkouts: an agent's purchase (with the checkout hooks), the
//! shipping and tax rates a hook answer can name, and session expiry.

use super::{ControlResult, dispatch, ok, parse};
use crate::checkout::{self, ExpireRequest, PurchaseRequest, parse_account};
use crate::errors::{ApiError, json_response};
use crate::expand::{self, Expand};
use crate::hooks::{
    self, CustomizeAnswer, Decision, FinalizeAnswer, ShippingRateData, TaxRateData,
};
use crate::model::to_json;
use crate::state::hooks::Hook;
use crate::state::{Scope, Sim};
use crate::timestamps::now;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use std::sync::Arc;

/// An agent's purchase: customize_checkout, the agent's shipping pick, finalize_checkout,
/// then a paid checkout (200) or an aborted one (402); a failed customize is a 424 that
/// leaves nothing behind.
pub async fn agentic_checkout(State(sim): State<Arc<Sim>>, body: Bytes) -> ControlResult {
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
            let data = draft.finalize_data(settings.finalize_sends_session);
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
pub async fn create_shipping_rate(State(sim): State<Arc<Sim>>, body: Bytes) -> ControlResult {
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
pub async fn create_tax_rate(State(sim): State<Arc<Sim>>, body: Bytes) -> ControlResult {
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

pub async fn expire_session(State(sim): State<Arc<Sim>>, body: Bytes) -> ControlResult {
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

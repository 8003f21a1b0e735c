//! `/v2/orchestrated_commerce/agreements` (a preview API: `Stripe-Version` must contain
//! `agreements_version_marker`), acting in the seller's `Stripe-Context`.

use super::{ApiResult, Ctx};
use crate::agreements::{self, NewAgreement, PATH};
use crate::errors::ApiError;
use crate::state::agreements::{OBJECT, Party};
use crate::webhooks;
use serde_json::{Map, Value, json};

/// The preview version, then the seller account the request acts for.
fn seller(ctx: &Ctx) -> Result<String, ApiError> {
    let marker = &ctx.sim.config.agreements_version_marker;
    let preview = ctx
        .stripe_version
        .as_deref()
        .is_some_and(|v| v.contains(marker.as_str()));
    if !preview {
        return Err(ApiError::invalid(format!(
            "The agreements API is in preview: send a Stripe-Version header containing `{marker}` (e.g. 2026-04-22.preview); got {}.",
            ctx.stripe_version.as_deref().unwrap_or("none")
        ))
        .not_replayable());
    }
    ctx.scope.clone().ok_or_else(|| {
        ApiError::invalid(
            "Agreements belong to a seller account: send `Stripe-Context: acct_…` (or `Stripe-Account`).",
        )
        .not_replayable()
    })
}

/// A JSON hash parameter whose members are all optional strings from `allowed`.
fn details(ctx: &Ctx, key: &str, allowed: &[&str]) -> Result<Map<String, Value>, ApiError> {
    let map = match ctx.params.0.get(key) {
        None | Some(Value::Null) => return Ok(Map::new()),
        Some(Value::Object(map)) => map.clone(),
        Some(_) => {
            return Err(ApiError::invalid_param(
                key,
                format!("Invalid object: `{key}` must be an object."),
            ));
        }
    };
    for (k, v) in &map {
        if !allowed.contains(&k.as_str()) {
            return Err(ApiError::unknown_param(&format!("{key}.{k}")));
        }
        if !(v.is_string() || v.is_null()) {
            return Err(ApiError::invalid_param(
                &format!("{key}.{k}"),
                format!("Invalid string: `{key}.{k}` must be a string."),
            ));
        }
    }
    Ok(map)
}

fn string(map: &Map<String, Value>, key: &str) -> Option<String> {
    map.get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

fn party(ctx: &Ctx, key: &str, default: Party) -> Result<Party, ApiError> {
    match ctx.params.0.get(key) {
        None | Some(Value::Null) => Ok(default),
        Some(Value::String(raw)) => Party::parse(raw).ok_or_else(|| {
            ApiError::invalid_param(
                key,
                format!("Invalid {key}: {raw}. Must be one of orchestrator or seller."),
            )
        }),
        Some(_) => Err(ApiError::invalid_param(
            key,
            format!("Invalid {key}: must be a string (orchestrator or seller)."),
        )),
    }
}

fn answer(ctx: &Ctx, account: &str, id: &str, events: Vec<String>) -> ApiResult {
    let value = {
        let store = ctx.sim.lock();
        store.agreements.get(account, id)?.to_json()
    };
    webhooks::spawn(&ctx.sim, events, ctx.sim.config.delivery.clone());
    Ok(value)
}

pub fn create(ctx: &Ctx) -> ApiResult {
    let account = seller(ctx)?;
    ctx.params
        .allow(&["orchestrator_details", "seller_details", "initiated_by"])?;
    let orchestrator = details(
        ctx,
        "orchestrator_details",
        &["name", "network_business_profile"],
    )?;
    let seller = details(ctx, "seller_details", &["network_business_profile"])?;
    let spec = NewAgreement {
        initiated_by: party(ctx, "initiated_by", Party::Seller)?,
        orchestrator_name: string(&orchestrator, "name"),
        orchestrator_profile: string(&orchestrator, "network_business_profile"),
        seller_profile: string(&seller, "network_business_profile"),
    };
    let (id, event) = agreements::create(&mut ctx.sim.lock(), &account, spec);
    answer(ctx, &account, &id, vec![event])
}

pub fn list(ctx: &Ctx) -> ApiResult {
    let account = seller(ctx)?;
    ctx.params.allow(&["limit", "page"])?;
    let limit = ctx.params.int("limit")?.unwrap_or(20);
    if !(1..=100).contains(&limit) {
        return Err(ApiError::invalid_param(
            "limit",
            "limit must be between 1 and 100.",
        ));
    }
    let limit = limit as usize;
    let store = ctx.sim.lock();
    let all = store.agreements.of_account(&account);
    // `page` is the id after which this page starts (newest first).
    let start = match ctx.params.non_empty_str("page")? {
        None => 0,
        Some(after) => {
            all.iter()
                .position(|a| a.id == after)
                .ok_or_else(|| ApiError::invalid_param("page", "Invalid page token."))?
                + 1
        }
    };
    let page: Vec<Value> = all
        .iter()
        .skip(start)
        .take(limit)
        .map(|a| a.to_json())
        .collect();
    let next = (all.len() > start + limit)
        .then(|| all.get(start + limit - 1).map(|a| a.id.clone()))
        .flatten()
        .map(|after| format!("{PATH}?limit={limit}&page={after}"));
    Ok(json!({ "data": page, "next_page_url": next, "previous_page_url": null }))
}

pub fn retrieve(ctx: &Ctx, id: &str) -> ApiResult {
    let account = seller(ctx)?;
    ctx.params.allow(&[])?;
    let store = ctx.sim.lock();
    Ok(store.agreements.get(&account, id)?.to_json())
}

pub fn confirm(ctx: &Ctx, id: &str) -> ApiResult {
    let account = seller(ctx)?;
    ctx.params.allow(&["party"])?;
    let party = party(ctx, "party", Party::Seller)?;
    let event = agreements::confirm(&mut ctx.sim.lock(), &account, id, party)?;
    answer(ctx, &account, id, vec![event])
}

pub fn terminate(ctx: &Ctx, id: &str) -> ApiResult {
    let account = seller(ctx)?;
    ctx.params.allow(&["party"])?;
    let party = party(ctx, "party", Party::Seller)?;
    let event = agreements::terminate(&mut ctx.sim.lock(), &account, id, party)?;
    answer(ctx, &account, id, vec![event])
}

/// Whether a thin event is about an agreement (its full form then carries `data: {}`).
pub fn is_agreement_event(event: &Value) -> bool {
    event["related_object"]["type"] == json!(OBJECT)
}

//! `GET /v1/payment_intents`, `GET /v1/payment_intents/{id}` and
//! `POST /v1/payment_intents/{id}/capture`.

use super::{ApiResult, Ctx, merge_metadata, paginate};
use crate::errors::ApiError;
use crate::expand::{self, Expand, Kind};
use crate::model::{PaymentIntent, to_json};
use crate::webhooks;

/// The account's intents, newest first, with `limit`, `starting_after`, `ending_before`
/// and `expand[]=data.latest_charge` (the SDKs' list helpers and auto-pagination). Stripe's
/// other filters (`created`, `customer`) are not emulated, so they are refused as unknown.
pub fn list(ctx: &Ctx) -> ApiResult {
    ctx.params
        .allow(&["limit", "starting_after", "ending_before", "expand"])?;
    let ex = Expand::parse(Kind::PaymentIntentList, &ctx.params.list("expand")?)?;
    let mut store = ctx.sim.lock();
    let acct = store.account(&ctx.scope);
    let mut intents: Vec<&PaymentIntent> = acct.payment_intents.values().collect();
    intents.sort_by(|a, b| (b.created, b.seq, &b.id).cmp(&(a.created, a.seq, &a.id)));
    let (page, has_more) = paginate(ctx, intents, |pi| &pi.id, "payment_intent")?;
    let empty = Expand::default();
    let item_ex = ex.get("data").unwrap_or(&empty);
    let data = page
        .into_iter()
        .map(|pi| expand::payment_intent(acct, &pi.id, item_ex))
        .collect();
    Ok(expand::list(data, has_more, "/v1/payment_intents"))
}

pub fn retrieve(ctx: &Ctx, id: &str) -> ApiResult {
    ctx.params.allow(&["expand", "client_secret"])?;
    let ex = Expand::parse(Kind::PaymentIntent, &ctx.params.list("expand")?)?;
    let mut store = ctx.sim.lock();
    let acct = store.account(&ctx.scope);
    if !acct.payment_intents.contains_key(id) {
        return Err(ApiError::no_such("payment_intent", id, "intent"));
    }
    Ok(expand::payment_intent(acct, id, &ex))
}

/// Captures an authorised (manual-capture) intent: the charge becomes captured, the
/// session paid, and `payment_intent.succeeded` goes out.
pub fn capture(ctx: &Ctx, id: &str) -> ApiResult {
    ctx.params
        .allow(&["amount_to_capture", "expand", "metadata"])?;
    let ex = Expand::parse(Kind::PaymentIntent, &ctx.params.list("expand")?)?;
    let amount_to_capture = ctx.params.int("amount_to_capture")?;
    let metadata = ctx.params.metadata("metadata")?;
    if amount_to_capture.is_some_and(|a| a < 1) {
        return Err(ApiError::invalid_param(
            "amount_to_capture",
            "This value must be greater than or equal to 1.",
        ));
    }

    let mut store = ctx.sim.lock();
    let acct = store.account(&ctx.scope);
    let pi = acct
        .payment_intents
        .get_mut(id)
        .ok_or_else(|| ApiError::no_such("payment_intent", id, "intent"))?;
    if pi.status != "requires_capture" {
        return Err(ApiError::invalid(format!(
            "This PaymentIntent could not be captured because it has a status of {}. Only a PaymentIntent with one of the following statuses may be captured: requires_capture.",
            pi.status
        ))
        .code("payment_intent_unexpected_state")
        .extra("payment_intent", to_json(pi)));
    }
    let amount = amount_to_capture.unwrap_or(pi.amount_capturable);
    if amount > pi.amount_capturable {
        return Err(ApiError::invalid(format!(
            "The amount to capture ({amount}) cannot be greater than the amount capturable ({}).",
            pi.amount_capturable
        ))
        .code("amount_too_large")
        .param("amount_to_capture"));
    }
    pi.status = "succeeded".into();
    pi.amount_received = amount;
    pi.amount_capturable = 0;
    merge_metadata(&mut pi.metadata, metadata);
    let charge_id = pi.latest_charge.clone();
    if let Some(charge) = charge_id.and_then(|c| acct.charges.get_mut(&c)) {
        charge.captured = true;
        charge.amount_captured = amount;
    }
    for session in acct
        .sessions
        .values_mut()
        .filter(|s| s.payment_intent.as_deref() == Some(id))
    {
        session.payment_status = "paid";
    }
    let snapshot = acct
        .payment_intents
        .get(id)
        .map(to_json)
        .unwrap_or_default();
    let response = expand::payment_intent(acct, id, &ex);
    let event = store.emit(
        ctx.api_version(),
        &ctx.scope,
        "payment_intent.succeeded",
        snapshot,
        None,
        &ctx.request,
    );
    drop(store);
    webhooks::spawn(&ctx.sim, vec![event], ctx.sim.config.delivery.clone());
    Ok(response)
}

//! `GET /v1/checkout/sessions/{id}`, `GET /v1/checkout/sessions`, and the session's
//! `line_items` sub-list. Sessions are created through the control surface, as on real
//! Stripe the agent's checkout creates them, not the platform.

use super::{ApiResult, Ctx, paginate};
use crate::errors::ApiError;
use crate::expand::{self, Expand, Kind};
use crate::model::CheckoutSession;

pub fn retrieve(ctx: &Ctx, id: &str) -> ApiResult {
    ctx.params.allow(&["expand"])?;
    let ex = Expand::parse(Kind::Session, &ctx.params.list("expand")?)?;
    let mut store = ctx.sim.lock();
    let acct = store.account(&ctx.scope);
    let session = acct
        .sessions
        .get(id)
        .ok_or_else(|| ApiError::no_such("checkout.session", id, "id"))?;
    Ok(expand::session(acct, session, &ex))
}

pub fn list(ctx: &Ctx) -> ApiResult {
    ctx.params.allow(&[
        "payment_intent",
        "status",
        "limit",
        "starting_after",
        "ending_before",
        "expand",
    ])?;
    let ex = Expand::parse(Kind::SessionList, &ctx.params.list("expand")?)?;
    let payment_intent = ctx.params.non_empty_str("payment_intent")?;
    let status = ctx.params.non_empty_str("status")?;
    if let Some(status) = status {
        if !["open", "complete", "expired"].contains(&status) {
            return Err(ApiError::invalid_param(
                "status",
                format!(
                    "Invalid status: must be one of open, complete, or expired (got {status})."
                ),
            ));
        }
    }
    let mut store = ctx.sim.lock();
    let acct = store.account(&ctx.scope);
    let mut sessions: Vec<&CheckoutSession> = acct
        .sessions
        .values()
        .filter(|s| payment_intent.is_none_or(|pi| s.payment_intent.as_deref() == Some(pi)))
        .filter(|s| status.is_none_or(|st| s.status == st))
        .collect();
    sessions.sort_by_key(|s| std::cmp::Reverse(s.seq));
    let (page, has_more) = paginate(ctx, sessions, |s| &s.id, "checkout.session")?;
    let empty = Expand::default();
    let item_ex = ex.get("data").unwrap_or(&empty);
    let data = page
        .into_iter()
        .map(|s| expand::session(acct, s, item_ex))
        .collect();
    Ok(expand::list(data, has_more, "/v1/checkout/sessions"))
}

pub fn line_items(ctx: &Ctx, id: &str) -> ApiResult {
    ctx.params
        .allow(&["limit", "starting_after", "ending_before", "expand"])?;
    let ex = Expand::parse(Kind::LineItemList, &ctx.params.list("expand")?)?;
    let mut store = ctx.sim.lock();
    let acct = store.account(&ctx.scope);
    let session = acct
        .sessions
        .get(id)
        .ok_or_else(|| ApiError::no_such("checkout.session", id, "session"))?;
    let (page, has_more) = paginate(
        ctx,
        session.line_items.iter().collect(),
        |li| &li.id,
        "line_item",
    )?;
    let empty = Expand::default();
    let item_ex = ex.get("data").unwrap_or(&empty);
    let data = page
        .into_iter()
        .map(|li| expand::line_item(acct, li, item_ex))
        .collect();
    Ok(expand::list(
        data,
        has_more,
        &format!("/v1/checkout/sessions/{id}/line_items"),
    ))
}

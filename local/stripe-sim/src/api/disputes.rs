//! `GET /v1/disputes/{id}`. Disputes are opened and moved through the control surface,
//! since on real Stripe the card network drives them.

use super::{ApiResult, Ctx};
use crate::errors::ApiError;
use crate::expand::{self, Expand, Kind};
use crate::model::to_json;

pub fn retrieve(ctx: &Ctx, id: &str) -> ApiResult {
    ctx.params.allow(&["expand"])?;
    let ex = Expand::parse(Kind::Dispute, &ctx.params.list("expand")?)?;
    let mut store = ctx.sim.lock();
    let acct = store.account(&ctx.scope);
    let dispute = acct
        .disputes
        .get(id)
        .ok_or_else(|| ApiError::no_such("dispute", id, "id"))?;
    Ok(expand::charge_and_intent(
        acct,
        to_json(dispute),
        &dispute.charge,
        dispute.payment_intent.as_deref(),
        &ex,
    ))
}

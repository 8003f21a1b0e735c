//! `GET /v1/charges/{id}`.

use super::{ApiResult, Ctx};
use crate::errors::ApiError;
use crate::expand::{self, Expand, Kind};

pub fn retrieve(ctx: &Ctx, id: &str) -> ApiResult {
    ctx.params.allow(&["expand"])?;
    let ex = Expand::parse(Kind::Charge, &ctx.params.list("expand")?)?;
    let mut store = ctx.sim.lock();
    let acct = store.account(&ctx.scope);
    if !acct.charges.contains_key(id) {
        return Err(ApiError::no_such("charge", id, "id"));
    }
    Ok(expand::charge(acct, id, &ex))
}

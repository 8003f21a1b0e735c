//! `GET /v1/checkout/sessions/{id}`, `GET /v1/checkout/sessions`, and the session's
//! `line_items` sub-list. Sessions are created through the control surface, as on real
//! Stripe the agent's checkout creates them, not the platform.

use super::{ApiResult, Ctx, paginate};
use crate::errors::ApiError;
use crate::expand::{self, Expand, Kind};
use crate::form::Params;
use crate::model::CheckoutSession;

/// The list's `created` filter, as Stripe documents it for list endpoints: either an exact
/// unix time (`created=…`) or a range of any of `gt`, `gte`, `lt`, `lte`
/// (`created[gte]=…`), all bounds applying together.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct CreatedFilter {
    pub gt: Option<i64>,
    pub gte: Option<i64>,
    pub lt: Option<i64>,
    pub lte: Option<i64>,
}

impl CreatedFilter {
    pub fn parse(params: &Params) -> Result<Self, ApiError> {
        let integer = |name: &str, value: &serde_json::Value| {
            let raw = value.as_str().ok_or_else(|| {
                ApiError::invalid_param(name, format!("Invalid integer: {value}"))
                    .code("parameter_invalid_integer")
            })?;
            raw.parse::<i64>().map_err(|_| {
                ApiError::invalid_param(name, format!("Invalid integer: {raw}"))
                    .code("parameter_invalid_integer")
            })
        };
        match params.0.get("created") {
            None => Ok(Self::default()),
            Some(serde_json::Value::String(s)) if s.is_empty() => Ok(Self::default()),
            Some(exact @ serde_json::Value::String(_)) => {
                let at = integer("created", exact)?;
                Ok(Self {
                    gte: Some(at),
                    lte: Some(at),
                    ..Self::default()
                })
            }
            Some(serde_json::Value::Object(range)) => {
                let mut filter = Self::default();
                for (op, value) in range {
                    let name = format!("created[{op}]");
                    let bound = Some(integer(&name, value)?);
                    match op.as_str() {
                        "gt" => filter.gt = bound,
                        "gte" => filter.gte = bound,
                        "lt" => filter.lt = bound,
                        "lte" => filter.lte = bound,
                        _ => return Err(ApiError::unknown_param(&name)),
                    }
                }
                Ok(filter)
            }
            Some(_) => Err(ApiError::invalid_param(
                "created",
                "Invalid created: must be an integer or a hash of gt, gte, lt, lte.",
            )),
        }
    }

    pub fn admits(&self, created: i64) -> bool {
        self.gt.is_none_or(|b| created > b)
            && self.gte.is_none_or(|b| created >= b)
            && self.lt.is_none_or(|b| created < b)
            && self.lte.is_none_or(|b| created <= b)
    }
}

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
        "created",
    ])?;
    let ex = Expand::parse(Kind::SessionList, &ctx.params.list("expand")?)?;
    let created = CreatedFilter::parse(&ctx.params)?;
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
        .filter(|s| created.admits(s.created))
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

#[cfg(test)]
mod tests {
    use super::*;

    fn filter(query: &str) -> Result<CreatedFilter, ApiError> {
        CreatedFilter::parse(&Params::parse(Some(query), b"").unwrap())
    }

    #[test]
    fn created_takes_an_exact_time_or_any_range_of_the_four_operators() {
        let exact = filter("created=100").unwrap();
        assert!(exact.admits(100) && !exact.admits(99) && !exact.admits(101));
        let range = filter("created[gte]=100&created[lt]=200").unwrap();
        assert!(range.admits(100) && range.admits(199));
        assert!(!range.admits(99) && !range.admits(200));
        let open = filter("created[gt]=100&created[lte]=200").unwrap();
        assert!(!open.admits(100) && open.admits(101) && open.admits(200) && !open.admits(201));
        assert!(filter("").unwrap().admits(i64::MIN));
    }

    #[test]
    fn created_refuses_unknown_operators_and_non_integers() {
        assert!(filter("created[since]=1").is_err());
        assert!(filter("created[gte]=soon").is_err());
        assert!(filter("created=yesterday").is_err());
    }
}

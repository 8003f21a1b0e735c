//! `POST /v1/refunds`, `GET /v1/refunds/{id}`.

use super::{ApiResult, Ctx, merge_metadata};
use crate::errors::ApiError;
use crate::expand::{self, Expand, Kind};
use crate::model::{Refund, to_json};
use crate::timestamps::now;
use crate::{ids, webhooks};
use serde_json::Map;

const REASONS: &[&str] = &["duplicate", "fraudulent", "requested_by_customer"];

pub fn retrieve(ctx: &Ctx, id: &str) -> ApiResult {
    ctx.params.allow(&["expand"])?;
    let ex = Expand::parse(Kind::Refund, &ctx.params.list("expand")?)?;
    let mut store = ctx.sim.lock();
    let acct = store.account(&ctx.scope);
    let refund = acct
        .refunds
        .get(id)
        .ok_or_else(|| ApiError::no_such("refund", id, "id"))?;
    Ok(expand::charge_and_intent(
        acct,
        to_json(refund),
        &refund.charge,
        refund.payment_intent.as_deref(),
        &ex,
    ))
}

/// Formats minor units the way Stripe's refund messages do (`$12.34`).
fn money(amount: i64, currency: &str) -> String {
    let value = format!("{}.{:02}", amount / 100, amount % 100);
    if currency == "usd" {
        format!("${value}")
    } else {
        format!("{value} {}", currency.to_uppercase())
    }
}

/// Refunds part or all of a captured charge; emits `charge.refunded` then `refund.created`.
pub fn create(ctx: &Ctx) -> ApiResult {
    ctx.params.allow(&[
        "amount",
        "charge",
        "payment_intent",
        "reason",
        "metadata",
        "expand",
        "refund_application_fee",
        "reverse_transfer",
        "instructions_email",
    ])?;
    let ex = Expand::parse(Kind::Refund, &ctx.params.list("expand")?)?;
    let amount = ctx.params.int("amount")?;
    let charge_param = ctx.params.non_empty_str("charge")?;
    let intent_param = ctx.params.non_empty_str("payment_intent")?;
    let reason = ctx.params.non_empty_str("reason")?;
    let metadata = ctx.params.metadata("metadata")?;
    ctx.params.bool("refund_application_fee")?;
    ctx.params.bool("reverse_transfer")?;
    ctx.params.str("instructions_email")?;
    if let Some(reason) = reason {
        if !REASONS.contains(&reason) {
            return Err(ApiError::invalid_param(
                "reason",
                format!(
                    "Invalid reason: must be one of duplicate, fraudulent, or requested_by_customer (got {reason})."
                ),
            ));
        }
    }
    if amount.is_some_and(|a| a < 1) {
        return Err(ApiError::invalid_param(
            "amount",
            "Invalid positive integer: amount must be at least 1.",
        ));
    }

    let mut store = ctx.sim.lock();
    let acct = store.account(&ctx.scope);
    let charge_id = match (charge_param, intent_param) {
        (Some(charge), None) => charge.to_string(),
        (charge, Some(intent)) => {
            let pi = acct
                .payment_intents
                .get(intent)
                .ok_or_else(|| ApiError::no_such("payment_intent", intent, "payment_intent"))?;
            let latest = pi.latest_charge.clone().ok_or_else(|| {
                ApiError::invalid(format!(
                    "This PaymentIntent ({intent}) does not have a successful charge to refund."
                ))
                .param("payment_intent")
            })?;
            if charge.is_some_and(|c| c != latest) {
                return Err(ApiError::invalid(format!(
                    "The charge you provided does not belong to PaymentIntent {intent}."
                ))
                .param("charge"));
            }
            latest
        }
        (None, None) => {
            return Err(ApiError::invalid_param(
                "charge",
                "One of `charge` or `payment_intent` is required.",
            ));
        }
    };
    let open_dispute = acct
        .disputes
        .values()
        .any(|d| d.charge == charge_id && !d.is_closed() && !d.is_charge_refundable);
    let charge = acct
        .charges
        .get_mut(&charge_id)
        .ok_or_else(|| ApiError::no_such("charge", &charge_id, "charge"))?;
    if !charge.captured {
        return Err(ApiError::invalid(format!(
            "Charge {charge_id} has not been captured, so it cannot be refunded. Cancel the PaymentIntent to release the authorization."
        ))
        .code("charge_not_refundable"));
    }
    let remaining = charge.amount_captured - charge.amount_refunded;
    if remaining <= 0 {
        return Err(
            ApiError::invalid(format!("Charge {charge_id} has already been refunded."))
                .code("charge_already_refunded"),
        );
    }
    let amount = amount.unwrap_or(remaining);
    if amount > remaining {
        return Err(ApiError::invalid(format!(
            "Refund amount ({}) is greater than unrefunded amount on charge ({})",
            money(amount, &charge.currency),
            money(remaining, &charge.currency)
        ))
        .code("amount_too_large")
        .param("amount"));
    }
    if open_dispute {
        return Err(ApiError::invalid(format!(
            "Charge {charge_id} has been charged back; cannot issue a refund."
        ))
        .code("charge_disputed"));
    }
    charge.amount_refunded += amount;
    charge.refunded = charge.amount_refunded >= charge.amount_captured;
    let mut refund_metadata = Map::new();
    merge_metadata(&mut refund_metadata, metadata);
    let refund = Refund {
        id: ids::refund(),
        object: "refund",
        amount,
        balance_transaction: None,
        charge: charge_id.clone(),
        created: now(),
        currency: charge.currency.clone(),
        metadata: refund_metadata,
        payment_intent: charge.payment_intent.clone(),
        reason: reason.map(String::from),
        receipt_number: None,
        status: "succeeded",
    };
    let charge_snapshot = to_json(&*charge);
    let refund_snapshot = to_json(&refund);
    let response = expand::charge_and_intent(
        acct,
        refund_snapshot.clone(),
        &charge_id,
        refund.payment_intent.as_deref(),
        &ex,
    );
    acct.refunds.insert(refund.id.clone(), refund);
    let version = ctx.api_version();
    let events = vec![
        store.emit(
            version,
            &ctx.scope,
            "charge.refunded",
            charge_snapshot,
            None,
            &ctx.request,
        ),
        store.emit(
            version,
            &ctx.scope,
            "refund.created",
            refund_snapshot,
            None,
            &ctx.request,
        ),
    ];
    drop(store);
    webhooks::spawn(&ctx.sim, events, ctx.sim.config.delivery.clone());
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::money;

    #[test]
    fn money_formats_minor_units() {
        assert_eq!(money(1234, "usd"), "$12.34");
        assert_eq!(money(5, "eur"), "0.05 EUR");
    }
}

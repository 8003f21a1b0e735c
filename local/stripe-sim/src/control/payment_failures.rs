//! `POST /_sim/payment_failures`: a failed payment attempt and its event.

use super::{ControlResult, dispatch, ok, parse};
use crate::checkout::{self, parse_account};
use crate::errors::ApiError;
use crate::ids;
use crate::model::{Metadata, PaymentIntent, to_json};
use crate::state::Sim;
use crate::state::events::RequestInfo;
use crate::timestamps::now;
use crate::webhooks::DeliveryOverrides;
use axum::body::Bytes;
use axum::extract::State;
use serde::Deserialize;
use serde_json::json;
use std::sync::Arc;

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
pub async fn payment_failure(State(sim): State<Arc<Sim>>, body: Bytes) -> ControlResult {
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
        let seq = store.next_seq();
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
                    seq,
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

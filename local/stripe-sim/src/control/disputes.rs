//! Disputes as a card network opens, updates and closes them, with their events.

use super::{ControlResult, dispatch, ok, parse};
use crate::checkout::parse_account;
use crate::errors::ApiError;
use crate::ids;
use crate::model::{DISPUTE_CLOSED_STATUSES, DISPUTE_OPEN_STATUSES, Dispute, Metadata, to_json};
use crate::state::events::RequestInfo;
use crate::state::{Scope, Sim};
use crate::timestamps::now;
use crate::webhooks::DeliveryOverrides;
use axum::body::Bytes;
use axum::extract::{Path, State};
use serde::Deserialize;
use serde_json::json;
use std::sync::Arc;

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

pub async fn create_dispute(State(sim): State<Arc<Sim>>, body: Bytes) -> ControlResult {
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

pub async fn update_dispute(
    State(sim): State<Arc<Sim>>,
    Path(id): Path<String>,
    body: Bytes,
) -> ControlResult {
    change_dispute(sim, id, body, false).await
}

pub async fn close_dispute(
    State(sim): State<Arc<Sim>>,
    Path(id): Path<String>,
    body: Bytes,
) -> ControlResult {
    change_dispute(sim, id, body, true).await
}

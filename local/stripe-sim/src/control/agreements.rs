//! Control endpoints for agreements: an orchestrator's side of the story (create and walk an
//! agreement through its transitions) and redelivery of an agreement's thin events in a
//! chosen order, with duplicates, so a consumer's convergence can be tested.

use super::{ControlResult, dispatch, ok, parse};
use crate::DeliveryOptions;
use crate::agreements::{self, NewAgreement};
use crate::checkout::parse_account;
use crate::errors::ApiError;
use crate::state::Sim;
use crate::state::agreements::Party;
use crate::webhooks::{self, DeliveryOverrides, MAX_DUPLICATES};
use axum::body::Bytes;
use axum::extract::{Path, State};
use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::Arc;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateRequest {
    account: String,
    #[serde(default)]
    orchestrator_name: Option<String>,
    #[serde(default)]
    orchestrator_network_business_profile: Option<String>,
    #[serde(default)]
    seller_network_business_profile: Option<String>,
    /// `none` (default), `orchestrator` or `both` (orchestrator first, then seller).
    #[serde(default)]
    confirm: Option<String>,
    #[serde(default)]
    terminate: bool,
    /// Who terminates (default orchestrator).
    #[serde(default)]
    terminated_by: Option<String>,
    #[serde(default)]
    deliver: Option<bool>,
    #[serde(default)]
    delivery: Option<DeliveryOverrides>,
    #[serde(default)]
    wait_for_delivery: bool,
}

fn party_field(name: &str, raw: Option<&str>) -> Result<Party, ApiError> {
    match raw {
        None => Ok(Party::Orchestrator),
        Some(raw) => Party::parse(raw).ok_or_else(|| {
            ApiError::invalid_param(name, format!("{name} must be orchestrator or seller."))
        }),
    }
}

/// `POST /_sim/agreements`: an orchestrator proposes an agreement to `account` and it goes
/// through the requested transitions → `{agreement, events}`.
pub async fn create(State(sim): State<Arc<Sim>>, body: Bytes) -> ControlResult {
    let req: CreateRequest = parse(&body)?;
    let Some(account) = parse_account(Some(&req.account))? else {
        return Err(ApiError::missing_param("account"));
    };
    let confirmations: &[Party] = match req.confirm.as_deref() {
        None | Some("none") => &[],
        Some("orchestrator") => &[Party::Orchestrator],
        Some("seller") => &[Party::Seller],
        Some("both") => &[Party::Orchestrator, Party::Seller],
        Some(_) => {
            return Err(ApiError::invalid_param(
                "confirm",
                "confirm must be none, orchestrator, seller or both.",
            ));
        }
    };
    let terminated_by = party_field("terminated_by", req.terminated_by.as_deref())?;
    let (agreement, events) = {
        let mut store = sim.lock();
        let name = req
            .orchestrator_name
            .clone()
            .unwrap_or_else(|| "Sim Orchestrator".into());
        let (id, created) = agreements::create(
            &mut store,
            &account,
            NewAgreement {
                initiated_by: Party::Orchestrator,
                orchestrator_name: Some(name),
                orchestrator_profile: req.orchestrator_network_business_profile.clone(),
                seller_profile: req.seller_network_business_profile.clone(),
            },
        );
        let mut events = vec![created];
        for party in confirmations {
            events.push(agreements::confirm(&mut store, &account, &id, *party)?);
        }
        if req.terminate {
            events.push(agreements::terminate(
                &mut store,
                &account,
                &id,
                terminated_by,
            )?);
        }
        (store.agreements.get(&account, &id)?.to_json(), events)
    };
    dispatch(
        &sim,
        events.clone(),
        req.deliver,
        req.delivery.as_ref(),
        req.wait_for_delivery,
    )
    .await;
    ok(json!({ "agreement": agreement, "events": events }))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RedeliverRequest {
    /// Event ids in the order to send (any of the agreement's, repeats allowed), or
    /// `"reverse"`; default: the order they happened in.
    #[serde(default)]
    order: Option<Value>,
    #[serde(default)]
    duplicates: Option<u32>,
    #[serde(default)]
    delay_ms: Option<u64>,
    #[serde(default)]
    wait_for_delivery: bool,
}

/// `POST /_sim/agreements/{id}/redeliver`: sends the agreement's thin events again, in the
/// given order; `duplicates` extra rounds of the whole sequence follow.
pub async fn redeliver(
    State(sim): State<Arc<Sim>>,
    Path(id): Path<String>,
    body: Bytes,
) -> ControlResult {
    let req: RedeliverRequest = parse(&body)?;
    let own = sim
        .lock()
        .agreements
        .agreements
        .get(&id)
        .map(|a| a.events.clone())
        .ok_or_else(|| ApiError::no_such("agreement", &id, "id"))?;
    let order: Vec<String> = match &req.order {
        None | Some(Value::Null) => own,
        Some(Value::String(s)) if s == "reverse" => own.into_iter().rev().collect(),
        Some(Value::Array(items)) => {
            let ids: Vec<String> = items
                .iter()
                .map(|v| {
                    v.as_str()
                        .map(str::to_string)
                        .ok_or_else(|| ApiError::invalid_param("order", "order lists event ids."))
                })
                .collect::<Result<_, _>>()?;
            if let Some(stranger) = ids.iter().find(|e| !own.contains(e)) {
                return Err(ApiError::invalid_param(
                    "order",
                    format!("{stranger} is not an event of agreement {id}."),
                ));
            }
            ids
        }
        Some(_) => {
            return Err(ApiError::invalid_param(
                "order",
                "order must be a list of event ids or \"reverse\".",
            ));
        }
    };
    let options = DeliveryOptions {
        duplicates: req.duplicates.unwrap_or(0).min(MAX_DUPLICATES),
        reorder: false,
        delay_ms: req.delay_ms.unwrap_or(0).min(webhooks::MAX_DELAY_MS),
        max_attempts: sim.config.delivery.max_attempts,
    };
    let planned = webhooks::plan(&order, &options);
    if req.wait_for_delivery {
        webhooks::deliver(Arc::clone(&sim), order.clone(), options).await;
    } else {
        webhooks::spawn(&sim, order.clone(), options);
    }
    ok(json!({ "order": order, "deliveries": planned }))
}

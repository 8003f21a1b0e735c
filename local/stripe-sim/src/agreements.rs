//! Orchestrated-commerce agreements (docs/stripe.md §5): which orchestrator (an AI agent's
//! platform) may sell a seller's products. Both parties confirm; either may terminate, and
//! `terminated` is final. Every change emits a v2 thin event
//! (`v2.orchestrated_commerce.agreement.{created, partially_confirmed, confirmed,
//! terminated}`) in the seller's context.
//!
//! The API handlers (`/v2/orchestrated_commerce/agreements`) and the control endpoints
//! (`/_sim/agreements`) both drive the functions here.

use crate::errors::ApiError;
use crate::state::Store;
use crate::state::agreements::{Agreement, OBJECT, Party};
use serde_json::json;
use sha2::{Digest, Sha256};
use std::time::SystemTime;

pub const EVENT_PREFIX: &str = "v2.orchestrated_commerce.agreement";
pub const PATH: &str = "/v2/orchestrated_commerce/agreements";

/// What a new agreement starts from; unset profiles are derived from the names.
#[derive(Debug, Clone)]
pub struct NewAgreement {
    pub initiated_by: Party,
    pub orchestrator_name: Option<String>,
    pub orchestrator_profile: Option<String>,
    pub seller_profile: Option<String>,
}

pub fn agreement_id() -> String {
    format!("orca_test_{}", crate::ids::random_alphanumeric(24))
}

/// A stable, profile-like id for a name, so one orchestrator looks the same everywhere.
pub fn profile_for(name: &str) -> String {
    format!(
        "profile_{}",
        &hex::encode(Sha256::digest(name.as_bytes()))[..24]
    )
}

fn emit(store: &mut Store, id: &str, change: &str) -> String {
    let Some(account) = store
        .agreements
        .agreements
        .get(id)
        .map(|a| a.account.clone())
    else {
        return String::new();
    };
    let event = store.emit_thin(
        &Some(account),
        &format!("{EVENT_PREFIX}.{change}"),
        json!({ "id": id, "type": OBJECT, "url": format!("{PATH}/{id}") }),
    );
    if let Some(agreement) = store.agreements.agreements.get_mut(id) {
        agreement.events.push(event.clone());
    }
    event
}

/// Creates an agreement in `account`; answers its id and the `created` event.
pub fn create(store: &mut Store, account: &str, spec: NewAgreement) -> (String, String) {
    let id = agreement_id();
    let orchestrator_profile = spec.orchestrator_profile.unwrap_or_else(|| {
        profile_for(spec.orchestrator_name.as_deref().unwrap_or("orchestrator"))
    });
    let agreement = Agreement {
        id: id.clone(),
        account: account.to_string(),
        created: SystemTime::now(),
        initiated_by: spec.initiated_by,
        orchestrator_name: spec.orchestrator_name,
        orchestrator_profile,
        seller_profile: spec.seller_profile.unwrap_or_else(|| profile_for(account)),
        orchestrator_confirmed_at: None,
        seller_confirmed_at: None,
        terminated_at: None,
        terminated_by: None,
        events: Vec::new(),
    };
    store.agreements.agreements.insert(id.clone(), agreement);
    store.agreements.order.push(id.clone());
    let event = emit(store, &id, "created");
    (id, event)
}

fn terminated_error(id: &str, action: &str) -> ApiError {
    ApiError::invalid(format!(
        "Agreement {id} is terminated and can no longer be {action}: terminated is final."
    ))
}

/// `party` confirms: `partially_confirmed` after one side, `confirmed` after both.
pub fn confirm(
    store: &mut Store,
    account: &str,
    id: &str,
    party: Party,
) -> Result<String, ApiError> {
    let agreement = store.agreements.get(account, id)?;
    if agreement.terminated_at.is_some() {
        return Err(terminated_error(id, "confirmed"));
    }
    let already = match party {
        Party::Orchestrator => agreement.orchestrator_confirmed_at.is_some(),
        Party::Seller => agreement.seller_confirmed_at.is_some(),
    };
    if already {
        return Err(ApiError::invalid(format!(
            "Agreement {id} is already confirmed by the {}.",
            party.as_str()
        ))
        .param("party"));
    }
    let now = Some(SystemTime::now());
    let status = {
        let Some(agreement) = store.agreements.agreements.get_mut(id) else {
            return Err(ApiError::no_such(OBJECT, id, "id"));
        };
        match party {
            Party::Orchestrator => agreement.orchestrator_confirmed_at = now,
            Party::Seller => agreement.seller_confirmed_at = now,
        }
        agreement.status()
    };
    Ok(emit(store, id, status))
}

/// `party` terminates; a terminated agreement stays terminated.
pub fn terminate(
    store: &mut Store,
    account: &str,
    id: &str,
    party: Party,
) -> Result<String, ApiError> {
    if store.agreements.get(account, id)?.terminated_at.is_some() {
        return Err(terminated_error(id, "terminated"));
    }
    if let Some(agreement) = store.agreements.agreements.get_mut(id) {
        agreement.terminated_at = Some(SystemTime::now());
        agreement.terminated_by = Some(party);
    }
    Ok(emit(store, id, "terminated"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SimConfig;
    use crate::state::Sim;

    #[test]
    fn lifecycle_and_final_termination() {
        let sim = Sim::new(SimConfig::default()).expect("sim");
        let mut store = sim.lock();
        let (id, created) = create(
            &mut store,
            "acct_1",
            NewAgreement {
                initiated_by: Party::Seller,
                orchestrator_name: Some("Agent".into()),
                orchestrator_profile: None,
                seller_profile: None,
            },
        );
        assert!(id.starts_with("orca_"));
        let status = |store: &Store| store.agreements.agreements[&id].status();
        assert_eq!(status(&store), "initiated");
        assert!(store.agreements.get("acct_2", &id).is_err());
        let first = confirm(&mut store, "acct_1", &id, Party::Seller).expect("confirm");
        assert_eq!(status(&store), "partially_confirmed");
        assert!(confirm(&mut store, "acct_1", &id, Party::Seller).is_err());
        let second = confirm(&mut store, "acct_1", &id, Party::Orchestrator).expect("confirm");
        assert_eq!(status(&store), "confirmed");
        let last = terminate(&mut store, "acct_1", &id, Party::Orchestrator).expect("terminate");
        assert_eq!(status(&store), "terminated");
        assert!(terminate(&mut store, "acct_1", &id, Party::Seller).is_err());
        assert!(confirm(&mut store, "acct_1", &id, Party::Seller).is_err());
        let types: Vec<String> = [&created, &first, &second, &last]
            .iter()
            .map(|e| store.event(e).expect("event").event["type"].to_string())
            .collect();
        assert_eq!(
            types,
            [
                "\"v2.orchestrated_commerce.agreement.created\"",
                "\"v2.orchestrated_commerce.agreement.partially_confirmed\"",
                "\"v2.orchestrated_commerce.agreement.confirmed\"",
                "\"v2.orchestrated_commerce.agreement.terminated\"",
            ]
        );
        assert_eq!(
            store.agreements.agreements[&id].events,
            [created, first, second, last]
        );
    }
}

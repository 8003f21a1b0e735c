//! Agreements: which AI agents (orchestrators) may sell a merchant's products
//! (STRIPE.md §5). We keep Stripe's latest state per account and agreement.
//!
//! Thin events say only that an agreement changed; the function re-fetches it, so the
//! stored state is always one Stripe has shown. Reordered deliveries still could race a
//! newer fetch with an older one, so the write is conditional on the state's progress:
//! `initiated` < `partially_confirmed` < `confirmed` < `terminated`, and within a status
//! the number of recorded transitions. A stale state never overwrites a newer one, and
//! `terminated` is final.

use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StatusTransitions {
    #[serde(default)]
    pub orchestrator_confirmed_at: Option<String>,
    #[serde(default)]
    pub seller_confirmed_at: Option<String>,
    #[serde(default)]
    pub terminated_at: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Agreement {
    pub account_id: String,
    pub agreement_id: String,
    pub status: String,
    #[serde(default)]
    pub initiated_by: Option<String>,
    #[serde(default)]
    pub orchestrator_name: Option<String>,
    #[serde(default)]
    pub orchestrator_profile: Option<String>,
    #[serde(default)]
    pub seller_profile: Option<String>,
    #[serde(default)]
    pub status_transitions: StatusTransitions,
    #[serde(default)]
    pub terminated_by: Option<String>,
    #[serde(default)]
    pub created: Option<String>,
    /// Progress of this state, compared by the conditional write.
    pub progress: i64,
}

fn status_rank(status: &str) -> i64 {
    match status {
        "initiated" => 0,
        "partially_confirmed" => 1,
        "confirmed" => 2,
        "terminated" => 3,
        _ => 0,
    }
}

impl Agreement {
    /// From Stripe's `v2.orchestrated_commerce.agreement` object.
    pub fn from_stripe(account_id: &str, object: &Value) -> Option<Self> {
        let text = |pointer: &str| {
            object
                .pointer(pointer)
                .and_then(Value::as_str)
                .map(str::to_string)
        };
        let transitions: StatusTransitions = object
            .get("status_transitions")
            .and_then(|t| serde_json::from_value(t.clone()).ok())
            .unwrap_or_default();
        let status = text("/status")?;
        let recorded = [
            &transitions.orchestrator_confirmed_at,
            &transitions.seller_confirmed_at,
            &transitions.terminated_at,
        ]
        .iter()
        .filter(|t| t.is_some())
        .count() as i64;
        Some(Self {
            account_id: account_id.to_string(),
            agreement_id: text("/id")?,
            progress: status_rank(&status) * 10 + recorded,
            status,
            initiated_by: text("/initiated_by"),
            orchestrator_name: text("/orchestrator_details/name"),
            orchestrator_profile: text("/orchestrator_details/network_business_profile"),
            seller_profile: text("/seller_details/network_business_profile"),
            status_transitions: transitions,
            terminated_by: text("/terminated_by"),
            created: text("/created"),
        })
    }

    pub fn is_confirmed(&self) -> bool {
        self.status == "confirmed"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn object(status: &str, transitions: Value) -> Value {
        json!({"id": "orca_1", "object": "v2.orchestrated_commerce.agreement", "status": status, "initiated_by": "orchestrator",
               "orchestrator_details": {"name": "ChatGPT", "network_business_profile": "nbp_openai"},
               "seller_details": {"network_business_profile": "nbp_shop"}, "status_transitions": transitions, "terminated_by": null})
    }

    #[test]
    fn progress_orders_states_and_terminated_is_highest() {
        let a = |s, t| {
            Agreement::from_stripe("acct_1A", &object(s, t))
                .unwrap()
                .progress
        };
        let initiated = a("initiated", json!({}));
        let partial = a(
            "partially_confirmed",
            json!({"orchestrator_confirmed_at": "2026-11-28T10:00:00Z"}),
        );
        let confirmed = a(
            "confirmed",
            json!({"orchestrator_confirmed_at": "x", "seller_confirmed_at": "y"}),
        );
        let terminated = a(
            "terminated",
            json!({"orchestrator_confirmed_at": "x", "terminated_at": "z"}),
        );
        assert!(initiated < partial && partial < confirmed && confirmed < terminated);
        let parsed = Agreement::from_stripe("acct_1A", &object("confirmed", json!({}))).unwrap();
        assert_eq!(parsed.orchestrator_name.as_deref(), Some("ChatGPT"));
        assert!(parsed.is_confirmed());
        assert!(Agreement::from_stripe("acct_1A", &json!({"id": "orca_1"})).is_none());
    }
}

//! Agreements: which AI agents (orchestrators) may sell a merchant's products
//! (docs/stripe.md §5). We keep Stripe's latest state per account and agreement.
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

/// An agreement's status, in the order it can only move forward; `terminated` is final.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AgreementStatus {
    Initiated,
    PartiallyConfirmed,
    Confirmed,
    Terminated,
}

impl AgreementStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            AgreementStatus::Initiated => "initiated",
            AgreementStatus::PartiallyConfirmed => "partially_confirmed",
            AgreementStatus::Confirmed => "confirmed",
            AgreementStatus::Terminated => "terminated",
        }
    }

    fn parse(text: &str) -> Option<Self> {
        [
            AgreementStatus::Initiated,
            AgreementStatus::PartiallyConfirmed,
            AgreementStatus::Confirmed,
            AgreementStatus::Terminated,
        ]
        .into_iter()
        .find(|s| s.as_str() == text)
    }

    fn rank(self) -> i64 {
        self as i64
    }
}

impl std::fmt::Display for AgreementStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why an object from Stripe is not an agreement we can store.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AgreementError {
    #[error("the agreement has no {0}")]
    Missing(&'static str),
    /// A status this code does not know: storing it under a guessed rank could let a stale
    /// state overwrite a newer one, so it is refused.
    #[error("the agreement's status {0:?} is not one this bundle knows")]
    UnknownStatus(String),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Agreement {
    pub account_id: String,
    pub agreement_id: String,
    pub status: AgreementStatus,
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

impl Agreement {
    /// From Stripe's `v2.orchestrated_commerce.agreement` object.
    pub fn from_stripe(account_id: &str, object: &Value) -> Result<Self, AgreementError> {
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
        let raw_status = text("/status").ok_or(AgreementError::Missing("status"))?;
        let status =
            AgreementStatus::parse(&raw_status).ok_or(AgreementError::UnknownStatus(raw_status))?;
        let recorded = [
            &transitions.orchestrator_confirmed_at,
            &transitions.seller_confirmed_at,
            &transitions.terminated_at,
        ]
        .iter()
        .filter(|t| t.is_some())
        .count() as i64;
        Ok(Self {
            account_id: account_id.to_string(),
            agreement_id: text("/id").ok_or(AgreementError::Missing("id"))?,
            progress: status.rank() * 10 + recorded,
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
        self.status == AgreementStatus::Confirmed
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
        assert_eq!(
            Agreement::from_stripe("acct_1A", &json!({"id": "orca_1"})),
            Err(AgreementError::Missing("status"))
        );
    }

    #[test]
    fn an_unknown_status_is_refused_not_ranked_lowest() {
        assert_eq!(
            Agreement::from_stripe("acct_1A", &object("paused", json!({}))),
            Err(AgreementError::UnknownStatus("paused".into()))
        );
    }

    #[test]
    fn the_status_is_stored_as_stripe_spells_it() {
        let a =
            Agreement::from_stripe("acct_1A", &object("partially_confirmed", json!({}))).unwrap();
        let stored = serde_json::to_value(&a).unwrap();
        assert_eq!(stored["status"], "partially_confirmed");
        let back: Agreement = serde_json::from_value(stored).unwrap();
        assert_eq!(back.status, AgreementStatus::PartiallyConfirmed);
    }
}

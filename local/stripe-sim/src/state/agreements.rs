//! Orchestrated-commerce agreements as stored, and their v2 JSON shape.

use crate::errors::ApiError;
use crate::timestamps::rfc3339;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::time::SystemTime;

pub const OBJECT: &str = "v2.orchestrated_commerce.agreement";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Party {
    Orchestrator,
    Seller,
}

impl Party {
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "orchestrator" => Some(Self::Orchestrator),
            "seller" => Some(Self::Seller),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Orchestrator => "orchestrator",
            Self::Seller => "seller",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Agreement {
    pub id: String,
    /// The seller account (the `Stripe-Context` it lives in).
    pub account: String,
    pub created: SystemTime,
    pub initiated_by: Party,
    pub orchestrator_name: Option<String>,
    pub orchestrator_profile: String,
    pub seller_profile: String,
    pub orchestrator_confirmed_at: Option<SystemTime>,
    pub seller_confirmed_at: Option<SystemTime>,
    pub terminated_at: Option<SystemTime>,
    pub terminated_by: Option<Party>,
    /// Its thin events, oldest first.
    pub events: Vec<String>,
}

impl Agreement {
    pub fn status(&self) -> &'static str {
        if self.terminated_at.is_some() {
            "terminated"
        } else {
            match (self.orchestrator_confirmed_at, self.seller_confirmed_at) {
                (Some(_), Some(_)) => "confirmed",
                (None, None) => "initiated",
                _ => "partially_confirmed",
            }
        }
    }

    pub fn to_json(&self) -> Value {
        let at = |t: Option<SystemTime>| t.map(rfc3339);
        json!({
            "id": self.id,
            "object": OBJECT,
            "created": rfc3339(self.created),
            "livemode": false,
            "initiated_by": self.initiated_by.as_str(),
            "orchestrator_details": {
                "name": self.orchestrator_name,
                "network_business_profile": self.orchestrator_profile,
            },
            "seller_details": {
                "network_business_profile": self.seller_profile,
            },
            "status": self.status(),
            "status_transitions": {
                "orchestrator_confirmed_at": at(self.orchestrator_confirmed_at),
                "seller_confirmed_at": at(self.seller_confirmed_at),
                "terminated_at": at(self.terminated_at),
            },
            "terminated_by": self.terminated_by.map(Party::as_str),
        })
    }
}

#[derive(Default)]
pub struct AgreementStore {
    pub agreements: HashMap<String, Agreement>,
    /// Ids in creation order.
    pub order: Vec<String>,
}

impl AgreementStore {
    /// The account's agreements, newest first.
    pub fn of_account(&self, account: &str) -> Vec<&Agreement> {
        self.order
            .iter()
            .rev()
            .filter_map(|id| self.agreements.get(id))
            .filter(|a| a.account == account)
            .collect()
    }

    /// The agreement if it lives in `account`'s context (another account's is a 404).
    pub fn get(&self, account: &str, id: &str) -> Result<&Agreement, ApiError> {
        self.agreements
            .get(id)
            .filter(|a| a.account == account)
            .ok_or_else(|| ApiError::no_such(OBJECT, id, "id"))
    }
}

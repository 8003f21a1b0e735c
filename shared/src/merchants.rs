//! Merchants: the connected accounts this platform sells for, and their settings.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Which Stripe catalog upload API a merchant's feeds go through (STRIPE.md §1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum ApiGeneration {
    /// Files API + ImportSet (beta `Stripe-Version`).
    #[default]
    V1,
    /// Product Catalog Import with an upload URL.
    V2,
}

/// What our own validation does with row errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum ValidationMode {
    /// Report row errors, upload the file anyway: Stripe decides row by row.
    #[default]
    Lenient,
    /// Any row error rejects the whole file.
    Strict,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Merchant {
    /// `acct_…`: the partition key, and the S3 prefix under `incoming/`.
    pub account_id: String,
    #[serde(default = "yes")]
    pub enabled: bool,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub api_generation: ApiGeneration,
    #[serde(default)]
    pub validation: ValidationMode,
}

fn yes() -> bool {
    true
}

impl Merchant {
    pub fn new(account_id: impl Into<String>) -> Self {
        Self {
            account_id: account_id.into(),
            enabled: true,
            display_name: None,
            api_generation: ApiGeneration::default(),
            validation: ValidationMode::default(),
        }
    }
}

/// A connected account id as Stripe issues them: `acct_` and 1–64 alphanumerics. Anything
/// else (from an S3 key, a hook's `context`, a CLI argument) is refused before it reaches
/// a table or a header.
pub fn is_account_id(value: &str) -> bool {
    value
        .strip_prefix("acct_")
        .is_some_and(|rest| !rest.is_empty() && rest.len() <= 64 && rest.bytes().all(|b| b.is_ascii_alphanumeric()))
}

impl FromStr for ApiGeneration {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "v1" => Ok(Self::V1),
            "v2" => Ok(Self::V2),
            other => Err(format!("{other:?} is not an API generation (v1 or v2)")),
        }
    }
}

impl FromStr for ValidationMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "strict" => Ok(Self::Strict),
            "lenient" => Ok(Self::Lenient),
            other => Err(format!("{other:?} is not a validation mode (strict or lenient)")),
        }
    }
}

impl fmt::Display for ApiGeneration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::V1 => "v1",
            Self::V2 => "v2",
        })
    }
}

impl fmt::Display for ValidationMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Strict => "strict",
            Self::Lenient => "lenient",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_ids_are_checked_strictly() {
        assert!(is_account_id("acct_1Nv0FGQ9RKHgCVdK"));
        for bad in ["acct_", "acct_../x", "acct_a b", "cus_123", "", "acct_1/2"] {
            assert!(!is_account_id(bad), "{bad}");
        }
    }

    #[test]
    fn old_records_read_with_defaults() {
        let m: Merchant = serde_json::from_str(r#"{"account_id":"acct_1A"}"#).unwrap();
        assert!(m.enabled);
        assert_eq!((m.api_generation, m.validation), (ApiGeneration::V1, ValidationMode::Lenient));
    }
}

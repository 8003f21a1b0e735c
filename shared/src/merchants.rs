//! Merchants: the connected accounts this platform sells for, and their settings.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Which Stripe catalog upload API a merchant's feeds go through (docs/stripe.md §1).
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
    /// Send Stripe only the catalog rows that changed since its last accepted upload of
    /// the feed (new, changed, and for a replace file deleted rows); false sends every
    /// file whole. On unless turned off (`uploader::incremental`).
    #[serde(default = "yes")]
    pub incremental_uploads: bool,
    /// What the checkout hooks do for this merchant.
    #[serde(default, flatten)]
    pub checkout: CheckoutSettings,
}

/// Settings of the checkout hooks (`customize_checkout`, `finalize_checkout`). Amounts are
/// integer minor units; percentages are decimal text (`"8.25"`), never floats.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CheckoutSettings {
    /// A paused merchant's checkouts are declined.
    #[serde(default)]
    pub paused: bool,
    /// First match wins: an exact country before `*`, a listed region before none.
    #[serde(default)]
    pub shipping_rules: Vec<ShippingRule>,
    #[serde(default)]
    pub tax_rates: Vec<ManualTaxRate>,
    #[serde(default)]
    pub fee_plan: Option<FeePlan>,
    #[serde(default)]
    pub approval: ApprovalRules,
    /// When our store cannot answer before Stripe's deadline: approve or decline.
    #[serde(default)]
    pub when_unavailable: Fallback,
    /// Whether the buying agent needs a confirmed agreement with this merchant.
    #[serde(default)]
    pub require_agreement: AgreementRequirement,
}

/// Whether `finalize_checkout` requires a confirmed agreement with the buying agent. Stripe
/// documents the agent on the payment intent (`agent_details`, preview), not in the
/// finalize request (docs/stripe.md §3.4), so the merchant chooses what a request that
/// names no agent gets. Stored as `"off"`, `"when_known"` or `"always"`; the older
/// `true`/`false` read as `when_known`/`off`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AgreementRequirement {
    /// Any agent may buy.
    #[default]
    Off,
    /// An agent the request names needs a confirmed agreement; a request that names none
    /// is approved, and the log says so.
    WhenKnown,
    /// Only a named agent with a confirmed agreement may buy; a request that names none is
    /// declined.
    Always,
}

impl<'de> Deserialize<'de> for AgreementRequirement {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Stored {
            Flag(bool),
            Mode(String),
        }
        match Stored::deserialize(deserializer)? {
            Stored::Flag(true) => Ok(Self::WhenKnown),
            Stored::Flag(false) => Ok(Self::Off),
            Stored::Mode(mode) => match mode.as_str() {
                "off" => Ok(Self::Off),
                "when_known" => Ok(Self::WhenKnown),
                "always" => Ok(Self::Always),
                other => Err(serde::de::Error::custom(format!(
                    "require_agreement is {other:?}: use \"off\", \"when_known\" or \"always\""
                ))),
            },
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Fallback {
    /// Fail closed: no sale without a confirmed answer (the default: no oversell).
    #[default]
    Decline,
    /// Fail open: the sale goes through unchecked.
    Approve,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CostBasis {
    #[default]
    PerOrder,
    PerItem,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShippingRule {
    /// ISO 3166 alpha-2, or `*` for anywhere.
    pub country: String,
    /// Region codes (US states…); empty: the whole country.
    #[serde(default)]
    pub regions: Vec<String>,
    pub services: Vec<ShippingService>,
    /// Orders whose subtotal reaches this (minor units, in the service's currency) ship free.
    #[serde(default)]
    pub free_shipping_threshold: Option<i64>,
    #[serde(default)]
    pub basis: CostBasis,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShippingService {
    pub name: String,
    pub amount: i64,
    pub currency: String,
    #[serde(default)]
    pub min_days: Option<u32>,
    #[serde(default)]
    pub max_days: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ManualTaxRate {
    pub country: String,
    #[serde(default)]
    pub state: Option<String>,
    /// Decimal text, e.g. `"8.25"`.
    pub percentage: String,
    #[serde(default)]
    pub inclusive: bool,
    pub display_name: String,
}

/// The platform's application fee: basis points of `amount_total` plus a fixed amount,
/// clamped to [minimum, maximum] and never more than the total.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeePlan {
    #[serde(default)]
    pub basis_points: i64,
    #[serde(default)]
    pub fixed: i64,
    #[serde(default)]
    pub minimum: i64,
    #[serde(default)]
    pub maximum: Option<i64>,
}

impl FeePlan {
    pub fn fee(&self, amount_total: i64) -> i64 {
        let total = amount_total.max(0);
        // Round half up in integers: (x * bps + 5000) / 10000.
        let proportional =
            (i128::from(total) * i128::from(self.basis_points.max(0)) + 5_000) / 10_000;
        let mut fee = (proportional as i64).saturating_add(self.fixed.max(0));
        fee = fee.max(self.minimum.max(0));
        if let Some(maximum) = self.maximum {
            fee = fee.min(maximum.max(0));
        }
        fee.min(total)
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ApprovalRules {
    /// Destination countries accepted; empty: all.
    #[serde(default)]
    pub allowed_countries: Vec<String>,
    #[serde(default)]
    pub max_order_amount: Option<i64>,
    #[serde(default)]
    pub refuse_prepaid_cards: bool,
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
            incremental_uploads: true,
            checkout: CheckoutSettings::default(),
        }
    }
}

/// A connected account id as Stripe issues them: `acct_` and 1–64 alphanumerics. Anything
/// else (from an S3 key, a hook's `context`, a CLI argument) is refused before it reaches
/// a table or a header.
pub fn is_account_id(value: &str) -> bool {
    value.strip_prefix("acct_").is_some_and(|rest| {
        !rest.is_empty() && rest.len() <= 64 && rest.bytes().all(|b| b.is_ascii_alphanumeric())
    })
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
            other => Err(format!(
                "{other:?} is not a validation mode (strict or lenient)"
            )),
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
    fn fees_round_half_up_and_clamp() {
        let plan = FeePlan {
            basis_points: 250,
            fixed: 30,
            minimum: 50,
            maximum: Some(1_000),
        };
        assert_eq!(plan.fee(10_000), 280); // 2.5% of 100.00 + 0.30
        assert_eq!(plan.fee(100), 50); // 2.5 + 30 -> minimum 50
        assert_eq!(plan.fee(1_000_000), 1_000); // capped
        assert_eq!(plan.fee(20), 20); // never more than the total
        let half = FeePlan {
            basis_points: 50,
            fixed: 0,
            minimum: 0,
            maximum: None,
        };
        assert_eq!(half.fee(100), 1); // 0.5 rounds up
        assert_eq!(half.fee(99), 0); // 0.495 rounds down
    }

    #[test]
    fn the_agreement_requirement_reads_old_flags_and_refuses_unknown_modes() {
        let read = |v: serde_json::Value| serde_json::from_value::<AgreementRequirement>(v);
        assert_eq!(
            read(serde_json::json!(true)).unwrap(),
            AgreementRequirement::WhenKnown
        );
        assert_eq!(
            read(serde_json::json!(false)).unwrap(),
            AgreementRequirement::Off
        );
        assert_eq!(
            read(serde_json::json!("always")).unwrap(),
            AgreementRequirement::Always
        );
        assert_eq!(
            serde_json::to_value(AgreementRequirement::WhenKnown).unwrap(),
            "when_known"
        );
        let err = read(serde_json::json!("sometimes"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("when_known"), "{err}");
    }

    #[test]
    fn old_records_read_with_defaults() {
        let m: Merchant = serde_json::from_str(r#"{"account_id":"acct_1A"}"#).unwrap();
        assert!(m.enabled);
        assert!(
            m.incremental_uploads,
            "incremental uploads are on by default"
        );
        assert_eq!(
            (m.api_generation, m.validation),
            (ApiGeneration::V1, ValidationMode::Lenient)
        );
    }
}

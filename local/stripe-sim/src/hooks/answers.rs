//! The hooks' answers, parsed strictly (documented fields only, Stripe's value ranges), so
//! a platform bug shows up as the 424 or decline Stripe would produce.

use crate::state::hooks::Hook;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// `customize_checkout`'s answer; `{}` changes nothing.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomizeAnswer {
    #[serde(default)]
    pub shipping_options: Option<Vec<ShippingOptionAnswer>>,
    #[serde(default)]
    pub line_items: Option<Vec<LineTaxAnswer>>,
}

/// Exactly one of the two.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShippingOptionAnswer {
    #[serde(default)]
    pub shipping_rate: Option<String>,
    #[serde(default)]
    pub shipping_rate_data: Option<ShippingRateData>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShippingRateData {
    pub display_name: String,
    pub fixed_amount: crate::model::FixedAmount,
    #[serde(default)]
    pub delivery_estimate: Option<DeliveryEstimate>,
    #[serde(default)]
    pub tax_behavior: Option<String>,
    #[serde(default)]
    pub tax_code: Option<String>,
    #[serde(default)]
    pub metadata: Option<BTreeMap<String, String>>,
    /// Stripe's ShippingRate `type`; only `fixed_amount` exists.
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeliveryEstimate {
    #[serde(default)]
    pub minimum: Option<EstimateBound>,
    #[serde(default)]
    pub maximum: Option<EstimateBound>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EstimateBound {
    pub unit: String,
    pub value: i64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LineTaxAnswer {
    pub id: String,
    pub tax_rates: Vec<TaxRateAnswer>,
}

/// Exactly one of the two.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaxRateAnswer {
    #[serde(default)]
    pub rate: Option<String>,
    #[serde(default)]
    pub rate_data: Option<TaxRateData>,
}

/// The three documented fields, plus the optional ones Stripe's TaxRate takes at creation.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaxRateData {
    pub display_name: String,
    pub inclusive: bool,
    pub percentage: f64,
    #[serde(default)]
    pub tax_type: Option<String>,
    #[serde(default)]
    pub country: Option<String>,
    #[serde(default)]
    pub state: Option<String>,
    #[serde(default)]
    pub jurisdiction: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
}

/// `finalize_checkout`'s answer; `{}` approves.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FinalizeAnswer {
    #[serde(default)]
    pub manual_approval_details: Option<ApprovalDetails>,
    #[serde(default)]
    pub application_fee_details: Option<FeeDetails>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApprovalDetails {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub declined: Option<DeclinedDetails>,
    /// Tolerated (Stripe's pattern names a sub-object after the type); carries nothing.
    #[serde(default)]
    #[allow(dead_code)]
    pub approved: Option<Value>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeclinedDetails {
    #[serde(default)]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeeDetails {
    pub application_fee_amount: i64,
    #[serde(default)]
    pub transfer_data: Option<TransferData>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransferData {
    pub amount: i64,
}

/// What finalize_checkout decided.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    Approved {
        application_fee_amount: Option<i64>,
        transfer_amount: Option<i64>,
    },
    /// `code`: `checkout_declined` (the platform said no) or `hook_failed` (no usable
    /// answer: Stripe declines).
    Declined { code: &'static str, reason: String },
}

impl Decision {
    pub fn approved() -> Self {
        Decision::Approved {
            application_fee_amount: None,
            transfer_amount: None,
        }
    }

    pub fn hook_failed(reason: String) -> Self {
        Decision::Declined {
            code: "hook_failed",
            reason,
        }
    }
}

/// Parses an answer, naming the hook in the message.
pub fn parse_answer<T: for<'de> Deserialize<'de>>(hook: Hook, value: Value) -> Result<T, String> {
    if !value.is_object() {
        return Err(format!(
            "{} answered with JSON that is not an object.",
            hook.name()
        ));
    }
    serde_json::from_value(value).map_err(|e| format!("{} answer is malformed: {e}", hook.name()))
}

impl FinalizeAnswer {
    /// The decision for a payment of `amount_total`; an approval whose fee does not fit
    /// the amount is malformed.
    pub fn decision(&self, amount_total: i64) -> Result<Decision, String> {
        let declined = match &self.manual_approval_details {
            None => false,
            Some(d) => match d.kind.as_str() {
                "approved" => false,
                "declined" => true,
                other => {
                    return Err(format!(
                        "finalize_checkout answer is malformed: manual_approval_details.type '{other}' is not approved or declined."
                    ));
                }
            },
        };
        if declined {
            let reason = self
                .manual_approval_details
                .as_ref()
                .and_then(|d| d.declined.as_ref())
                .and_then(|d| d.reason.clone())
                .filter(|r| !r.trim().is_empty())
                .unwrap_or_else(|| "The merchant declined this checkout.".into());
            return Ok(Decision::Declined {
                code: "checkout_declined",
                reason,
            });
        }
        let (fee, transfer) = match &self.application_fee_details {
            None => (None, None),
            Some(f) => (
                Some(f.application_fee_amount),
                f.transfer_data.as_ref().map(|t| t.amount),
            ),
        };
        for (name, amount) in [
            ("application_fee_details.application_fee_amount", fee),
            ("application_fee_details.transfer_data.amount", transfer),
        ] {
            if let Some(amount) = amount {
                if !(0..=amount_total).contains(&amount) {
                    return Err(format!(
                        "finalize_checkout answer is malformed: {name} {amount} must be between 0 and the amount_total {amount_total}."
                    ));
                }
            }
        }
        Ok(Decision::Approved {
            application_fee_amount: fee,
            transfer_amount: transfer,
        })
    }
}

/// Stripe's ShippingRate units, plus `year`, which docs/stripe.md §3 lists.
pub const DELIVERY_UNITS: &[&str] = &["business_day", "day", "hour", "week", "month", "year"];
pub const TAX_BEHAVIORS: &[&str] = &["exclusive", "inclusive", "unspecified"];

impl ShippingRateData {
    /// Stripe's own checks for `shipping_rate_data`, in the session's currency.
    pub fn validate(&self, currency: &str) -> Result<(), String> {
        if self.display_name.trim().is_empty() || self.display_name.chars().count() > 100 {
            return Err("shipping_rate_data.display_name must be 1 to 100 characters.".into());
        }
        if !(0..=99_999_999).contains(&self.fixed_amount.amount) {
            return Err(
                "shipping_rate_data.fixed_amount.amount must be between 0 and 99999999.".into(),
            );
        }
        if !self.fixed_amount.currency.eq_ignore_ascii_case(currency) {
            return Err(format!(
                "shipping_rate_data.fixed_amount.currency '{}' is not the checkout's currency '{currency}'.",
                self.fixed_amount.currency
            ));
        }
        if self.kind.as_deref().is_some_and(|k| k != "fixed_amount") {
            return Err("shipping_rate_data.type must be fixed_amount.".into());
        }
        if let Some(b) = &self.tax_behavior {
            if !TAX_BEHAVIORS.contains(&b.as_str()) {
                return Err(format!(
                    "shipping_rate_data.tax_behavior '{b}' must be one of {}.",
                    TAX_BEHAVIORS.join(", ")
                ));
            }
        }
        if let Some(estimate) = &self.delivery_estimate {
            for (name, bound) in [
                ("minimum", &estimate.minimum),
                ("maximum", &estimate.maximum),
            ] {
                if let Some(bound) = bound {
                    if !DELIVERY_UNITS.contains(&bound.unit.as_str()) {
                        return Err(format!(
                            "shipping_rate_data.delivery_estimate.{name}.unit '{}' must be one of {}.",
                            bound.unit,
                            DELIVERY_UNITS.join(", ")
                        ));
                    }
                    if bound.value <= 0 {
                        return Err(format!(
                            "shipping_rate_data.delivery_estimate.{name}.value must be a positive integer."
                        ));
                    }
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn finalize(value: Value) -> Result<Decision, String> {
        parse_answer::<FinalizeAnswer>(Hook::FinalizeCheckout, value)?.decision(1000)
    }

    #[test]
    fn finalize_answers_decide() {
        assert_eq!(finalize(json!({})), Ok(Decision::approved()));
        assert_eq!(
            finalize(
                json!({"manual_approval_details": {"type": "approved"}, "application_fee_details": {"application_fee_amount": 120, "transfer_data": {"amount": 880}}})
            ),
            Ok(Decision::Approved {
                application_fee_amount: Some(120),
                transfer_amount: Some(880)
            })
        );
        assert_eq!(
            finalize(
                json!({"manual_approval_details": {"type": "declined", "declined": {"reason": "Out of stock"}}})
            ),
            Ok(Decision::Declined {
                code: "checkout_declined",
                reason: "Out of stock".into()
            })
        );
    }

    #[test]
    fn malformed_finalize_answers_are_refused() {
        for bad in [
            json!([]),
            json!({"manual_approval_details": {"type": "maybe"}}),
            json!({"manual_approval_details": {}}),
            json!({"application_fee_details": {"application_fee_amount": 1001}}),
            json!({"application_fee_details": {"application_fee_amount": -1}}),
            json!({"application_fee_details": {"application_fee_amount": "12"}}),
            json!({"approved": true}),
        ] {
            assert!(finalize(bad.clone()).is_err(), "{bad}");
        }
    }

    #[test]
    fn customize_answers_parse_strictly() {
        let ok = parse_answer::<CustomizeAnswer>(
            Hook::CustomizeCheckout,
            json!({"shipping_options": [{"shipping_rate_data": {"display_name": "Ground", "fixed_amount": {"amount": 500, "currency": "usd"}, "delivery_estimate": {"minimum": {"unit": "business_day", "value": 2}}}}], "line_items": [{"id": "li_1", "tax_rates": [{"rate_data": {"display_name": "Sales tax", "inclusive": false, "percentage": 8.25}}]}]}),
        );
        assert!(ok.is_ok(), "{ok:?}");
        assert!(
            parse_answer::<CustomizeAnswer>(
                Hook::CustomizeCheckout,
                json!({"shipping_option": []})
            )
            .is_err()
        );
        assert!(
            parse_answer::<CustomizeAnswer>(
                Hook::CustomizeCheckout,
                json!({"line_items": [{"id": "li_1"}]})
            )
            .is_err()
        );
    }

    #[test]
    fn shipping_rate_data_is_validated() {
        let data = |v: Value| serde_json::from_value::<ShippingRateData>(v).expect("shape");
        let good = data(
            json!({"display_name": "Ground", "fixed_amount": {"amount": 500, "currency": "USD"}}),
        );
        assert!(good.validate("usd").is_ok());
        assert!(good.validate("eur").is_err());
        assert!(
            data(json!({"display_name": "", "fixed_amount": {"amount": 5, "currency": "usd"}}))
                .validate("usd")
                .is_err()
        );
        assert!(data(json!({"display_name": "X", "fixed_amount": {"amount": 5, "currency": "usd"}, "delivery_estimate": {"maximum": {"unit": "fortnight", "value": 1}}})).validate("usd").is_err());
        assert!(data(json!({"display_name": "X", "fixed_amount": {"amount": 5, "currency": "usd"}, "tax_behavior": "sometimes"})).validate("usd").is_err());
    }
}

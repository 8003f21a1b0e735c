//! Checkout hooks: during an agent's checkout Stripe calls the platform twice (STRIPE.md §3),
//! `v1.delegated_checkout.customize_checkout` (shipping options, tax rates) and then
//! `v1.delegated_checkout.finalize_checkout` (approve or decline, application fee).
//!
//! This module sends the signed requests, records every exchange for `/_sim/hook_calls`,
//! and parses the answers strictly (documented fields only, Stripe's value ranges), so a
//! platform bug shows up as the 424 or decline Stripe would produce. Building the request
//! data and applying the answers to a purchase live in [`crate::checkout`].

use crate::HooksConfig;
use crate::errors::json_bytes;
use crate::state::hooks::{Hook, HookCall};
use crate::state::{Scope, Sim};
use crate::timestamps::now;
use crate::webhooks::signature_header;
use axum::http::header;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Same user agent as webhook deliveries: both come from Stripe's event destinations.
const USER_AGENT: &str = "Stripe/1.0 (+https://stripe.com/docs/webhooks)";
/// Longest deadline `/_sim/hooks` accepts: ten minutes, like the webhook delay cap.
pub const MAX_TIMEOUT_MS: u64 = 600_000;
/// How much of a non-JSON answer is quoted in errors.
const QUOTE_CHARS: usize = 200;

/// The request envelope: `{type, id, livemode, context, data}`.
pub fn envelope(hook: Hook, scope: &Scope, data: Value) -> Value {
    json!({
        "type": hook.event_type(),
        "id": crate::ids::hook_request(),
        "livemode": false,
        "context": scope,
        "data": data,
    })
}

/// Sends `request` to `url`, `copies` times (an agent retry repeats the same id and body;
/// each copy is signed afresh), records every exchange, and returns the last answer's
/// JSON, or why it cannot be used (no answer, non-2xx, not JSON).
pub async fn exchange(
    sim: &Arc<Sim>,
    hook: Hook,
    settings: &HooksConfig,
    url: &str,
    session: &str,
    request: &Value,
    copies: u32,
) -> Result<Value, String> {
    let body = json_bytes(request);
    let mut outcome = Err(String::new());
    for _ in 0..copies.max(1) {
        let started = Instant::now();
        let (status, answer) = send(sim, settings, url, &body).await;
        let elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        let (response, error) = match answer {
            Ok(bytes) => match serde_json::from_slice::<Value>(&bytes) {
                Ok(value) => (Some(value), None),
                Err(_) => (
                    None,
                    Some(format!(
                        "{} answered with a body that is not JSON: {:?}",
                        hook.name(),
                        String::from_utf8_lossy(&bytes)
                            .chars()
                            .take(QUOTE_CHARS)
                            .collect::<String>()
                    )),
                ),
            },
            Err(error) => (None, Some(format!("{} {error}", hook.name()))),
        };
        let error = error.or_else(|| {
            status
                .filter(|s| !(200..300).contains(s))
                .map(|s| format!("{} answered HTTP {s}.", hook.name()))
        });
        tracing::info!(
            hook = hook.name(),
            status,
            elapsed_ms,
            ok = error.is_none(),
            "checkout hook"
        );
        outcome = match (&error, &response) {
            (None, Some(value)) => Ok(value.clone()),
            (Some(e), _) => Err(e.clone()),
            (None, None) => Err(format!("{} gave no answer.", hook.name())),
        };
        sim.lock().hook_calls.push(HookCall {
            hook,
            url: url.to_string(),
            checkout_session: session.to_string(),
            request: request.clone(),
            status,
            response,
            elapsed_ms,
            error,
        });
    }
    outcome
}

/// One signed POST within the deadline: the status (if any answer came) and the body, or
/// why there is none.
async fn send(
    sim: &Arc<Sim>,
    settings: &HooksConfig,
    url: &str,
    body: &[u8],
) -> (Option<u16>, Result<Vec<u8>, String>) {
    let deadline = Duration::from_millis(settings.timeout_ms.clamp(1, MAX_TIMEOUT_MS));
    let signature = signature_header(&settings.secret, now(), body);
    let call = async {
        let response = sim
            .http
            .post(url)
            .timeout(deadline)
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::USER_AGENT, USER_AGENT)
            .header("Stripe-Signature", signature)
            .body(body.to_vec())
            .send()
            .await?;
        let status = response.status().as_u16();
        let bytes = response.bytes().await?;
        Ok::<_, reqwest::Error>((status, bytes.to_vec()))
    };
    match tokio::time::timeout(deadline, call).await {
        Ok(Ok((status, bytes))) => (Some(status), Ok(bytes)),
        Ok(Err(e)) if e.is_timeout() => (None, Err(timed_out(deadline))),
        Ok(Err(e)) => (None, Err(format!("could not be reached: {e}"))),
        Err(_) => (None, Err(timed_out(deadline))),
    }
}

fn timed_out(deadline: Duration) -> String {
    format!("did not answer within {} ms.", deadline.as_millis())
}

// ---------------------------------------------------------------- answers

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

/// Stripe's ShippingRate units, plus `year`, which STRIPE.md §3 lists.
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

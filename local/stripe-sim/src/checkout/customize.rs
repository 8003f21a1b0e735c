//! Applying the hooks' answers to a draft: customize_checkout's shipping options and tax
//! rates, the agent's shipping pick, and finalize_checkout's fee.

use super::draft::Draft;
use super::lines::tax_amount;
use crate::errors::ApiError;
use crate::hooks::{CustomizeAnswer, ShippingRateData, TaxRateData};
use crate::ids;
use crate::model::{Address, FixedAmount, LineTax, Metadata, ShippingRate, TaxRate, to_json};
use crate::state::AccountData;
use serde_json::json;

/// A TaxRate from `rate_data`; country and state default to the shipping address.
pub fn tax_rate_from(
    data: &TaxRateData,
    created: i64,
    ship_to: Option<&Address>,
) -> Result<TaxRate, String> {
    if data.display_name.trim().is_empty() || data.display_name.chars().count() > 50 {
        return Err("display_name must be 1 to 50 characters.".into());
    }
    if !data.percentage.is_finite() || !(0.0..=100.0).contains(&data.percentage) {
        return Err("percentage must be a number from 0 to 100.".into());
    }
    let country = data
        .country
        .clone()
        .or_else(|| ship_to.and_then(|a| a.country.clone()));
    let state = data
        .state
        .clone()
        .or_else(|| ship_to.and_then(|a| a.state.clone()));
    let tax_type = data.tax_type.clone().unwrap_or_else(|| {
        if data.display_name.to_ascii_uppercase().contains("VAT") {
            "vat".into()
        } else {
            "sales_tax".into()
        }
    });
    Ok(TaxRate {
        id: ids::tax_rate(),
        object: "tax_rate",
        active: true,
        jurisdiction: data
            .jurisdiction
            .clone()
            .or_else(|| state.clone())
            .or_else(|| country.clone()),
        country,
        created,
        description: data.description.clone(),
        display_name: data.display_name.clone(),
        effective_percentage: data.percentage,
        inclusive: data.inclusive,
        livemode: false,
        metadata: Metadata::new(),
        percentage: data.percentage,
        state,
        tax_type,
    })
}

/// A ShippingRate from `shipping_rate_data`, which must be in `currency`.
pub fn shipping_rate_from(
    data: &ShippingRateData,
    currency: &str,
    created: i64,
) -> Result<ShippingRate, String> {
    data.validate(currency)?;
    Ok(ShippingRate {
        id: ids::shipping_rate(),
        object: "shipping_rate",
        active: true,
        created,
        delivery_estimate: data.delivery_estimate.as_ref().map(to_json),
        display_name: data.display_name.clone(),
        fixed_amount: FixedAmount {
            amount: data.fixed_amount.amount,
            currency: currency.to_string(),
        },
        livemode: false,
        metadata: data
            .metadata
            .clone()
            .unwrap_or_default()
            .into_iter()
            .map(|(k, v)| (k, json!(v)))
            .collect(),
        tax_behavior: data
            .tax_behavior
            .clone()
            .unwrap_or_else(|| "unspecified".into()),
        tax_code: data.tax_code.clone(),
        kind: "fixed_amount",
    })
}

impl Draft {
    /// Applies customize_checkout's answer: the offered shipping options and each named
    /// line's tax rates (which replace that line's taxes). An error means the answer is
    /// unusable (Stripe answers the agent 424).
    pub fn apply_customize(
        &mut self,
        answer: &CustomizeAnswer,
        acct: &AccountData,
    ) -> Result<(), String> {
        let malformed = |m: String| format!("customize_checkout answer is malformed: {m}");
        if let Some(options) = answer.shipping_options.as_ref().filter(|o| !o.is_empty()) {
            let mut offered = Vec::with_capacity(options.len());
            for (i, option) in options.iter().enumerate() {
                let rate = match (&option.shipping_rate, &option.shipping_rate_data) {
                    (Some(id), None) => {
                        let rate = acct
                            .shipping_rates
                            .get(id)
                            .cloned()
                            .ok_or_else(|| format!("No such shipping_rate: '{id}'"))?;
                        if !rate
                            .fixed_amount
                            .currency
                            .eq_ignore_ascii_case(&self.currency)
                        {
                            return Err(format!(
                                "shipping_rate '{id}' is in {}, the checkout in {}.",
                                rate.fixed_amount.currency, self.currency
                            ));
                        }
                        rate
                    }
                    (None, Some(data)) => shipping_rate_from(data, &self.currency, self.created)
                        .map_err(|e| malformed(format!("shipping_options[{i}]: {e}")))?,
                    _ => {
                        return Err(malformed(format!(
                            "shipping_options[{i}] needs exactly one of shipping_rate and shipping_rate_data."
                        )));
                    }
                };
                offered.push(rate);
            }
            self.shipping_offered = offered;
            self.shipping_chosen = None;
        }
        let mut seen = Vec::new();
        for (i, line) in answer.line_items.iter().flatten().enumerate() {
            let Some(index) = self.lines.items.iter().position(|li| li.id == line.id) else {
                return Err(malformed(format!(
                    "line_items[{i}].id '{}' is not a line item of this checkout.",
                    line.id
                )));
            };
            if seen.contains(&index) {
                return Err(malformed(format!(
                    "line_items[{i}].id '{}' appears twice.",
                    line.id
                )));
            }
            seen.push(index);
            let mut rates = Vec::with_capacity(line.tax_rates.len());
            for (j, answer) in line.tax_rates.iter().enumerate() {
                let at = format!("line_items[{i}].tax_rates[{j}]");
                let rate = match (&answer.rate, &answer.rate_data) {
                    (Some(id), None) => acct
                        .tax_rates
                        .get(id)
                        .or_else(|| self.lines.tax_rates.iter().find(|r| &r.id == id))
                        .cloned()
                        .ok_or_else(|| format!("No such tax_rate: '{id}'"))?,
                    (None, Some(data)) => self
                        .new_tax_rate(data)
                        .map_err(|e| malformed(format!("{at}.rate_data: {e}")))?,
                    _ => {
                        return Err(malformed(format!(
                            "{at} needs exactly one of rate and rate_data."
                        )));
                    }
                };
                rates.push(rate);
            }
            self.set_line_taxes(index, rates)
                .map_err(|e| malformed(format!("line_items[{i}]: {e}")))?;
        }
        let used: Vec<String> = self
            .lines
            .items
            .iter()
            .flat_map(|li| li.taxes.iter().map(|t| t.rate.clone()))
            .collect();
        self.lines.tax_rates.retain(|r| used.contains(&r.id));
        self.lines.recompute().map_err(|e| e.message)?;
        Ok(())
    }

    fn new_tax_rate(&self, data: &TaxRateData) -> Result<TaxRate, String> {
        tax_rate_from(
            data,
            self.created,
            self.shipping.as_ref().map(|s| &s.address),
        )
    }

    /// Replaces a line's taxes: each rate applies to the line's subtotal; exclusive taxes
    /// are added to its total, inclusive ones are the part of it that is tax.
    fn set_line_taxes(&mut self, index: usize, rates: Vec<TaxRate>) -> Result<(), String> {
        let Some(item) = self.lines.items.get_mut(index) else {
            return Err("no such line".into());
        };
        let subtotal = item.amount_subtotal;
        let (mut tax, mut exclusive, mut inclusive) = (0i64, 0i64, 0i64);
        let mut amounts = Vec::with_capacity(rates.len());
        for rate in &rates {
            let amount = tax_amount(subtotal, rate.percentage, rate.inclusive)
                .ok_or("percentage must be a number from 0 to 100.")?;
            tax = tax.checked_add(amount).ok_or("the amounts are too large")?;
            if rate.inclusive {
                inclusive += amount;
            } else {
                exclusive += amount;
            }
            amounts.push(amount);
        }
        if inclusive > subtotal {
            return Err("the inclusive taxes exceed the line's amount.".into());
        }
        item.taxes = rates
            .iter()
            .zip(&amounts)
            .map(|(rate, amount)| LineTax {
                amount: *amount,
                rate: rate.id.clone(),
                taxable_amount: subtotal - inclusive,
            })
            .collect();
        item.amount_tax = tax;
        item.amount_total = subtotal
            .checked_add(exclusive)
            .ok_or("the amounts are too large")?;
        let behavior = if rates.is_empty() {
            "unspecified"
        } else if rates.iter().all(|r| r.inclusive) {
            "inclusive"
        } else {
            "exclusive"
        };
        if let Some(price) = self.lines.prices.get_mut(index) {
            price.tax_behavior = behavior;
        }
        for rate in rates {
            if !self.lines.tax_rates.iter().any(|r| r.id == rate.id) {
                self.lines.tax_rates.push(rate);
            }
        }
        Ok(())
    }

    /// The agent's pick among the offered options: the one named `choose` (display name),
    /// else the cheapest (the first of equals). Its amount becomes the shipping amount.
    pub fn pick_shipping(&mut self, choose: Option<&str>) -> Result<(), ApiError> {
        if self.shipping_offered.is_empty() {
            return match choose {
                None => Ok(()),
                Some(name) => Err(ApiError::invalid_param(
                    "choose_shipping",
                    format!("No shipping options were offered, so '{name}' cannot be chosen."),
                )),
            };
        }
        let index = match choose {
            Some(name) => self
                .shipping_offered
                .iter()
                .position(|r| r.display_name == name)
                .ok_or_else(|| {
                    let names: Vec<&str> = self
                        .shipping_offered
                        .iter()
                        .map(|r| r.display_name.as_str())
                        .collect();
                    ApiError::invalid_param(
                        "choose_shipping",
                        format!(
                            "No shipping option named '{name}' was offered (offered: {}).",
                            names.join(", ")
                        ),
                    )
                })?,
            None => self
                .shipping_offered
                .iter()
                .enumerate()
                .min_by_key(|(i, r)| (r.fixed_amount.amount, *i))
                .map_or(0, |(i, _)| i),
        };
        self.shipping_chosen = Some(index);
        self.shipping_amount = self.shipping_offered[index].fixed_amount.amount;
        self.amount_total().map(|_| ())
    }

    pub fn approve(&mut self, application_fee_amount: Option<i64>, transfer_amount: Option<i64>) {
        self.application_fee_amount = application_fee_amount;
        self.transfer_amount = transfer_amount;
    }
}

//! A purchase's lines: one product, price and (optionally) tax rate per line, with the
//! amounts Stripe computes from them.

use super::requests::{LineInput, ProductInput, TaxInput};
use crate::errors::ApiError;
use crate::ids;
use crate::model::{Address, Identifiers, LineItem, LineTax, Metadata, Price, Product, TaxRate};
use crate::state::AccountData;

/// Stripe's largest unit amount (8 digits) and a generous quantity cap keep every sum
/// far from overflow even before the checked arithmetic below.
pub(super) const MAX_UNIT_AMOUNT: i64 = 99_999_999;
pub(super) const MAX_QUANTITY: i64 = 1_000_000;

/// Tax in minor units, rounded half up. The percentage is scaled to ten-thousandths of a
/// percent first so rates like 8.25 are exact. Inclusive tax is the part of the amount
/// that is tax: amount × p / (100 + p).
pub fn tax_amount(subtotal: i64, percentage: f64, inclusive: bool) -> Option<i64> {
    if !percentage.is_finite() || !(0.0..=100.0).contains(&percentage) || subtotal < 0 {
        return None;
    }
    let rate = (percentage * 10_000.0).round() as i128;
    let numerator = i128::from(subtotal) * rate;
    let denominator = if inclusive {
        1_000_000 + rate
    } else {
        1_000_000
    };
    i64::try_from((2 * numerator + denominator) / (2 * denominator)).ok()
}

/// Objects computed for the lines of one session, not yet stored.
#[derive(Default)]
pub(super) struct Lines {
    pub(super) items: Vec<LineItem>,
    pub(super) products: Vec<Product>,
    pub(super) prices: Vec<Price>,
    pub(super) tax_rates: Vec<TaxRate>,
    pub(super) subtotal: i64,
    pub(super) tax: i64,
    pub(super) total: i64,
}

impl Lines {
    pub(super) fn recompute(&mut self) -> Result<(), ApiError> {
        let (mut subtotal, mut tax, mut total) = (0i64, 0i64, 0i64);
        for item in &self.items {
            subtotal = subtotal
                .checked_add(item.amount_subtotal)
                .ok_or_else(overflow)?;
            tax = tax.checked_add(item.amount_tax).ok_or_else(overflow)?;
            total = total.checked_add(item.amount_total).ok_or_else(overflow)?;
        }
        (self.subtotal, self.tax, self.total) = (subtotal, tax, total);
        Ok(())
    }

    pub(super) fn store(self, acct: &mut AccountData) -> Vec<LineItem> {
        for p in self.products {
            acct.products.insert(p.id.clone(), p);
        }
        for p in self.prices {
            acct.prices.insert(p.id.clone(), p);
        }
        for t in self.tax_rates {
            acct.tax_rates.insert(t.id.clone(), t);
        }
        self.items
    }
}

pub(super) fn overflow() -> ApiError {
    ApiError::invalid("The amounts are too large.")
}

pub(super) fn build_lines(
    inputs: &[LineInput],
    currency: &str,
    created: i64,
    ship_to: Option<&Address>,
) -> Result<Lines, ApiError> {
    if inputs.is_empty() {
        return Err(ApiError::invalid_param(
            "line_items",
            "At least one line item is required.",
        ));
    }
    let mut lines = Lines::default();
    for (i, input) in inputs.iter().enumerate() {
        if input.sku.is_empty() || input.sku.len() > 100 {
            return Err(ApiError::invalid_param(
                &format!("line_items[{i}][sku]"),
                "sku must be 1 to 100 characters.",
            ));
        }
        if !(1..=MAX_QUANTITY).contains(&input.quantity) {
            return Err(ApiError::invalid_param(
                &format!("line_items[{i}][quantity]"),
                format!("quantity must be between 1 and {MAX_QUANTITY}."),
            ));
        }
        if !(0..=MAX_UNIT_AMOUNT).contains(&input.unit_amount) {
            return Err(ApiError::invalid_param(
                &format!("line_items[{i}][unit_amount]"),
                format!("unit_amount must be between 0 and {MAX_UNIT_AMOUNT}."),
            ));
        }
        let product_input = input.product.clone().unwrap_or_default();
        let name = product_input
            .name
            .clone()
            .unwrap_or_else(|| input.sku.clone());
        let product = Product {
            id: ids::product(),
            object: "product",
            active: true,
            created,
            description: product_input.description.clone(),
            identifiers: Identifiers {
                gtin: product_input.gtin.clone(),
                mpn: product_input.mpn.clone(),
            },
            images: Vec::new(),
            livemode: false,
            metadata: Metadata::new(),
            name: name.clone(),
            updated: created,
            url: None,
        };
        let subtotal = input
            .unit_amount
            .checked_mul(input.quantity)
            .ok_or_else(overflow)?;
        let mut taxes = Vec::new();
        let mut tax = 0;
        let mut exclusive_tax = 0;
        if let Some(t) = &input.tax {
            tax = tax_amount(subtotal, t.percentage, t.inclusive).ok_or_else(|| {
                ApiError::invalid_param(
                    &format!("line_items[{i}][tax][percentage]"),
                    "percentage must be a number from 0 to 100.",
                )
            })?;
            if !t.inclusive {
                exclusive_tax = tax;
            }
            let tax_type = t.tax_type.clone().unwrap_or_else(|| "sales_tax".into());
            let default_name = if tax_type == "vat" {
                "VAT"
            } else {
                "Sales tax"
            };
            let country = t
                .country
                .clone()
                .or_else(|| ship_to.and_then(|a| a.country.clone()));
            let state = t
                .state
                .clone()
                .or_else(|| ship_to.and_then(|a| a.state.clone()));
            let rate = TaxRate {
                id: ids::tax_rate(),
                object: "tax_rate",
                active: true,
                jurisdiction: t
                    .jurisdiction
                    .clone()
                    .or_else(|| state.clone())
                    .or_else(|| country.clone()),
                country,
                created,
                description: None,
                display_name: t
                    .display_name
                    .clone()
                    .unwrap_or_else(|| default_name.into()),
                effective_percentage: t.percentage,
                inclusive: t.inclusive,
                livemode: false,
                metadata: Metadata::new(),
                percentage: t.percentage,
                state,
                tax_type,
            };
            let taxable_amount = if t.inclusive {
                subtotal - tax
            } else {
                subtotal
            };
            taxes.push(LineTax {
                amount: tax,
                rate: rate.id.clone(),
                taxable_amount,
            });
            lines.tax_rates.push(rate);
        }
        let price = Price {
            id: ids::price(),
            object: "price",
            active: true,
            billing_scheme: "per_unit",
            created,
            currency: currency.to_string(),
            external_reference: input.sku.clone(),
            livemode: false,
            lookup_key: None,
            metadata: Metadata::new(),
            nickname: None,
            product: product.id.clone(),
            tax_behavior: match &input.tax {
                Some(t) if t.inclusive => "inclusive",
                Some(_) => "exclusive",
                None => "unspecified",
            },
            kind: "one_time",
            unit_amount: input.unit_amount,
            unit_amount_decimal: input.unit_amount.to_string(),
        };
        let total = subtotal.checked_add(exclusive_tax).ok_or_else(overflow)?;
        lines.items.push(LineItem {
            id: ids::line_item(),
            object: "item",
            amount_discount: 0,
            amount_subtotal: subtotal,
            amount_tax: tax,
            amount_total: total,
            currency: currency.to_string(),
            description: name,
            quantity: input.quantity,
            price: price.id.clone(),
            taxes,
        });
        lines.subtotal = lines.subtotal.checked_add(subtotal).ok_or_else(overflow)?;
        lines.tax = lines.tax.checked_add(tax).ok_or_else(overflow)?;
        lines.total = lines.total.checked_add(total).ok_or_else(overflow)?;
        lines.products.push(product);
        lines.prices.push(price);
    }
    Ok(lines)
}

pub(super) fn single_line(
    sku: Option<&String>,
    quantity: Option<i64>,
    unit_amount: Option<i64>,
    product: Option<&ProductInput>,
    tax: Option<&TaxInput>,
) -> Result<LineInput, ApiError> {
    Ok(LineInput {
        sku: sku.cloned().ok_or_else(|| ApiError::missing_param("sku"))?,
        quantity: quantity.unwrap_or(1),
        unit_amount: unit_amount.ok_or_else(|| ApiError::missing_param("unit_amount"))?,
        product: product.cloned(),
        tax: tax.cloned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exclusive_tax_rounds_half_up() {
        // 2 × 1500 = 3000 at 8.25 % = 247.5 → 248
        assert_eq!(tax_amount(3000, 8.25, false), Some(248));
        assert_eq!(tax_amount(1000, 8.25, false), Some(83)); // 82.5 → 83
        assert_eq!(tax_amount(999, 7.0, false), Some(70)); // 69.93
        assert_eq!(tax_amount(0, 20.0, false), Some(0));
        assert_eq!(tax_amount(100, 0.0, false), Some(0));
    }

    #[test]
    fn inclusive_tax_is_the_included_part() {
        // 1200 incl. 20 % VAT → 200 tax
        assert_eq!(tax_amount(1200, 20.0, true), Some(200));
        // 1000 incl. 19 % → 159.66 → 160
        assert_eq!(tax_amount(1000, 19.0, true), Some(160));
    }

    #[test]
    fn bad_percentages_are_refused() {
        assert_eq!(tax_amount(100, f64::NAN, false), None);
        assert_eq!(tax_amount(100, -1.0, false), None);
        assert_eq!(tax_amount(100, 100.5, false), None);
        assert_eq!(tax_amount(-5, 10.0, false), None);
    }

    #[test]
    fn lines_total_up() {
        let inputs = vec![
            LineInput {
                sku: "SKU-1".into(),
                quantity: 2,
                unit_amount: 1500,
                product: None,
                tax: Some(TaxInput {
                    percentage: 8.25,
                    tax_type: None,
                    display_name: None,
                    inclusive: false,
                    country: None,
                    state: None,
                    jurisdiction: None,
                }),
            },
            LineInput {
                sku: "SKU-2".into(),
                quantity: 1,
                unit_amount: 500,
                product: None,
                tax: None,
            },
        ];
        let lines = match build_lines(&inputs, "usd", 0, None) {
            Ok(l) => l,
            Err(e) => panic!("{e}"),
        };
        assert_eq!((lines.subtotal, lines.tax, lines.total), (3500, 248, 3748));
        assert_eq!(lines.items[0].amount_total, 3248);
        assert_eq!(lines.prices[0].external_reference, "SKU-1");
        assert_eq!(lines.tax_rates.len(), 1);
    }

    #[test]
    fn out_of_range_lines_are_refused() {
        let line = |quantity, unit_amount| LineInput {
            sku: "S".into(),
            quantity,
            unit_amount,
            product: None,
            tax: None,
        };
        assert!(build_lines(&[line(0, 100)], "usd", 0, None).is_err());
        assert!(build_lines(&[line(1, -1)], "usd", 0, None).is_err());
        assert!(build_lines(&[line(MAX_QUANTITY, MAX_UNIT_AMOUNT)], "usd", 0, None).is_ok());
        assert!(build_lines(&[], "usd", 0, None).is_err());
    }
}

//! The `data` of the two checkout hook requests, built from a draft.

use super::draft::{Draft, default_address};
use crate::model::{Address, ShippingDetails};
use serde_json::{Value, json};

fn address_json(address: &Address) -> Value {
    json!({
        "line1": address.line1,
        "line2": address.line2,
        "city": address.city,
        "state": address.state,
        "postal_code": address.postal_code,
        "country": address.country,
    })
}

impl Draft {
    /// The address the hooks are told; once they have seen it, the session records it too.
    pub fn hook_shipping(&mut self) -> ShippingDetails {
        self.shipping
            .get_or_insert_with(|| ShippingDetails {
                name: self.billing.name.clone(),
                address: default_address(),
            })
            .clone()
    }

    fn line_details(&self) -> Vec<Value> {
        self.lines
            .items
            .iter()
            .zip(&self.lines.prices)
            .map(|(item, price)| {
                let tax_rates: Vec<Value> = item
                    .taxes
                    .iter()
                    .map(|tax| {
                        let rate = self.lines.tax_rates.iter().find(|r| r.id == tax.rate);
                        json!({
                            "rate": {
                                "id": tax.rate,
                                "display_name": rate.map(|r| r.display_name.clone()),
                                "percentage": rate.map(|r| r.percentage),
                                "inclusive": rate.map(|r| r.inclusive),
                            },
                            "amount": tax.amount,
                        })
                    })
                    .collect();
                json!({
                    "id": item.id,
                    "sku_id": price.external_reference,
                    "unit_amount": price.unit_amount,
                    "amount_discount": item.amount_discount,
                    "amount_subtotal": item.amount_subtotal,
                    "amount_tax": item.amount_tax,
                    "amount_total": item.amount_total,
                    "quantity": item.quantity,
                    "name": item.description,
                    "tax_rates": tax_rates,
                })
            })
            .collect()
    }

    fn totals(&self) -> Value {
        json!({
            "amount_discount": 0,
            "amount_shipping": self.shipping_amount,
            "amount_tax": self.lines.tax,
        })
    }

    /// `data` of `v1.delegated_checkout.customize_checkout`.
    pub fn customize_data(&mut self) -> Value {
        let shipping = self.hook_shipping();
        json!({
            "automatic_tax": { "enabled": self.automatic_tax },
            "currency": self.currency,
            "line_item_details": self.line_details(),
            "shipping_details": { "address": address_json(&shipping.address) },
            "amount_total": self.lines.total.saturating_add(self.shipping_amount),
            "amount_subtotal": self.lines.subtotal,
            "total_details": self.totals(),
            "checkout_session": self.session_id,
        })
    }

    /// `data` of `v1.delegated_checkout.finalize_checkout` (note `line_items_details`); the
    /// checkout session only when `with_session` (off by default, as Stripe documents it).
    pub fn finalize_data(&mut self, with_session: bool) -> Value {
        let shipping = self.hook_shipping();
        let card = &self.card;
        let mut data = json!({
            "currency": self.currency,
            "line_items_details": self.line_details(),
            "payment_method_details": {
                "type": "card",
                "card": {
                    "brand": card.brand,
                    "country": card.country,
                    "exp_month": card.exp_month,
                    "exp_year": card.exp_year,
                    "fingerprint": card.fingerprint,
                    "funding": card.funding,
                    "iin": card.iin,
                    "last4": card.last4,
                    "wallet": null,
                },
            },
            "billing_details": {
                "name": self.billing.name,
                "address": address_json(&self.billing.address),
            },
            "shipping_details": {
                "name": shipping.name,
                "address": address_json(&shipping.address),
            },
            "email": self.billing.email,
            "phone": self.billing.phone,
            "amount_total": self.lines.total.saturating_add(self.shipping_amount),
            "amount_subtotal": self.lines.subtotal,
            "total_details": self.totals(),
        });
        if with_session {
            data["checkout_session"] = json!(self.session_id);
        }
        data
    }
}

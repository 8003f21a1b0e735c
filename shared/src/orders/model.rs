//! The order record: every field of docs/stripe.md §6, built from one expanded retrieval of the
//! checkout session, plus payment, refund and dispute state kept convergent by `state`.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::state::{DisputeFact, PaymentFact, RefundFact};
use crate::stripe::objects::{
    Address, BillingDetails, Card, CheckoutSession, ShippingDetails, TotalDetails,
};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderLine {
    pub line_item_id: String,
    /// `price.external_reference`: the merchant's SKU from the catalog feed.
    pub sku: Option<String>,
    pub quantity: i64,
    pub product_id: Option<String>,
    pub product_name: Option<String>,
    pub description: Option<String>,
    /// Minor units.
    pub unit_amount: Option<i64>,
    pub amount_subtotal: Option<i64>,
    pub amount_tax: Option<i64>,
    pub amount_total: Option<i64>,
    pub gtin: Option<String>,
    pub mpn: Option<String>,
    pub taxes: Vec<OrderTax>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderTax {
    pub amount: i64,
    pub tax_type: Option<String>,
    /// Decimal text as Stripe sent it ("8.25"): a percentage is not money, but we still
    /// never round-trip it through a float.
    pub rate_percentage: Option<String>,
    pub display_name: Option<String>,
    pub inclusive: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Order {
    pub account_id: String,
    pub checkout_session_id: String,
    pub payment_intent_id: Option<String>,
    pub charge_id: Option<String>,
    pub livemode: bool,
    /// `payment_intent.latest_charge.created` (unix seconds).
    pub order_date: Option<i64>,
    /// `payment_intent.latest_charge.receipt_number`.
    pub order_number: Option<String>,
    pub currency: Option<String>,
    /// `amount_total`, minor units.
    pub amount_total: Option<i64>,
    pub amount_subtotal: Option<i64>,
    pub total_details: Option<TotalDetails>,
    pub lines: Vec<OrderLine>,
    pub shipping: Option<ShippingDetails>,
    pub billing: Option<BillingDetails>,
    pub card: Option<Card>,
    pub capture_method: Option<String>,
    /// Preview: which agent bought, verbatim from `payment_intent.agent_details`.
    pub agent_details: Option<Value>,
    pub payment: PaymentFact,
    pub refund: RefundFact,
    #[serde(default)]
    pub disputes: std::collections::BTreeMap<String, DisputeFact>,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum OrderBuildError {
    #[error(
        "the checkout session {0} came back without line_items: was it retrieved with the expansions of docs/stripe.md §6?"
    )]
    MissingLineItems(String),
    #[error(
        "the checkout session {0} has more than one page of line items; only the first page was expanded"
    )]
    TooManyLineItems(String),
}

impl Order {
    /// Builds the order from a session retrieved with
    /// `expand[]=line_items.data.price.product&expand[]=line_items.data.taxes&expand[]=payment_intent.latest_charge`.
    pub fn from_session(
        account_id: &str,
        session: &CheckoutSession,
    ) -> Result<Self, OrderBuildError> {
        let items = session
            .line_items
            .as_ref()
            .ok_or_else(|| OrderBuildError::MissingLineItems(session.id.clone()))?;
        if items.has_more {
            return Err(OrderBuildError::TooManyLineItems(session.id.clone()));
        }
        let lines = items
            .data
            .iter()
            .map(|item| {
                let price = item.price.as_ref();
                let product = price.and_then(|p| p.product.as_ref());
                let product_object = product.and_then(|p| p.object());
                let identifiers = product_object
                    .and_then(|p| p.identifiers.clone())
                    .unwrap_or_default();
                OrderLine {
                    line_item_id: item.id.clone(),
                    sku: price.and_then(|p| p.external_reference.clone()),
                    quantity: item.quantity.unwrap_or(1),
                    product_id: product.map(|p| p.id().to_string()),
                    product_name: product_object.and_then(|p| p.name.clone()),
                    description: product_object
                        .and_then(|p| p.description.clone())
                        .or_else(|| item.description.clone()),
                    unit_amount: price.and_then(|p| p.unit_amount),
                    amount_subtotal: item.amount_subtotal,
                    amount_tax: item.amount_tax,
                    amount_total: item.amount_total,
                    gtin: identifiers.gtin,
                    mpn: identifiers.mpn,
                    taxes: item
                        .taxes
                        .iter()
                        .flatten()
                        .map(|tax| OrderTax {
                            amount: tax.amount.unwrap_or(0),
                            tax_type: tax.rate.as_ref().and_then(|r| r.tax_type.clone()),
                            rate_percentage: tax
                                .rate
                                .as_ref()
                                .and_then(|r| r.percentage.as_ref())
                                .map(|p| p.to_string()),
                            display_name: tax.rate.as_ref().and_then(|r| r.display_name.clone()),
                            inclusive: tax.rate.as_ref().and_then(|r| r.inclusive),
                        })
                        .collect(),
                }
            })
            .collect();

        let intent = session.payment_intent.as_ref();
        let intent_object = intent.and_then(|pi| pi.object());
        let charge = intent_object.and_then(|pi| pi.latest_charge.as_ref());
        let charge_object = charge.and_then(|c| c.object());

        Ok(Order {
            account_id: account_id.to_string(),
            checkout_session_id: session.id.clone(),
            payment_intent_id: intent.map(|pi| pi.id().to_string()),
            charge_id: charge.map(|c| c.id().to_string()),
            livemode: session.livemode,
            order_date: charge_object.and_then(|c| c.created),
            order_number: charge_object.and_then(|c| c.receipt_number.clone()),
            currency: session.currency.clone(),
            amount_total: session.amount_total,
            amount_subtotal: session.amount_subtotal,
            total_details: session.total_details.clone(),
            lines,
            shipping: session
                .collected_information
                .as_ref()
                .and_then(|c| c.shipping_details.clone()),
            billing: charge_object.and_then(|c| c.billing_details.clone()),
            card: charge_object
                .and_then(|c| c.payment_method_details.as_ref())
                .and_then(|d| d.card.clone()),
            capture_method: intent_object.and_then(|pi| pi.capture_method.clone()),
            agent_details: intent_object
                .and_then(|pi| pi.agent_details.clone())
                .filter(|v| !v.is_null()),
            payment: PaymentFact::from_session(session),
            refund: RefundFact::from_charge(charge_object, 0),
            disputes: Default::default(),
        })
    }

    pub fn shipping_address(&self) -> Option<&Address> {
        self.shipping.as_ref().and_then(|s| s.address.as_ref())
    }
}

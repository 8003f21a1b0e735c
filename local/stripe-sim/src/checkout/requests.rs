//! The JSON bodies of `POST /_sim/agentic_checkouts` and `/_sim/checkout_sessions/expire`.

use crate::model::{Address, BillingDetails, ShippingDetails};
use crate::webhooks::DeliveryOverrides;
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProductInput {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub gtin: Option<String>,
    #[serde(default)]
    pub mpn: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaxInput {
    pub percentage: f64,
    #[serde(default)]
    pub tax_type: Option<String>,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub inclusive: bool,
    #[serde(default)]
    pub country: Option<String>,
    #[serde(default)]
    pub state: Option<String>,
    #[serde(default)]
    pub jurisdiction: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LineInput {
    pub sku: String,
    #[serde(default = "one")]
    pub quantity: i64,
    pub unit_amount: i64,
    #[serde(default)]
    pub product: Option<ProductInput>,
    #[serde(default)]
    pub tax: Option<TaxInput>,
}

fn one() -> i64 {
    1
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CardInput {
    #[serde(default)]
    pub brand: Option<String>,
    #[serde(default)]
    pub last4: Option<String>,
    #[serde(default)]
    pub exp_month: Option<u32>,
    #[serde(default)]
    pub exp_year: Option<u32>,
    #[serde(default)]
    pub funding: Option<String>,
    #[serde(default)]
    pub country: Option<String>,
    /// Issuer identification number (6 to 8 digits; default by brand).
    #[serde(default)]
    pub iin: Option<String>,
}

/// Ids to use instead of random ones, so tests can line objects up with committed fixtures.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdsInput {
    #[serde(default)]
    pub checkout_session: Option<String>,
    #[serde(default)]
    pub payment_intent: Option<String>,
    #[serde(default)]
    pub charge: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PurchaseRequest {
    #[serde(default)]
    pub account: Option<String>,
    #[serde(default)]
    pub sku: Option<String>,
    #[serde(default)]
    pub quantity: Option<i64>,
    #[serde(default)]
    pub unit_amount: Option<i64>,
    #[serde(default)]
    pub product: Option<ProductInput>,
    #[serde(default)]
    pub tax: Option<TaxInput>,
    /// Several lines at once; replaces `sku`/`quantity`/`unit_amount`/`product`/`tax`.
    #[serde(default)]
    pub line_items: Option<Vec<LineInput>>,
    #[serde(default)]
    pub currency: Option<String>,
    #[serde(default)]
    pub capture_method: Option<String>,
    #[serde(default)]
    pub shipping_amount: Option<i64>,
    #[serde(default)]
    pub shipping_details: Option<ShippingDetails>,
    /// Shorthand for `shipping_details.address` (the name comes from the billing details).
    #[serde(default)]
    pub shipping_address: Option<Address>,
    #[serde(default)]
    pub billing_details: Option<BillingDetails>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default)]
    pub card: Option<CardInput>,
    #[serde(default)]
    pub agent_details: Option<Value>,
    /// Sent to customize_checkout as `automatic_tax.enabled` and recorded on the session.
    #[serde(default)]
    pub automatic_tax: Option<bool>,
    /// Display name of the shipping option the agent picks (default: the cheapest).
    #[serde(default)]
    pub choose_shipping: Option<String>,
    /// Send each hook request twice with the same id and body (an agent retry).
    #[serde(default)]
    pub replay_hooks: bool,
    #[serde(default)]
    pub ids: Option<IdsInput>,
    #[serde(default)]
    pub metadata: Option<BTreeMap<String, String>>,
    #[serde(default)]
    pub receipt_number: Option<String>,
    /// Unix time for every created object (default: now), for fixture-stable timestamps.
    #[serde(default)]
    pub created: Option<i64>,
    #[serde(default)]
    pub deliver: Option<bool>,
    #[serde(default)]
    pub delivery: Option<DeliveryOverrides>,
    #[serde(default)]
    pub wait_for_delivery: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpireRequest {
    #[serde(default)]
    pub account: Option<String>,
    #[serde(default)]
    pub checkout_session: Option<String>,
    #[serde(default)]
    pub sku: Option<String>,
    #[serde(default)]
    pub quantity: Option<i64>,
    #[serde(default)]
    pub unit_amount: Option<i64>,
    #[serde(default)]
    pub currency: Option<String>,
    #[serde(default)]
    pub product: Option<ProductInput>,
    #[serde(default)]
    pub created: Option<i64>,
    #[serde(default)]
    pub deliver: Option<bool>,
    #[serde(default)]
    pub delivery: Option<DeliveryOverrides>,
    #[serde(default)]
    pub wait_for_delivery: bool,
}

//! The checkout hooks' requests (docs/stripe.md §3), read leniently: fields we do not use may
//! come and go without failing a checkout.

use serde::Deserialize;
use serde_json::Value;

use crate::stripe::objects::Address;

pub const CUSTOMIZE: &str = "v1.delegated_checkout.customize_checkout";
pub const FINALIZE: &str = "v1.delegated_checkout.finalize_checkout";

/// `{type, id, livemode, context, data}`; `context` is the connected account.
#[derive(Debug, Clone, Deserialize)]
pub struct Envelope {
    #[serde(rename = "type")]
    pub kind: String,
    pub id: String,
    #[serde(default)]
    pub livemode: bool,
    #[serde(default)]
    pub context: Option<String>,
    pub data: Value,
}

#[derive(Debug, Clone, Deserialize)]
pub struct LineItem {
    pub id: String,
    #[serde(default)]
    pub sku_id: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub quantity: Option<i64>,
    #[serde(default)]
    pub unit_amount: Option<i64>,
    #[serde(default)]
    pub amount_subtotal: Option<i64>,
    #[serde(default)]
    pub amount_total: Option<i64>,
}

impl LineItem {
    pub fn quantity(&self) -> i64 {
        self.quantity.unwrap_or(1).max(0)
    }

    pub fn subtotal(&self) -> i64 {
        self.amount_subtotal
            .unwrap_or_else(|| self.unit_amount.unwrap_or(0) * self.quantity())
    }

    pub fn label(&self) -> &str {
        self.name
            .as_deref()
            .or(self.sku_id.as_deref())
            .unwrap_or("an item")
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct ShippingDetails {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub address: Option<Address>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct AutomaticTax {
    #[serde(default)]
    pub enabled: bool,
}

#[derive(Debug, Clone, Deserialize)]
pub struct CustomizeData {
    pub currency: String,
    #[serde(default)]
    pub automatic_tax: AutomaticTax,
    #[serde(default)]
    pub line_item_details: Vec<LineItem>,
    #[serde(default)]
    pub shipping_details: Option<ShippingDetails>,
    #[serde(default)]
    pub amount_subtotal: Option<i64>,
}

impl CustomizeData {
    pub fn address(&self) -> Option<&Address> {
        self.shipping_details
            .as_ref()
            .and_then(|s| s.address.as_ref())
    }

    pub fn subtotal(&self) -> i64 {
        self.amount_subtotal
            .unwrap_or_else(|| self.line_item_details.iter().map(LineItem::subtotal).sum())
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Card {
    #[serde(default)]
    pub funding: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct PaymentMethodDetails {
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    #[serde(default)]
    pub card: Option<Card>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct FinalizeData {
    pub currency: String,
    /// Stripe's finalize payload says `line_items_details` (plural); the WooCommerce module
    /// reads `line_item_details` as customize spells it (docs/stripe.md §3.4.1, §3.4.3).
    /// Either is taken, so a renamed field can never read as an empty cart; both at once
    /// is refused as ambiguous.
    #[serde(default, alias = "line_item_details")]
    pub line_items_details: Vec<LineItem>,
    #[serde(default)]
    pub payment_method_details: Option<PaymentMethodDetails>,
    #[serde(default)]
    pub shipping_details: Option<ShippingDetails>,
    #[serde(default)]
    pub amount_total: Option<i64>,
    /// Who is buying, when Stripe says (preview): `{name?, network_business_profile?}`.
    #[serde(default)]
    pub agent_details: Option<Value>,
    /// Not in Stripe's documented finalize payload, but sent by some builds: when present,
    /// stock reservations are keyed by it so the session's expiry can release them.
    #[serde(default)]
    pub checkout_session: Option<String>,
}

impl FinalizeData {
    pub fn amount_total(&self) -> i64 {
        self.amount_total.unwrap_or_else(|| {
            self.line_items_details
                .iter()
                .map(|l| l.amount_total.unwrap_or_else(|| l.subtotal()))
                .sum()
        })
    }

    pub fn country(&self) -> Option<&str> {
        self.shipping_details
            .as_ref()
            .and_then(|s| s.address.as_ref())
            .and_then(|a| a.country.as_deref())
    }

    /// The agent's network business profile or name, when the request carries one.
    pub fn agent(&self) -> Option<(Option<&str>, Option<&str>)> {
        let details = self.agent_details.as_ref()?;
        let text = |k: &str| {
            details
                .get(k)
                .and_then(Value::as_str)
                .filter(|v| !v.is_empty())
        };
        let (profile, name) = (
            text("network_business_profile"),
            text("name").or_else(|| text("agent_name")),
        );
        (profile.is_some() || name.is_some()).then_some((profile, name))
    }

    pub fn card_funding(&self) -> Option<&str> {
        self.payment_method_details
            .as_ref()?
            .card
            .as_ref()?
            .funding
            .as_deref()
    }
}

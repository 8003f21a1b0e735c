//! The Stripe objects this bundle reads, typed leniently: every field we do not strictly
//! need is optional, so a new or missing field in Stripe's answer never fails an order.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A field that is an id, or the object itself when expanded.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum Expandable<T> {
    Object(Box<T>),
    Id(String),
}

impl<T> Expandable<T> {
    pub fn object(&self) -> Option<&T> {
        match self {
            Expandable::Object(o) => Some(o),
            Expandable::Id(_) => None,
        }
    }
}

pub trait HasId {
    fn id(&self) -> &str;
}

impl<T: HasId> Expandable<T> {
    pub fn id(&self) -> &str {
        match self {
            Expandable::Object(o) => o.id(),
            Expandable::Id(id) => id,
        }
    }
}

/// A v1 snapshot event: `{id, object: "event", type, created, livemode, account?, data: {object}}`.
#[derive(Debug, Clone, Deserialize)]
pub struct SnapshotEvent {
    pub id: String,
    pub object: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub created: i64,
    pub livemode: bool,
    #[serde(default)]
    pub account: Option<String>,
    #[serde(default)]
    pub api_version: Option<String>,
    pub data: EventData,
}

#[derive(Debug, Clone, Deserialize)]
pub struct EventData {
    pub object: Value,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
pub struct Address {
    #[serde(default)]
    pub line1: Option<String>,
    #[serde(default)]
    pub line2: Option<String>,
    #[serde(default)]
    pub city: Option<String>,
    #[serde(default)]
    pub state: Option<String>,
    #[serde(default)]
    pub postal_code: Option<String>,
    #[serde(default)]
    pub country: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
pub struct ShippingDetails {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub address: Option<Address>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
pub struct BillingDetails {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default)]
    pub address: Option<Address>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct CheckoutSession {
    pub id: String,
    #[serde(default)]
    pub livemode: bool,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub payment_status: Option<String>,
    #[serde(default)]
    pub currency: Option<String>,
    #[serde(default)]
    pub amount_total: Option<i64>,
    #[serde(default)]
    pub amount_subtotal: Option<i64>,
    #[serde(default)]
    pub created: Option<i64>,
    #[serde(default)]
    pub total_details: Option<TotalDetails>,
    #[serde(default)]
    pub customer_details: Option<BillingDetails>,
    #[serde(default)]
    pub collected_information: Option<CollectedInformation>,
    #[serde(default)]
    pub payment_intent: Option<Expandable<PaymentIntent>>,
    #[serde(default)]
    pub line_items: Option<List<LineItem>>,
}

impl HasId for CheckoutSession {
    fn id(&self) -> &str {
        &self.id
    }
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
pub struct TotalDetails {
    #[serde(default)]
    pub amount_discount: Option<i64>,
    #[serde(default)]
    pub amount_shipping: Option<i64>,
    #[serde(default)]
    pub amount_tax: Option<i64>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct CollectedInformation {
    #[serde(default)]
    pub shipping_details: Option<ShippingDetails>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct List<T> {
    pub data: Vec<T>,
    #[serde(default)]
    pub has_more: bool,
}

#[derive(Debug, Clone, Deserialize)]
pub struct LineItem {
    pub id: String,
    #[serde(default)]
    pub quantity: Option<i64>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub amount_subtotal: Option<i64>,
    #[serde(default)]
    pub amount_tax: Option<i64>,
    #[serde(default)]
    pub amount_discount: Option<i64>,
    #[serde(default)]
    pub amount_total: Option<i64>,
    #[serde(default)]
    pub price: Option<Price>,
    #[serde(default)]
    pub taxes: Option<Vec<LineItemTax>>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Price {
    pub id: String,
    #[serde(default)]
    pub unit_amount: Option<i64>,
    #[serde(default)]
    pub currency: Option<String>,
    #[serde(default)]
    pub external_reference: Option<String>,
    #[serde(default)]
    pub product: Option<Expandable<Product>>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Product {
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub identifiers: Option<ProductIdentifiers>,
}

impl HasId for Product {
    fn id(&self) -> &str {
        &self.id
    }
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
pub struct ProductIdentifiers {
    #[serde(default)]
    pub gtin: Option<String>,
    #[serde(default)]
    pub mpn: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct LineItemTax {
    #[serde(default)]
    pub amount: Option<i64>,
    #[serde(default)]
    pub rate: Option<TaxRate>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct TaxRate {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub display_name: Option<String>,
    /// Stripe sends a JSON number (e.g. 8.25); kept as the decimal text it was sent as.
    #[serde(default)]
    pub percentage: Option<serde_json::Number>,
    #[serde(default)]
    pub tax_type: Option<String>,
    #[serde(default)]
    pub inclusive: Option<bool>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct PaymentIntent {
    pub id: String,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub amount: Option<i64>,
    #[serde(default)]
    pub amount_received: Option<i64>,
    #[serde(default)]
    pub amount_capturable: Option<i64>,
    #[serde(default)]
    pub capture_method: Option<String>,
    #[serde(default)]
    pub currency: Option<String>,
    #[serde(default)]
    pub latest_charge: Option<Expandable<Charge>>,
    #[serde(default)]
    pub last_payment_error: Option<Value>,
    /// Preview field: which agent made the purchase. Kept verbatim.
    #[serde(default)]
    pub agent_details: Option<Value>,
}

impl HasId for PaymentIntent {
    fn id(&self) -> &str {
        &self.id
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct Charge {
    pub id: String,
    #[serde(default)]
    pub created: Option<i64>,
    #[serde(default)]
    pub amount: Option<i64>,
    #[serde(default)]
    pub amount_captured: Option<i64>,
    #[serde(default)]
    pub amount_refunded: Option<i64>,
    #[serde(default)]
    pub currency: Option<String>,
    #[serde(default)]
    pub payment_intent: Option<String>,
    #[serde(default)]
    pub billing_details: Option<BillingDetails>,
    #[serde(default)]
    pub payment_method_details: Option<PaymentMethodDetails>,
    #[serde(default)]
    pub receipt_number: Option<String>,
}

impl HasId for Charge {
    fn id(&self) -> &str {
        &self.id
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct PaymentMethodDetails {
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    #[serde(default)]
    pub card: Option<Card>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
pub struct Card {
    #[serde(default)]
    pub brand: Option<String>,
    #[serde(default)]
    pub last4: Option<String>,
    #[serde(default)]
    pub exp_month: Option<i64>,
    #[serde(default)]
    pub exp_year: Option<i64>,
    #[serde(default)]
    pub funding: Option<String>,
    #[serde(default)]
    pub country: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Dispute {
    pub id: String,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(default)]
    pub amount: Option<i64>,
    #[serde(default)]
    pub currency: Option<String>,
    #[serde(default)]
    pub charge: Option<String>,
    #[serde(default)]
    pub payment_intent: Option<String>,
}

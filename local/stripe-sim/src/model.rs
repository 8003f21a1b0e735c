//! The Stripe objects the emulator stores, with Stripe's field names.
//!
//! Fields that point at other objects hold ids; [`crate::expand`] swaps in the objects
//! when a request asks for them, exactly as Stripe's `expand[]` does.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

pub type Metadata = Map<String, Value>;

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
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

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct BillingDetails {
    #[serde(default)]
    pub address: Address,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub phone: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ShippingDetails {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub address: Address,
}

#[derive(Debug, Clone, Serialize)]
pub struct CustomerDetails {
    pub address: Address,
    pub email: Option<String>,
    pub name: Option<String>,
    pub phone: Option<String>,
    pub tax_exempt: &'static str,
    pub tax_ids: Vec<Value>,
}

#[derive(Debug, Clone, Serialize)]
pub struct CollectedInformation {
    pub shipping_details: Option<ShippingDetails>,
}

#[derive(Debug, Clone, Serialize)]
pub struct TotalDetails {
    pub amount_discount: i64,
    pub amount_shipping: i64,
    pub amount_tax: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Identifiers {
    pub gtin: Option<String>,
    pub mpn: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Product {
    pub id: String,
    pub object: &'static str,
    pub active: bool,
    pub created: i64,
    pub description: Option<String>,
    pub identifiers: Identifiers,
    pub images: Vec<String>,
    pub livemode: bool,
    pub metadata: Metadata,
    pub name: String,
    pub updated: i64,
    pub url: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Price {
    pub id: String,
    pub object: &'static str,
    pub active: bool,
    pub billing_scheme: &'static str,
    pub created: i64,
    pub currency: String,
    pub external_reference: String,
    pub livemode: bool,
    pub lookup_key: Option<String>,
    pub metadata: Metadata,
    pub nickname: Option<String>,
    pub product: String,
    pub tax_behavior: &'static str,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub unit_amount: i64,
    pub unit_amount_decimal: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct TaxRate {
    pub id: String,
    pub object: &'static str,
    pub active: bool,
    pub country: Option<String>,
    pub created: i64,
    pub description: Option<String>,
    pub display_name: String,
    pub effective_percentage: f64,
    pub inclusive: bool,
    pub jurisdiction: Option<String>,
    pub livemode: bool,
    pub metadata: Metadata,
    pub percentage: f64,
    pub state: Option<String>,
    pub tax_type: String,
}

/// One tax on a line item; `rate` is rendered as the full tax_rate object.
#[derive(Debug, Clone)]
pub struct LineTax {
    pub amount: i64,
    pub rate: String,
    pub taxable_amount: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct LineItem {
    pub id: String,
    pub object: &'static str,
    pub amount_discount: i64,
    pub amount_subtotal: i64,
    pub amount_tax: i64,
    pub amount_total: i64,
    pub currency: String,
    pub description: String,
    pub quantity: i64,
    #[serde(skip)]
    pub price: String,
    #[serde(skip)]
    pub taxes: Vec<LineTax>,
}

/// A checkout session's `automatic_tax` (Stripe Tax); the emulator only records `enabled`.
#[derive(Debug, Clone, Serialize)]
pub struct AutomaticTax {
    pub enabled: bool,
    pub liability: Option<Value>,
    pub status: Option<&'static str>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct FixedAmount {
    pub amount: i64,
    pub currency: String,
}

/// A Stripe ShippingRate (`type: fixed_amount`, the only type Stripe has).
#[derive(Debug, Clone, Serialize)]
pub struct ShippingRate {
    pub id: String,
    pub object: &'static str,
    pub active: bool,
    pub created: i64,
    pub delivery_estimate: Option<Value>,
    pub display_name: String,
    pub fixed_amount: FixedAmount,
    pub livemode: bool,
    pub metadata: Metadata,
    pub tax_behavior: String,
    pub tax_code: Option<String>,
    #[serde(rename = "type")]
    pub kind: &'static str,
}

/// One of the session's `shipping_options`, as Stripe lists them.
#[derive(Debug, Clone, Serialize)]
pub struct ShippingOption {
    pub shipping_amount: i64,
    pub shipping_rate: String,
}

/// The chosen shipping option's cost (`shipping_cost`).
#[derive(Debug, Clone, Serialize)]
pub struct ShippingCost {
    pub amount_subtotal: i64,
    pub amount_tax: i64,
    pub amount_total: i64,
    pub shipping_rate: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct CheckoutSession {
    pub id: String,
    pub object: &'static str,
    pub amount_subtotal: i64,
    pub amount_total: i64,
    pub automatic_tax: AutomaticTax,
    pub client_reference_id: Option<String>,
    pub collected_information: Option<CollectedInformation>,
    pub created: i64,
    pub currency: String,
    pub customer: Option<String>,
    pub customer_details: Option<CustomerDetails>,
    pub expires_at: i64,
    pub livemode: bool,
    pub metadata: Metadata,
    pub mode: &'static str,
    pub payment_intent: Option<String>,
    pub payment_method_types: Vec<&'static str>,
    pub payment_status: &'static str,
    pub shipping_cost: Option<ShippingCost>,
    pub shipping_options: Vec<ShippingOption>,
    pub status: &'static str,
    pub success_url: Option<String>,
    pub total_details: TotalDetails,
    pub url: Option<String>,
    #[serde(skip)]
    pub line_items: Vec<LineItem>,
    /// Creation order; list endpoints return newest first and `created` has 1 s resolution.
    #[serde(skip)]
    pub seq: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct PaymentIntent {
    pub id: String,
    pub object: &'static str,
    pub amount: i64,
    pub amount_capturable: i64,
    pub amount_received: i64,
    /// The platform's fee (Connect), from finalize_checkout's `application_fee_details`.
    pub application_fee_amount: Option<i64>,
    pub capture_method: String,
    pub created: i64,
    pub currency: String,
    pub customer: Option<String>,
    pub description: Option<String>,
    pub last_payment_error: Option<Value>,
    pub latest_charge: Option<String>,
    pub livemode: bool,
    pub metadata: Metadata,
    pub payment_method: Option<String>,
    pub payment_method_types: Vec<&'static str>,
    pub status: String,
    /// `{amount, destination}` from finalize_checkout's `application_fee_details.transfer_data`.
    pub transfer_data: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agent_details: Option<Value>,
    /// Creation order, for `GET /v1/payment_intents` (newest first; `created` has 1 s
    /// resolution).
    #[serde(skip)]
    pub seq: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Card {
    pub brand: String,
    pub country: String,
    pub exp_month: u32,
    pub exp_year: u32,
    pub fingerprint: String,
    pub funding: String,
    /// Issuer identification number (the first 6 digits).
    #[serde(default)]
    pub iin: String,
    pub last4: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct PaymentMethodDetails {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub card: Card,
}

#[derive(Debug, Clone, Serialize)]
pub struct Charge {
    pub id: String,
    pub object: &'static str,
    pub amount: i64,
    pub amount_captured: i64,
    pub amount_refunded: i64,
    /// `fee_…` when the platform took an application fee.
    pub application_fee: Option<String>,
    pub application_fee_amount: Option<i64>,
    pub balance_transaction: Option<String>,
    pub billing_details: BillingDetails,
    pub captured: bool,
    pub created: i64,
    pub currency: String,
    pub description: Option<String>,
    pub disputed: bool,
    pub livemode: bool,
    pub metadata: Metadata,
    pub paid: bool,
    pub payment_intent: Option<String>,
    pub payment_method: Option<String>,
    pub payment_method_details: PaymentMethodDetails,
    pub receipt_number: Option<String>,
    pub refunded: bool,
    pub status: &'static str,
}

#[derive(Debug, Clone, Serialize)]
pub struct Refund {
    pub id: String,
    pub object: &'static str,
    pub amount: i64,
    pub balance_transaction: Option<String>,
    pub charge: String,
    pub created: i64,
    pub currency: String,
    pub metadata: Metadata,
    pub payment_intent: Option<String>,
    pub reason: Option<String>,
    pub receipt_number: Option<String>,
    pub status: &'static str,
}

#[derive(Debug, Clone, Serialize)]
pub struct Dispute {
    pub id: String,
    pub object: &'static str,
    pub amount: i64,
    pub balance_transactions: Vec<Value>,
    pub charge: String,
    pub created: i64,
    pub currency: String,
    pub is_charge_refundable: bool,
    pub livemode: bool,
    pub metadata: Metadata,
    pub payment_intent: Option<String>,
    pub reason: String,
    pub status: String,
}

pub const DISPUTE_OPEN_STATUSES: &[&str] = &[
    "warning_needs_response",
    "warning_under_review",
    "needs_response",
    "under_review",
];
pub const DISPUTE_CLOSED_STATUSES: &[&str] = &["warning_closed", "won", "lost", "prevented"];

impl Dispute {
    pub fn is_closed(&self) -> bool {
        DISPUTE_CLOSED_STATUSES.contains(&self.status.as_str())
    }
}

/// Serialising these plain structs cannot fail (no non-string map keys); the fallback only
/// exists so that no code path can panic.
pub fn to_json<T: Serialize>(value: &T) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

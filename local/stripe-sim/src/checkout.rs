//! Building the objects an agentic purchase leaves behind on Stripe: product, price, tax
//! rate, checkout session with line items, payment intent and charge.
//!
//! Everything is validated and computed before anything is stored, so a rejected control
//! request leaves no half-made purchase behind. A purchase is a [`Draft`] first: the
//! checkout hooks see it and change it, then it is committed (paid) or aborted (expired).

use crate::errors::ApiError;
use crate::hooks::{CustomizeAnswer, ShippingRateData, TaxRateData};
use crate::ids;
use crate::model::{
    Address, AutomaticTax, BillingDetails, Card, Charge, CheckoutSession, CollectedInformation,
    CustomerDetails, FixedAmount, Identifiers, LineItem, LineTax, Metadata, PaymentIntent,
    PaymentMethodDetails, Price, Product, ShippingCost, ShippingDetails, ShippingOption,
    ShippingRate, TaxRate, TotalDetails, to_json,
};
use crate::state::events::RequestInfo;
use crate::state::{AccountData, Scope, Store};
use crate::timestamps::now;
use crate::webhooks::DeliveryOverrides;
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// Stripe's largest unit amount (8 digits) and a generous quantity cap keep every sum
/// far from overflow even before the checked arithmetic below.
const MAX_UNIT_AMOUNT: i64 = 99_999_999;
const MAX_QUANTITY: i64 = 1_000_000;
/// Checkout sessions expire 24 hours after creation by default.
const SESSION_LIFETIME: i64 = 24 * 60 * 60;

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

/// What a control call made: where, which session, which events to deliver.
pub struct Created {
    pub scope: Scope,
    pub session_id: String,
    pub events: Vec<String>,
}

pub fn parse_account(account: Option<&str>) -> Result<Scope, ApiError> {
    match account {
        None | Some("") => Ok(None),
        Some(a)
            if a.len() > 5
                && a.starts_with("acct_")
                && a[5..].chars().all(|c| c.is_ascii_alphanumeric()) =>
        {
            Ok(Some(a.to_string()))
        }
        Some(a) => Err(ApiError::invalid_param(
            "account",
            format!("Invalid account id: '{a}' (expected acct_…)."),
        )),
    }
}

/// Pinned timestamps must stay in a sane range: `created + 24 h` must not overflow.
fn parse_created(created: Option<i64>) -> Result<i64, ApiError> {
    match created {
        None => Ok(now()),
        // Up to the end of year 9999, like Stripe's own timestamp parameters.
        Some(t) if (0..=253_402_300_799).contains(&t) => Ok(t),
        Some(_) => Err(ApiError::invalid_param(
            "created",
            "created must be a Unix timestamp between 0 and 253402300799.",
        )),
    }
}

pub fn parse_currency(currency: Option<&str>) -> Result<String, ApiError> {
    let currency = currency.unwrap_or("usd").to_ascii_lowercase();
    if currency.len() != 3 || !currency.chars().all(|c| c.is_ascii_lowercase()) {
        return Err(ApiError::invalid_param(
            "currency",
            format!("Invalid currency: {currency}."),
        ));
    }
    Ok(currency)
}

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
struct Lines {
    items: Vec<LineItem>,
    products: Vec<Product>,
    prices: Vec<Price>,
    tax_rates: Vec<TaxRate>,
    subtotal: i64,
    tax: i64,
    total: i64,
}

impl Lines {
    fn recompute(&mut self) -> Result<(), ApiError> {
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

    fn store(self, acct: &mut AccountData) -> Vec<LineItem> {
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

fn overflow() -> ApiError {
    ApiError::invalid("The amounts are too large.")
}

fn build_lines(
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

fn single_line(
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

pub fn check_free_id(taken: bool, id: &str, prefix: &str, param: &str) -> Result<(), ApiError> {
    if !id.starts_with(prefix)
        || id.len() <= prefix.len()
        || !id.chars().all(|c| c == '_' || c.is_ascii_alphanumeric())
    {
        return Err(ApiError::invalid_param(
            param,
            format!("Invalid id '{id}': expected {prefix}…"),
        ));
    }
    if taken {
        return Err(ApiError::invalid_param(
            param,
            format!("An object with id '{id}' already exists in this account."),
        )
        .code("resource_already_exists"));
    }
    Ok(())
}

/// Stable per card so the same test card always has the same fingerprint, as on Stripe.
fn fingerprint(card: &Card) -> String {
    let digest = Sha256::digest(format!(
        "{}|{}|{}|{}",
        card.brand, card.last4, card.exp_month, card.exp_year
    ));
    hex::encode(digest).chars().take(16).collect()
}

const CARD_FUNDING: &[&str] = &["credit", "debit", "prepaid", "unknown"];

/// The test cards' issuer numbers.
fn default_iin(brand: &str) -> &'static str {
    match brand {
        "mastercard" => "555555",
        "amex" => "378282",
        "discover" => "601111",
        "jcb" => "356600",
        "diners" => "305693",
        "unionpay" => "620000",
        _ => "424242",
    }
}

fn build_card(input: Option<&CardInput>) -> Result<Card, ApiError> {
    let input = input.cloned().unwrap_or_default();
    let mut card = Card {
        brand: input.brand.unwrap_or_else(|| "visa".into()),
        country: input.country.unwrap_or_else(|| "US".into()),
        exp_month: input.exp_month.unwrap_or(12),
        exp_year: input.exp_year.unwrap_or(2034),
        fingerprint: String::new(),
        funding: input.funding.unwrap_or_else(|| "credit".into()),
        iin: String::new(),
        last4: input.last4.unwrap_or_else(|| "4242".into()),
    };
    card.iin = input
        .iin
        .unwrap_or_else(|| default_iin(&card.brand).to_string());
    if !(6..=8).contains(&card.iin.len()) || !card.iin.chars().all(|c| c.is_ascii_digit()) {
        return Err(ApiError::invalid_param(
            "card[iin]",
            "iin must be 6 to 8 digits.",
        ));
    }
    if !CARD_FUNDING.contains(&card.funding.as_str()) {
        return Err(ApiError::invalid_param(
            "card[funding]",
            format!("funding must be one of {}.", CARD_FUNDING.join(", ")),
        ));
    }
    if !(1..=12).contains(&card.exp_month) {
        return Err(ApiError::invalid_param(
            "card[exp_month]",
            "exp_month must be from 1 to 12.",
        ));
    }
    if card.last4.len() != 4 || !card.last4.chars().all(|c| c.is_ascii_digit()) {
        return Err(ApiError::invalid_param(
            "card[last4]",
            "last4 must be four digits.",
        ));
    }
    card.fingerprint = fingerprint(&card);
    Ok(card)
}

fn default_address() -> Address {
    Address {
        line1: Some("510 Townsend St".into()),
        line2: None,
        city: Some("San Francisco".into()),
        state: Some("CA".into()),
        postal_code: Some("94103".into()),
        country: Some("US".into()),
    }
}

/// A purchase validated and computed but not stored yet. The checkout hooks see it and
/// change it (shipping, taxes, fee) before it is committed as a paid checkout or aborted as
/// an expired one.
pub struct Draft {
    pub scope: Scope,
    pub session_id: String,
    intent_id: String,
    charge_id: String,
    currency: String,
    capture_method: String,
    created: i64,
    lines: Lines,
    card: Card,
    billing: BillingDetails,
    /// What the session records as collected; the hooks always get an address.
    shipping: Option<ShippingDetails>,
    automatic_tax: bool,
    shipping_amount: i64,
    shipping_offered: Vec<ShippingRate>,
    shipping_chosen: Option<usize>,
    metadata: Metadata,
    receipt_number: Option<String>,
    agent_details: Option<Value>,
    application_fee_amount: Option<i64>,
    transfer_amount: Option<i64>,
}

/// Validates a purchase request and computes its objects; nothing is stored.
pub fn prepare_purchase(req: &PurchaseRequest) -> Result<Draft, ApiError> {
    let scope = parse_account(req.account.as_deref())?;
    let currency = parse_currency(req.currency.as_deref())?;
    let capture_method = req
        .capture_method
        .clone()
        .unwrap_or_else(|| "automatic".into());
    if !["automatic", "manual"].contains(&capture_method.as_str()) {
        return Err(ApiError::invalid_param(
            "capture_method",
            "capture_method must be automatic or manual.",
        ));
    }
    let shipping_amount = req.shipping_amount.unwrap_or(0);
    if !(0..=MAX_UNIT_AMOUNT).contains(&shipping_amount) {
        return Err(ApiError::invalid_param(
            "shipping_amount",
            "shipping_amount must be between 0 and 99999999.",
        ));
    }
    let inputs = match &req.line_items {
        Some(items) => {
            if req.sku.is_some()
                || req.quantity.is_some()
                || req.unit_amount.is_some()
                || req.product.is_some()
                || req.tax.is_some()
            {
                return Err(ApiError::invalid(
                    "Give either line_items or sku/quantity/unit_amount/product/tax, not both.",
                ));
            }
            items.clone()
        }
        None => vec![single_line(
            req.sku.as_ref(),
            req.quantity,
            req.unit_amount,
            req.product.as_ref(),
            req.tax.as_ref(),
        )?],
    };
    if req.shipping_details.is_some() && req.shipping_address.is_some() {
        return Err(ApiError::invalid_param(
            "shipping_address",
            "Give shipping_address or shipping_details, not both.",
        ));
    }
    let created = parse_created(req.created)?;
    let shipping = req.shipping_details.clone().or_else(|| {
        req.shipping_address.clone().map(|address| ShippingDetails {
            name: req.billing_details.as_ref().and_then(|b| b.name.clone()),
            address,
        })
    });
    let ship_to = shipping.as_ref().map(|s| &s.address);
    let lines = build_lines(&inputs, &currency, created, ship_to)?;
    let card = build_card(req.card.as_ref())?;

    let ids_in = req.ids.clone().unwrap_or_default();
    let session_id = ids_in
        .checkout_session
        .unwrap_or_else(ids::checkout_session);
    let intent_id = ids_in.payment_intent.unwrap_or_else(ids::payment_intent);
    let charge_id = ids_in.charge.unwrap_or_else(ids::charge);
    check_free_id(false, &session_id, "cs_", "ids[checkout_session]")?;
    check_free_id(false, &intent_id, "pi_", "ids[payment_intent]")?;
    check_free_id(false, &charge_id, "ch_", "ids[charge]")?;

    let mut billing = req
        .billing_details
        .clone()
        .unwrap_or_else(|| BillingDetails {
            address: ship_to.cloned().unwrap_or_else(default_address),
            email: Some("jenny.rosen@example.com".into()),
            name: shipping
                .as_ref()
                .and_then(|s| s.name.clone())
                .or_else(|| Some("Jenny Rosen".into())),
            phone: None,
        });
    let mut shipping = shipping;
    if req.shipping_address.is_some() {
        if let Some(s) = shipping.as_mut().filter(|s| s.name.is_none()) {
            s.name = billing.name.clone();
        }
    }
    if let Some(email) = &req.email {
        billing.email = Some(email.clone());
    }
    if let Some(phone) = &req.phone {
        billing.phone = Some(phone.clone());
    }
    let metadata: Metadata = req
        .metadata
        .clone()
        .unwrap_or_default()
        .into_iter()
        .map(|(k, v)| (k, json!(v)))
        .collect();
    let draft = Draft {
        scope,
        session_id,
        intent_id,
        charge_id,
        currency,
        capture_method,
        created,
        lines,
        card,
        billing,
        shipping,
        automatic_tax: req.automatic_tax.unwrap_or(false),
        shipping_amount,
        shipping_offered: Vec::new(),
        shipping_chosen: None,
        metadata,
        receipt_number: req.receipt_number.clone(),
        agent_details: req.agent_details.clone(),
        application_fee_amount: None,
        transfer_amount: None,
    };
    draft.amount_total()?;
    Ok(draft)
}

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
    pub fn amount_total(&self) -> Result<i64, ApiError> {
        self.lines
            .total
            .checked_add(self.shipping_amount)
            .ok_or_else(overflow)
    }

    /// Seeded ids must still be free in the account (checked again when committing: the
    /// lock is released while the hooks run).
    pub fn check_ids(&self, acct: &AccountData) -> Result<(), ApiError> {
        check_free_id(
            acct.sessions.contains_key(&self.session_id),
            &self.session_id,
            "cs_",
            "ids[checkout_session]",
        )?;
        check_free_id(
            acct.payment_intents.contains_key(&self.intent_id),
            &self.intent_id,
            "pi_",
            "ids[payment_intent]",
        )?;
        check_free_id(
            acct.charges.contains_key(&self.charge_id),
            &self.charge_id,
            "ch_",
            "ids[charge]",
        )
    }

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

    /// `data` of `v1.delegated_checkout.finalize_checkout` (note `line_items_details`).
    pub fn finalize_data(&mut self) -> Value {
        let shipping = self.hook_shipping();
        let card = &self.card;
        json!({
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
            "checkout_session": self.session_id,
        })
    }

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

    fn session(&self, seq: u64, amount_total: i64, paid: Option<bool>) -> CheckoutSession {
        let chosen = self
            .shipping_chosen
            .and_then(|i| self.shipping_offered.get(i));
        CheckoutSession {
            id: self.session_id.clone(),
            object: "checkout.session",
            amount_subtotal: self.lines.subtotal,
            amount_total,
            automatic_tax: AutomaticTax {
                enabled: self.automatic_tax,
                liability: None,
                status: self.automatic_tax.then_some("complete"),
            },
            client_reference_id: None,
            collected_information: self.shipping.clone().map(|s| CollectedInformation {
                shipping_details: Some(s),
            }),
            created: self.created,
            currency: self.currency.clone(),
            customer: None,
            customer_details: Some(CustomerDetails {
                address: self.billing.address.clone(),
                email: self.billing.email.clone(),
                name: self.billing.name.clone(),
                phone: self.billing.phone.clone(),
                tax_exempt: "none",
                tax_ids: Vec::new(),
            }),
            expires_at: self.created + SESSION_LIFETIME,
            livemode: false,
            metadata: self.metadata.clone(),
            mode: "payment",
            payment_intent: paid.map(|_| self.intent_id.clone()),
            payment_method_types: vec!["card"],
            payment_status: if paid == Some(true) { "paid" } else { "unpaid" },
            shipping_cost: chosen.map(|r| ShippingCost {
                amount_subtotal: r.fixed_amount.amount,
                amount_tax: 0,
                amount_total: r.fixed_amount.amount,
                shipping_rate: r.id.clone(),
            }),
            shipping_options: self
                .shipping_offered
                .iter()
                .map(|r| ShippingOption {
                    shipping_amount: r.fixed_amount.amount,
                    shipping_rate: r.id.clone(),
                })
                .collect(),
            status: if paid.is_some() {
                "complete"
            } else {
                "expired"
            },
            success_url: None,
            total_details: TotalDetails {
                amount_discount: 0,
                amount_shipping: self.shipping_amount,
                amount_tax: self.lines.tax,
            },
            url: None,
            line_items: Vec::new(),
            seq,
        }
    }

    fn store_catalog(self, acct: &mut AccountData) -> Vec<LineItem> {
        for rate in self.shipping_offered {
            acct.shipping_rates.insert(rate.id.clone(), rate);
        }
        self.lines.store(acct)
    }

    /// A completed, paid (or, with manual capture, authorised) agentic purchase.
    pub fn commit(self, store: &mut Store, api_version: &str) -> Result<Created, ApiError> {
        let amount_total = self.amount_total()?;
        let scope = self.scope.clone();
        self.check_ids(store.account(&scope))?;
        let seq = store.next_seq();
        let manual = self.capture_method == "manual";
        let payment_method = ids::payment_method();
        let mut session = self.session(seq, amount_total, Some(!manual));
        let intent = PaymentIntent {
            id: self.intent_id.clone(),
            object: "payment_intent",
            amount: amount_total,
            amount_capturable: if manual { amount_total } else { 0 },
            amount_received: if manual { 0 } else { amount_total },
            application_fee_amount: self.application_fee_amount,
            capture_method: self.capture_method.clone(),
            created: self.created,
            currency: self.currency.clone(),
            customer: None,
            description: None,
            last_payment_error: None,
            latest_charge: Some(self.charge_id.clone()),
            livemode: false,
            metadata: self.metadata.clone(),
            payment_method: Some(payment_method.clone()),
            payment_method_types: vec!["card"],
            status: if manual {
                "requires_capture".into()
            } else {
                "succeeded".into()
            },
            transfer_data: self
                .transfer_amount
                .map(|amount| json!({ "amount": amount, "destination": scope })),
            agent_details: self.agent_details.clone(),
        };
        let charge = Charge {
            id: self.charge_id.clone(),
            object: "charge",
            amount: amount_total,
            amount_captured: if manual { 0 } else { amount_total },
            amount_refunded: 0,
            application_fee: self.application_fee_amount.map(|_| ids::application_fee()),
            application_fee_amount: self.application_fee_amount,
            balance_transaction: None,
            billing_details: self.billing.clone(),
            captured: !manual,
            created: self.created,
            currency: self.currency.clone(),
            description: None,
            disputed: false,
            livemode: false,
            metadata: self.metadata.clone(),
            paid: true,
            payment_intent: Some(self.intent_id.clone()),
            payment_method: Some(payment_method),
            payment_method_details: PaymentMethodDetails {
                kind: "card",
                card: self.card.clone(),
            },
            receipt_number: Some(
                self.receipt_number
                    .clone()
                    .unwrap_or_else(ids::receipt_number),
            ),
            refunded: false,
            status: "succeeded",
        };
        let session_id = self.session_id.clone();
        let (intent_id, charge_id) = (self.intent_id.clone(), self.charge_id.clone());
        let acct = store.account(&scope);
        session.line_items = self.store_catalog(acct);
        let session_json = to_json(&session);
        let intent_json = to_json(&intent);
        acct.sessions.insert(session_id.clone(), session);
        acct.payment_intents.insert(intent_id, intent);
        acct.charges.insert(charge_id, charge);

        let none = RequestInfo::default();
        let mut events = vec![store.emit(
            api_version,
            &scope,
            "checkout.session.completed",
            session_json,
            None,
            &none,
        )];
        if !manual {
            events.push(store.emit(
                api_version,
                &scope,
                "payment_intent.succeeded",
                intent_json,
                None,
                &none,
            ));
        }
        Ok(Created {
            scope,
            session_id,
            events,
        })
    }

    /// A checkout the platform declined: no payment; the session is stored expired and
    /// `checkout.session.expired` is emitted.
    pub fn abort(self, store: &mut Store, api_version: &str) -> Result<Created, ApiError> {
        let amount_total = self.amount_total()?;
        let scope = self.scope.clone();
        self.check_ids(store.account(&scope))?;
        let seq = store.next_seq();
        let mut session = self.session(seq, amount_total, None);
        session.expires_at = now().max(self.created);
        let session_id = self.session_id.clone();
        let acct = store.account(&scope);
        session.line_items = self.store_catalog(acct);
        let snapshot = to_json(&session);
        acct.sessions.insert(session_id.clone(), session);
        let event = store.emit(
            api_version,
            &scope,
            "checkout.session.expired",
            snapshot,
            None,
            &RequestInfo::default(),
        );
        Ok(Created {
            scope,
            session_id,
            events: vec![event],
        })
    }
}

/// Takes an open session (or makes one) and expires it, as Stripe does after 24 hours.
pub fn expire_session(
    store: &mut Store,
    api_version: &str,
    req: &ExpireRequest,
) -> Result<Created, ApiError> {
    let scope = parse_account(req.account.as_deref())?;
    let existing = req
        .checkout_session
        .as_ref()
        .and_then(|id| store.account(&scope).sessions.get(id).map(|s| s.status));
    let session_id = match (existing, &req.checkout_session) {
        (Some("open"), Some(id)) => id.clone(),
        (Some(status), Some(_)) => {
            return Err(ApiError::invalid(format!(
                "Only Checkout Sessions with a status in [\"open\"] can be expired. This session has a status of \"{status}\"."
            ))
            .param("checkout_session"));
        }
        (_, given) => {
            let currency = parse_currency(req.currency.as_deref())?;
            let created = parse_created(req.created)?;
            let line = LineInput {
                sku: req.sku.clone().unwrap_or_else(|| "SKU-1".into()),
                quantity: req.quantity.unwrap_or(1),
                unit_amount: req.unit_amount.unwrap_or(1000),
                product: req.product.clone(),
                tax: None,
            };
            let lines = build_lines(&[line], &currency, created, None)?;
            let seq = store.next_seq();
            let acct = store.account(&scope);
            let id = given.clone().unwrap_or_else(ids::checkout_session);
            check_free_id(false, &id, "cs_", "checkout_session")?;
            let (subtotal, total) = (lines.subtotal, lines.total);
            let session = CheckoutSession {
                id: id.clone(),
                object: "checkout.session",
                amount_subtotal: subtotal,
                amount_total: total,
                automatic_tax: AutomaticTax {
                    enabled: false,
                    liability: None,
                    status: None,
                },
                client_reference_id: None,
                collected_information: None,
                created,
                currency,
                customer: None,
                customer_details: None,
                expires_at: created + SESSION_LIFETIME,
                livemode: false,
                metadata: Metadata::new(),
                mode: "payment",
                payment_intent: None,
                payment_method_types: vec!["card"],
                payment_status: "unpaid",
                shipping_cost: None,
                shipping_options: Vec::new(),
                status: "open",
                success_url: None,
                total_details: TotalDetails {
                    amount_discount: 0,
                    amount_shipping: 0,
                    amount_tax: 0,
                },
                url: None,
                line_items: lines.store(acct),
                seq,
            };
            acct.sessions.insert(id.clone(), session);
            id
        }
    };
    let acct = store.account(&scope);
    let Some(session) = acct.sessions.get_mut(&session_id) else {
        return Err(ApiError::no_such(
            "checkout.session",
            &session_id,
            "checkout_session",
        ));
    };
    session.status = "expired";
    session.expires_at = now();
    let snapshot = to_json(&*session);
    let event = store.emit(
        api_version,
        &scope,
        "checkout.session.expired",
        snapshot,
        None,
        &RequestInfo::default(),
    );
    Ok(Created {
        scope,
        session_id,
        events: vec![event],
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

    #[test]
    fn accounts_and_currencies_are_validated() {
        assert_eq!(
            parse_account(Some("acct_123")).ok(),
            Some(Some("acct_123".into()))
        );
        assert!(parse_account(Some("acct_")).is_err());
        assert!(parse_account(Some("acct_1/../x")).is_err());
        assert_eq!(parse_currency(Some("EUR")).ok().as_deref(), Some("eur"));
        assert!(parse_currency(Some("euro")).is_err());
        assert!(parse_created(Some(i64::MAX)).is_err());
        assert!(parse_created(Some(-1)).is_err());
        assert_eq!(parse_created(Some(1_700_000_000)).ok(), Some(1_700_000_000));
    }
}

//! Building the objects an agentic purchase leaves behind on Stripe: product, price, tax
//! rate, checkout session with line items, payment intent and charge.
//!
//! Everything is validated and computed before anything is stored, so a rejected control
//! request leaves no half-made purchase behind.

use crate::errors::ApiError;
use crate::ids;
use crate::model::{
    Address, BillingDetails, Card, Charge, CheckoutSession, CollectedInformation, CustomerDetails,
    Identifiers, LineItem, LineTax, Metadata, PaymentIntent, PaymentMethodDetails, Price, Product,
    ShippingDetails, TaxRate, TotalDetails, to_json,
};
use crate::state::{AccountData, RequestInfo, Scope, Store, now};
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
    #[serde(default)]
    pub billing_details: Option<BillingDetails>,
    #[serde(default)]
    pub card: Option<CardInput>,
    #[serde(default)]
    pub agent_details: Option<Value>,
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

fn check_free_id(taken: bool, id: &str, prefix: &str, param: &str) -> Result<(), ApiError> {
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

fn build_card(input: Option<&CardInput>) -> Result<Card, ApiError> {
    let input = input.cloned().unwrap_or_default();
    let mut card = Card {
        brand: input.brand.unwrap_or_else(|| "visa".into()),
        country: input.country.unwrap_or_else(|| "US".into()),
        exp_month: input.exp_month.unwrap_or(12),
        exp_year: input.exp_year.unwrap_or(2034),
        fingerprint: String::new(),
        funding: input.funding.unwrap_or_else(|| "credit".into()),
        last4: input.last4.unwrap_or_else(|| "4242".into()),
    };
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

/// A completed, paid (or, with manual capture, authorised) agentic purchase.
pub fn create_purchase(
    store: &mut Store,
    api_version: &str,
    req: &PurchaseRequest,
) -> Result<Created, ApiError> {
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
    let created = parse_created(req.created)?;
    let ship_to = req.shipping_details.as_ref().map(|s| &s.address);
    let lines = build_lines(&inputs, &currency, created, ship_to)?;
    let card = build_card(req.card.as_ref())?;
    let amount_total = lines
        .total
        .checked_add(shipping_amount)
        .ok_or_else(overflow)?;

    let seq = store.next_seq();
    let acct = store.account(&scope);
    let ids_in = req.ids.clone().unwrap_or_default();
    let session_id = ids_in
        .checkout_session
        .unwrap_or_else(ids::checkout_session);
    let intent_id = ids_in.payment_intent.unwrap_or_else(ids::payment_intent);
    let charge_id = ids_in.charge.unwrap_or_else(ids::charge);
    check_free_id(
        acct.sessions.contains_key(&session_id),
        &session_id,
        "cs_",
        "ids[checkout_session]",
    )?;
    check_free_id(
        acct.payment_intents.contains_key(&intent_id),
        &intent_id,
        "pi_",
        "ids[payment_intent]",
    )?;
    check_free_id(
        acct.charges.contains_key(&charge_id),
        &charge_id,
        "ch_",
        "ids[charge]",
    )?;

    let billing = req
        .billing_details
        .clone()
        .unwrap_or_else(|| BillingDetails {
            address: ship_to.cloned().unwrap_or_else(default_address),
            email: Some("jenny.rosen@example.com".into()),
            name: req
                .shipping_details
                .as_ref()
                .and_then(|s| s.name.clone())
                .or_else(|| Some("Jenny Rosen".into())),
            phone: None,
        });
    let manual = capture_method == "manual";
    let payment_method = ids::payment_method();
    let metadata: Metadata = req
        .metadata
        .clone()
        .unwrap_or_default()
        .into_iter()
        .map(|(k, v)| (k, json!(v)))
        .collect();

    let session = CheckoutSession {
        id: session_id.clone(),
        object: "checkout.session",
        amount_subtotal: lines.subtotal,
        amount_total,
        client_reference_id: None,
        collected_information: req.shipping_details.clone().map(|s| CollectedInformation {
            shipping_details: Some(s),
        }),
        created,
        currency: currency.clone(),
        customer: None,
        customer_details: Some(CustomerDetails {
            address: billing.address.clone(),
            email: billing.email.clone(),
            name: billing.name.clone(),
            phone: billing.phone.clone(),
            tax_exempt: "none",
            tax_ids: Vec::new(),
        }),
        expires_at: created + SESSION_LIFETIME,
        livemode: false,
        metadata: metadata.clone(),
        mode: "payment",
        payment_intent: Some(intent_id.clone()),
        payment_method_types: vec!["card"],
        payment_status: if manual { "unpaid" } else { "paid" },
        status: "complete",
        success_url: None,
        total_details: TotalDetails {
            amount_discount: 0,
            amount_shipping: shipping_amount,
            amount_tax: lines.tax,
        },
        url: None,
        line_items: Vec::new(),
        seq,
    };
    let intent = PaymentIntent {
        id: intent_id.clone(),
        object: "payment_intent",
        amount: amount_total,
        amount_capturable: if manual { amount_total } else { 0 },
        amount_received: if manual { 0 } else { amount_total },
        capture_method: capture_method.clone(),
        created,
        currency: currency.clone(),
        customer: None,
        description: None,
        last_payment_error: None,
        latest_charge: Some(charge_id.clone()),
        livemode: false,
        metadata: metadata.clone(),
        payment_method: Some(payment_method.clone()),
        payment_method_types: vec!["card"],
        status: if manual {
            "requires_capture".into()
        } else {
            "succeeded".into()
        },
        agent_details: req.agent_details.clone(),
    };
    let charge = Charge {
        id: charge_id.clone(),
        object: "charge",
        amount: amount_total,
        amount_captured: if manual { 0 } else { amount_total },
        amount_refunded: 0,
        balance_transaction: None,
        billing_details: billing,
        captured: !manual,
        created,
        currency,
        description: None,
        disputed: false,
        livemode: false,
        metadata,
        paid: true,
        payment_intent: Some(intent_id.clone()),
        payment_method: Some(payment_method),
        payment_method_details: PaymentMethodDetails { kind: "card", card },
        receipt_number: Some(
            req.receipt_number
                .clone()
                .unwrap_or_else(ids::receipt_number),
        ),
        refunded: false,
        status: "succeeded",
    };

    let mut session = session;
    session.line_items = lines.store(acct);
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

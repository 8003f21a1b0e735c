//! Turning a purchase request into a [`Draft`]: every check and every computed object
//! happen here, before anything is stored.

use super::card::build_card;
use super::lines::{Lines, MAX_UNIT_AMOUNT, build_lines, overflow, single_line};
use super::params::{check_free_id, parse_account, parse_created, parse_currency};
use super::requests::PurchaseRequest;
use crate::errors::ApiError;
use crate::ids;
use crate::model::{Address, BillingDetails, Card, Metadata, ShippingDetails, ShippingRate};
use crate::state::{AccountData, Scope};
use serde_json::{Value, json};

/// The address of Stripe's example customer, for purchases that give none: the hooks
/// always get one.
pub(super) fn default_address() -> Address {
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
    pub(super) intent_id: String,
    pub(super) charge_id: String,
    pub(super) currency: String,
    pub(super) capture_method: String,
    pub(super) created: i64,
    pub(super) lines: Lines,
    pub(super) card: Card,
    pub(super) billing: BillingDetails,
    /// What the session records as collected; the hooks always get an address.
    pub(super) shipping: Option<ShippingDetails>,
    pub(super) automatic_tax: bool,
    pub(super) shipping_amount: i64,
    pub(super) shipping_offered: Vec<ShippingRate>,
    pub(super) shipping_chosen: Option<usize>,
    pub(super) metadata: Metadata,
    pub(super) receipt_number: Option<String>,
    pub(super) agent_details: Option<Value>,
    pub(super) application_fee_amount: Option<i64>,
    pub(super) transfer_amount: Option<i64>,
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
}

//! Expiring a checkout session, as Stripe does 24 hours after its creation.

use super::lines::build_lines;
use super::params::{check_free_id, parse_account, parse_created, parse_currency};
use super::requests::{ExpireRequest, LineInput};
use super::{Created, SESSION_LIFETIME};
use crate::errors::ApiError;
use crate::ids;
use crate::model::{AutomaticTax, CheckoutSession, Metadata, TotalDetails, to_json};
use crate::state::Store;
use crate::state::events::RequestInfo;
use crate::timestamps::now;

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

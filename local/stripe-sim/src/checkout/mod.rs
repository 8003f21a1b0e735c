//! Building the objects an agentic purchase leaves behind on Stripe: product, price, tax
//! rate, checkout session with line items, payment intent and charge.
//!
//! Everything is validated and computed before anything is stored, so a rejected control
//! request leaves no half-made purchase behind. A purchase is a [`draft::Draft`] first: the
//! checkout hooks see it and change it, then it is committed (paid) or aborted (expired).

mod card;
mod customize;
mod draft;
mod expire;
mod hook_data;
mod lines;
mod params;
mod payment;
mod requests;

pub use customize::{shipping_rate_from, tax_rate_from};
pub use draft::prepare_purchase;
pub use expire::expire_session;
pub use params::{check_free_id, parse_account, parse_currency};
pub use requests::{ExpireRequest, PurchaseRequest};

use crate::state::Scope;

/// Checkout sessions expire 24 hours after creation by default.
const SESSION_LIFETIME: i64 = 24 * 60 * 60;

/// What a control call made: where, which session, which events to deliver.
pub struct Created {
    pub scope: Scope,
    pub session_id: String,
    pub events: Vec<String>,
}

//! Stripe: the HTTP client, its error type and retry rule, and the typed objects we read.

pub mod agreements;
pub mod catalog;
pub mod checkout;
mod client;
mod error;
#[cfg(any(test, feature = "memory"))]
pub mod fake_catalog;
pub mod objects;
mod pace;
mod retry;

pub use crate::config::StripeRateLimits;
pub use client::{RequestOptions, StripeClient, http_client, idempotency_key_for, warm_up};
pub use error::{ApiErrorBody, StripeError};
pub use pace::{Host, Pacer};
pub use retry::RetryPolicy;

//! Stripe: the HTTP client, its error type and retry rule, and the typed objects we read.

pub mod checkout;
mod client;
mod error;
mod retry;
pub mod objects;

pub use client::{idempotency_key_for, Host, RequestOptions, StripeClient};
pub use error::{ApiErrorBody, StripeError};
pub use retry::RetryPolicy;

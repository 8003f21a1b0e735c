//! The common library of the agentic-commerce bundle: domain logic (orders, webhooks) and the
//! adapters it runs on (Stripe HTTP client, DynamoDB stores), each behind a narrow trait.

pub mod clock;
pub mod config;
pub mod secret;
pub mod signature;
pub mod stripe;
pub mod store;
pub mod orders;
pub mod webhooks;
pub mod logging;
pub mod fixtures;
#[cfg(feature = "lambda")]
pub mod apigw;

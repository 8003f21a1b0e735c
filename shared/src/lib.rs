//! The common library of the agentic-commerce bundle: domain logic (orders, webhooks) and the
//! adapters it runs on (Stripe HTTP client, DynamoDB stores), each behind a narrow trait.

pub mod account_sessions;
pub mod agreements;
pub mod bucket;
pub mod budget;
pub mod catalog;
pub mod clock;
pub mod config;
pub mod dead_letters;
pub mod encoding;
pub mod endpoint;
pub mod event_bus;
pub mod holds;
pub mod hooks;
pub mod imports;
pub mod logging;
pub mod merchants;
pub mod metrics;
pub mod money;

pub mod orders;
pub mod reconcile;
pub mod secret;
pub mod signature;
pub mod skus;
pub mod store;
pub mod stripe;
pub mod thin_events;
pub mod uploader;
pub mod webhooks;

//! Typed configuration, loaded once at cold start: [`Env`] reads variables and secrets,
//! `secrets_extension` fetches the deployed secrets, `functions` holds each function's
//! settings, `livemode` refuses test credentials in a live deployment.
//!
//! Plain settings come from environment variables. Secrets come from the same variables
//! locally, and when deployed from one AWS Secrets Manager secret per value (a plain string,
//! named by the variable `<NAME>_SECRET_ID`) read through the Parameters and Secrets Lambda
//! Extension, which serves it over plain HTTP on localhost and caches it. Each function is
//! given, and may read, only the secrets it uses. A missing or malformed setting fails
//! start-up with a message naming it; a secret's value never appears in any message.

mod env;
mod functions;
mod livemode;
mod secrets_extension;
mod stripe_rate;

pub use env::{Env, secret_names};
pub use functions::{
    DynamoSettings, HooksConfig, IdempotencySettings, StripeSettings, UploaderConfig,
    WebhooksConfig, WebhooksSecrets, stripe_secret_key,
};
pub use livemode::PUBLISHED_TEST_SECRETS;
pub use secrets_extension::BuiltWithSecrets;
pub use stripe_rate::StripeRateLimits;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration: {name} is required but not set")]
    Missing { name: String },
    #[error("configuration: {name} is malformed: {reason}")]
    Malformed { name: String, reason: String },
    #[error(
        "configuration: could not read {name} (secret {secret_id}) through the Secrets Manager extension: {reason}"
    )]
    SecretsUnavailable {
        name: String,
        secret_id: String,
        reason: String,
    },
}

/// An environment for unit tests: the webhooks function's required settings, with
/// `extra` replacing or adding values.
#[cfg(test)]
pub(crate) fn test_env(extra: &[(&'static str, &'static str)]) -> Env {
    let mut vars = vec![
        ("STRIPE_SECRET_KEY", "sk_test_51abcdefghijklmnopqrstuvwxyz"),
        ("STRIPE_WEBHOOK_SECRETS", "whsec_one, whsec_two"),
        ("ORDERS_TABLE", "orders"),
        ("IDEMPOTENCY_TABLE", "idem"),
    ];
    vars.retain(|(k, _)| !extra.iter().any(|(e, _)| e == k));
    vars.extend_from_slice(extra);
    Env::from_map(vars)
}

//! Each function's settings, and the Stripe and DynamoDB settings they share.

use std::time::Duration;

use super::{ConfigError, Env, secret_names};
use crate::secret::Secret;
use crate::signature::DEFAULT_TOLERANCE_SECONDS;

/// Stripe API settings shared by every function (the secret key is read separately, see
/// [`stripe_secret_key`]).
#[derive(Debug, Clone)]
pub struct StripeSettings {
    pub api_base: String,
    pub files_base: String,
    /// The account's livemode this deployment serves; events of the other mode are refused.
    pub livemode: bool,
    /// `Stripe-Version` for the order retrieval (a preview version: docs/stripe.md §6).
    pub orders_api_version: String,
    /// `Stripe-Version` for account sessions: a base version, then the embedded components
    /// beta flag the `agentic_commerce_settings` component needs (docs/stripe.md §6.5), e.g.
    /// `2026-06-24.dahlia; embedded_connect_beta=v2`.
    pub account_sessions_api_version: String,
    pub request_timeout: Duration,
    pub max_network_retries: u32,
    /// This instance's share of Stripe's rate limits (`StripeRateLimits`);
    /// None: calls are not paced.
    pub rate_limits: Option<super::StripeRateLimits>,
}

impl StripeSettings {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(Self {
            api_base: env.url_or("STRIPE_API_BASE", "https://api.stripe.com")?,
            files_base: env.url_or("STRIPE_FILES_BASE", "https://files.stripe.com")?,
            livemode: env.bool_or("STRIPE_LIVEMODE", false)?,
            orders_api_version: env
                .optional("STRIPE_ORDERS_API_VERSION")
                .unwrap_or_else(|| "2025-12-15.preview".into()),
            account_sessions_api_version: account_sessions_version(env)?,
            request_timeout: Duration::from_millis(env.parsed_or("STRIPE_TIMEOUT_MS", 10_000u64)?),
            max_network_retries: env.parsed_or("STRIPE_MAX_NETWORK_RETRIES", 2u32)?,
            rate_limits: super::StripeRateLimits::from_env(
                env,
                env.bool_or("STRIPE_LIVEMODE", false)?,
            )?,
        })
    }
}

/// `STRIPE_ACCOUNT_SESSIONS_API_VERSION` (the base version) joined with
/// `STRIPE_ACCOUNT_SESSIONS_BETA` (the beta flag; `none` sends the base version alone).
fn account_sessions_version(env: &Env) -> Result<String, ConfigError> {
    const BASE: &str = "STRIPE_ACCOUNT_SESSIONS_API_VERSION";
    let base = env
        .optional(BASE)
        .unwrap_or_else(|| "2026-06-24.dahlia".into());
    if base.contains(';') {
        return Err(ConfigError::Malformed {
            name: BASE.into(),
            reason: "the base version only: the beta flag goes in STRIPE_ACCOUNT_SESSIONS_BETA"
                .into(),
        });
    }
    let beta = env
        .optional("STRIPE_ACCOUNT_SESSIONS_BETA")
        .unwrap_or_else(|| "embedded_connect_beta=v2".into());
    Ok(if beta.eq_ignore_ascii_case("none") {
        base
    } else {
        format!("{base}; {beta}")
    })
}

/// The platform's secret (or restricted) key, checked against the deployment's mode so a
/// test key never serves a live deployment or the reverse.
pub fn stripe_secret_key(env: &Env, livemode: bool) -> Result<Secret, ConfigError> {
    let secret_key = env.secret(secret_names::STRIPE_SECRET_KEY)?;
    let key = secret_key.expose();
    let key_live = key.starts_with("sk_live_") || key.starts_with("rk_live_");
    let key_test = key.starts_with("sk_test_") || key.starts_with("rk_test_");
    if !(key_live || key_test) {
        return Err(ConfigError::Malformed {
            name: secret_names::STRIPE_SECRET_KEY.into(),
            reason: format!(
                "expected an sk_… or rk_… key, found {}",
                secret_key.masked()
            ),
        });
    }
    if key_live != livemode {
        return Err(ConfigError::Malformed {
            name: secret_names::STRIPE_SECRET_KEY.into(),
            reason: format!(
                "a {} key does not match STRIPE_LIVEMODE={livemode}",
                if key_live { "live" } else { "test" }
            ),
        });
    }
    Ok(secret_key)
}

/// DynamoDB settings: the endpoint override exists for DynamoDB Local only.
#[derive(Debug, Clone)]
pub struct DynamoSettings {
    pub endpoint: Option<String>,
    /// One HTTP attempt (`DYNAMODB_ATTEMPT_TIMEOUT_MS`, 3000): a stalled connection is
    /// abandoned and retried by the SDK instead of hanging the invocation.
    pub attempt_timeout: Duration,
    /// A whole operation with the SDK's retries (`DYNAMODB_OPERATION_TIMEOUT_MS`, 10000),
    /// inside the shortest timeout of a function that calls DynamoDB without its own
    /// deadline (webhooks, 20 s). The hooks cut their calls shorter still.
    pub operation_timeout: Duration,
}

impl DynamoSettings {
    /// A client for tooling against `endpoint` (tests, the local stack's setup): generous
    /// timeouts, since an emulator on a busy laptop is slower than DynamoDB.
    pub fn for_tooling(endpoint: impl Into<String>) -> Self {
        Self {
            endpoint: Some(endpoint.into()),
            attempt_timeout: Duration::from_secs(30),
            operation_timeout: Duration::from_secs(120),
        }
    }

    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let endpoint = match env.optional("DYNAMODB_ENDPOINT") {
            Some(_) => Some(env.url_or("DYNAMODB_ENDPOINT", "")?),
            None => None,
        };
        let attempt_timeout =
            Duration::from_millis(env.parsed_or("DYNAMODB_ATTEMPT_TIMEOUT_MS", 3_000u64)?);
        let operation_timeout =
            Duration::from_millis(env.parsed_or("DYNAMODB_OPERATION_TIMEOUT_MS", 10_000u64)?);
        if attempt_timeout.is_zero() || operation_timeout < attempt_timeout {
            return Err(ConfigError::Malformed {
                name: "DYNAMODB_OPERATION_TIMEOUT_MS".into(),
                reason: "must be at least DYNAMODB_ATTEMPT_TIMEOUT_MS, and both above 0".into(),
            });
        }
        Ok(Self {
            endpoint,
            attempt_timeout,
            operation_timeout,
        })
    }
}

/// How long an idempotency record lives and how long an unfinished one blocks retries.
#[derive(Debug, Clone, Copy)]
pub struct IdempotencySettings {
    /// Stripe retries for up to 3 days; keep records a little longer.
    pub ttl_seconds: i64,
    /// After this, an in-progress record left by a crashed invocation no longer blocks.
    pub in_progress_seconds: i64,
}

impl IdempotencySettings {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let settings = Self {
            ttl_seconds: env.parsed_or("IDEMPOTENCY_TTL_SECONDS", 4 * 24 * 3600)?,
            in_progress_seconds: env.parsed_or("IDEMPOTENCY_IN_PROGRESS_SECONDS", 60)?,
        };
        if settings.ttl_seconds <= 0 || settings.in_progress_seconds <= 0 {
            return Err(ConfigError::Malformed {
                name: "IDEMPOTENCY_TTL_SECONDS/IDEMPOTENCY_IN_PROGRESS_SECONDS".into(),
                reason: "must be positive".into(),
            });
        }
        Ok(settings)
    }
}

/// Configuration of the `webhooks` function: plain settings, checked at cold start.
#[derive(Debug, Clone)]
pub struct WebhooksConfig {
    pub stripe: StripeSettings,
    pub tolerance_seconds: i64,
    pub orders_table: String,
    pub idempotency_table: String,
    /// Where stock holds live; unset: no hold is converted or released here.
    pub catalog_table: Option<String>,
    /// Where agreements from thin events are kept; unset: `/stripe/events` is not served.
    pub agreements_table: Option<String>,
    /// Where genuine events that cannot be processed are kept; unset: such events are
    /// answered 503, so Stripe keeps retrying them until it is set.
    pub dead_letters_table: Option<String>,
    /// `Stripe-Version` of the agreements API (a preview).
    pub agreements_api_version: String,
    pub dynamo: DynamoSettings,
    pub idempotency: IdempotencySettings,
}

impl WebhooksConfig {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let tolerance_seconds =
            env.parsed_or("WEBHOOK_TOLERANCE_SECONDS", DEFAULT_TOLERANCE_SECONDS)?;
        if tolerance_seconds <= 0 {
            return Err(ConfigError::Malformed {
                name: "WEBHOOK_TOLERANCE_SECONDS".into(),
                reason: "must be positive (0 would refuse every delivery)".into(),
            });
        }
        Ok(Self {
            stripe: StripeSettings::from_env(env)?,
            tolerance_seconds,
            orders_table: env.required("ORDERS_TABLE")?,
            idempotency_table: env.required("IDEMPOTENCY_TABLE")?,
            catalog_table: env.optional("CATALOG_TABLE"),
            agreements_table: env.optional("AGREEMENTS_TABLE"),
            dead_letters_table: env.optional("DEAD_LETTERS_TABLE"),
            agreements_api_version: env
                .optional("STRIPE_AGREEMENTS_API_VERSION")
                .unwrap_or_else(|| "2026-04-22.preview".into()),
            dynamo: DynamoSettings::from_env(env)?,
            idempotency: IdempotencySettings::from_env(env)?,
        })
    }
}

/// The `webhooks` function's secrets.
#[derive(Debug, Clone)]
pub struct WebhooksSecrets {
    pub stripe_secret_key: Secret,
    pub webhook_secrets: Vec<Secret>,
}

impl WebhooksSecrets {
    pub fn from_env(env: &Env, livemode: bool) -> Result<Self, ConfigError> {
        Ok(Self {
            stripe_secret_key: stripe_secret_key(env, livemode)?,
            webhook_secrets: env.secret_list(secret_names::STRIPE_WEBHOOK_SECRETS, "whsec_")?,
        })
    }
}

/// Configuration of the checkout hook functions.
#[derive(Debug, Clone)]
pub struct HooksConfig {
    pub livemode: bool,
    pub merchants_table: String,
    pub catalog_table: String,
    pub idempotency_table: String,
    /// Our answer deadline, inside Stripe's 4 s.
    pub deadline: Duration,
    /// How long a merchant's settings are reused before being read again.
    pub merchant_cache: Duration,
    /// For merchants that require a confirmed agreement with the buying agent.
    pub agreements_table: Option<String>,
    /// How long an approved checkout keeps its stock without an order.
    pub hold_for: Duration,
    pub dynamo: DynamoSettings,
    pub idempotency: IdempotencySettings,
}

/// `STOCK_HOLD_MINUTES`: how long an approved checkout keeps its stock without an order
/// (default 30), between 1 minute and a day.
pub fn hold_for(env: &Env) -> Result<Duration, ConfigError> {
    let minutes: u64 = env.parsed_or("STOCK_HOLD_MINUTES", 30)?;
    if !(1..=1_440).contains(&minutes) {
        return Err(ConfigError::Malformed {
            name: "STOCK_HOLD_MINUTES".into(),
            reason: "must be between 1 and 1440 (a day)".into(),
        });
    }
    Ok(Duration::from_secs(minutes * 60))
}

impl HooksConfig {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let deadline_ms: u64 = env.parsed_or("HOOK_DEADLINE_MS", 3_000)?;
        if !(100..=3_800).contains(&deadline_ms) {
            return Err(ConfigError::Malformed {
                name: "HOOK_DEADLINE_MS".into(),
                reason: "must be between 100 and 3800 (Stripe gives up after 4000)".into(),
            });
        }
        Ok(Self {
            livemode: env.bool_or("STRIPE_LIVEMODE", false)?,
            merchants_table: env.required("MERCHANTS_TABLE")?,
            catalog_table: env.required("CATALOG_TABLE")?,
            idempotency_table: env.required("IDEMPOTENCY_TABLE")?,
            deadline: Duration::from_millis(deadline_ms),
            merchant_cache: Duration::from_secs(env.parsed_or("MERCHANT_CACHE_SECONDS", 30u64)?),
            agreements_table: env.optional("AGREEMENTS_TABLE"),
            hold_for: hold_for(env)?,
            dynamo: DynamoSettings::from_env(env)?,
            idempotency: IdempotencySettings::from_env(env)?,
        })
    }
}

/// Configuration of the `catalog-uploader` function.
#[derive(Debug, Clone)]
pub struct UploaderConfig {
    pub stripe: StripeSettings,
    pub bucket: String,
    pub merchants_table: String,
    pub catalog_table: String,
    pub idempotency_table: String,
    /// At most one upload per account and feed per interval.
    pub interval_seconds: i64,
    pub concurrency: usize,
    pub max_report_rows: usize,
    pub dynamo: DynamoSettings,
    pub idempotency: IdempotencySettings,
    /// The local S3 emulator (path-style); unset when deployed.
    pub s3_endpoint: Option<String>,
    /// The queue due feeds go through (`uploader::fanout`); unset: the tick drives them.
    pub feed_queue_url: Option<String>,
    /// The local SQS emulator; unset when deployed.
    pub sqs_endpoint: Option<String>,
}

impl UploaderConfig {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let interval_seconds: i64 = env.parsed_or("FEED_UPLOAD_INTERVAL_SECONDS", 900)?;
        if interval_seconds < 0 {
            return Err(ConfigError::Malformed {
                name: "FEED_UPLOAD_INTERVAL_SECONDS".into(),
                reason: "must not be negative".into(),
            });
        }
        let concurrency: usize = env.parsed_or("FEED_POLL_CONCURRENCY", 4)?;
        if !(1..=16).contains(&concurrency) {
            return Err(ConfigError::Malformed {
                name: "FEED_POLL_CONCURRENCY".into(),
                reason: "must be between 1 and 16 (the Files API allows 20 requests per second)"
                    .into(),
            });
        }
        Ok(Self {
            stripe: StripeSettings::from_env(env)?,
            bucket: env.required("CATALOG_BUCKET")?,
            merchants_table: env.required("MERCHANTS_TABLE")?,
            catalog_table: env.required("CATALOG_TABLE")?,
            idempotency_table: env.required("IDEMPOTENCY_TABLE")?,
            interval_seconds,
            concurrency,
            max_report_rows: env.parsed_or("VALIDATION_REPORT_MAX_ROWS", 10_000)?,
            dynamo: DynamoSettings::from_env(env)?,
            idempotency: IdempotencySettings::from_env(env)?,
            s3_endpoint: match env.optional("S3_ENDPOINT") {
                Some(_) => Some(env.url_or("S3_ENDPOINT", "")?),
                None => None,
            },
            feed_queue_url: match env.optional("FEED_QUEUE_URL") {
                Some(_) => Some(env.url_or("FEED_QUEUE_URL", "")?),
                None => None,
            },
            sqs_endpoint: match env.optional("SQS_ENDPOINT") {
                Some(_) => Some(env.url_or("SQS_ENDPOINT", "")?),
                None => None,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::test_env as with;

    fn secrets(env: &Env) -> Result<WebhooksSecrets, ConfigError> {
        WebhooksSecrets::from_env(env, env.bool_or("STRIPE_LIVEMODE", false)?)
    }

    #[test]
    fn dynamodb_calls_have_timeouts_that_an_operator_can_tune_but_not_invert() {
        let defaults = DynamoSettings::from_env(&with(&[])).unwrap();
        assert_eq!(defaults.attempt_timeout, Duration::from_secs(3));
        assert_eq!(defaults.operation_timeout, Duration::from_secs(10));
        let tuned = DynamoSettings::from_env(&with(&[
            ("DYNAMODB_ATTEMPT_TIMEOUT_MS", "500"),
            ("DYNAMODB_OPERATION_TIMEOUT_MS", "1500"),
        ]))
        .unwrap();
        assert_eq!(tuned.attempt_timeout, Duration::from_millis(500));
        assert_eq!(tuned.operation_timeout, Duration::from_millis(1500));
        for bad in [
            [
                ("DYNAMODB_ATTEMPT_TIMEOUT_MS", "5000"),
                ("DYNAMODB_OPERATION_TIMEOUT_MS", "1000"),
            ],
            [
                ("DYNAMODB_ATTEMPT_TIMEOUT_MS", "0"),
                ("DYNAMODB_OPERATION_TIMEOUT_MS", "1000"),
            ],
            [
                ("DYNAMODB_ATTEMPT_TIMEOUT_MS", "soon"),
                ("DYNAMODB_OPERATION_TIMEOUT_MS", "1000"),
            ],
        ] {
            let error = DynamoSettings::from_env(&with(&bad))
                .unwrap_err()
                .to_string();
            assert!(error.contains("DYNAMODB_"), "{error}");
        }
    }

    #[test]
    fn loads_defaults_and_secret_lists() {
        let config = WebhooksConfig::from_env(&with(&[])).unwrap();
        assert_eq!(secrets(&with(&[])).unwrap().webhook_secrets.len(), 2);
        assert_eq!(config.tolerance_seconds, 300);
        assert_eq!(config.stripe.api_base, "https://api.stripe.com");
        assert_eq!(config.stripe.orders_api_version, "2025-12-15.preview");
        assert_eq!(
            config.stripe.account_sessions_api_version,
            "2026-06-24.dahlia; embedded_connect_beta=v2"
        );
        assert!(!config.stripe.livemode);
    }

    #[test]
    fn the_account_sessions_version_is_configurable() {
        let version = |vars: &[(&'static str, &'static str)]| {
            StripeSettings::from_env(&with(vars)).map(|s| s.account_sessions_api_version)
        };
        assert_eq!(
            version(&[("STRIPE_ACCOUNT_SESSIONS_API_VERSION", "2026-09-30.dahlia")]).unwrap(),
            "2026-09-30.dahlia; embedded_connect_beta=v2"
        );
        assert_eq!(
            version(&[("STRIPE_ACCOUNT_SESSIONS_BETA", "embedded_connect_beta=v3")]).unwrap(),
            "2026-06-24.dahlia; embedded_connect_beta=v3"
        );
        assert_eq!(
            version(&[("STRIPE_ACCOUNT_SESSIONS_BETA", "none")]).unwrap(),
            "2026-06-24.dahlia"
        );
        let err = version(&[(
            "STRIPE_ACCOUNT_SESSIONS_API_VERSION",
            "2026-06-24.dahlia; embedded_connect_beta=v2",
        )])
        .unwrap_err();
        assert!(
            err.to_string()
                .contains("STRIPE_ACCOUNT_SESSIONS_API_VERSION"),
            "{err}"
        );
    }

    #[test]
    fn missing_setting_is_named() {
        let err = WebhooksConfig::from_env(&with(&[("ORDERS_TABLE", "")])).unwrap_err();
        assert!(err.to_string().contains("ORDERS_TABLE"), "{err}");
    }

    #[test]
    fn malformed_settings_are_named_without_leaking_secrets() {
        let err =
            WebhooksConfig::from_env(&with(&[("WEBHOOK_TOLERANCE_SECONDS", "5m")])).unwrap_err();
        assert!(
            err.to_string().contains("WEBHOOK_TOLERANCE_SECONDS"),
            "{err}"
        );
        let err = secrets(&with(&[(
            "STRIPE_WEBHOOK_SECRETS",
            "whsec_ok,oops_secretvalue123",
        )]))
        .unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("STRIPE_WEBHOOK_SECRETS") && !msg.contains("secretvalue123"),
            "{msg}"
        );
        let err = WebhooksConfig::from_env(&with(&[("STRIPE_API_BASE", "ftp://x")])).unwrap_err();
        assert!(err.to_string().contains("STRIPE_API_BASE"), "{err}");
    }

    #[test]
    fn zero_tolerance_is_refused() {
        assert!(WebhooksConfig::from_env(&with(&[("WEBHOOK_TOLERANCE_SECONDS", "0")])).is_err());
    }

    #[test]
    fn key_mode_must_match_deployment_mode() {
        let err = secrets(&with(&[("STRIPE_LIVEMODE", "true")])).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("STRIPE_SECRET_KEY") && !msg.contains("abcdefghijkl"),
            "{msg}"
        );
    }
}

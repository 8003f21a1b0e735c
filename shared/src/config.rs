//! Typed configuration, loaded once at cold start.
//!
//! Plain settings come from environment variables. Secrets come from the same variables
//! locally, and when deployed from one AWS Secrets Manager secret (a JSON object whose keys
//! are the variable names) read through the Parameters and Secrets Lambda Extension, which
//! serves it over plain HTTP on localhost and caches it. A missing or malformed setting fails
//! start-up with a message naming it; a secret's value never appears in any message.

use std::collections::HashMap;
use std::str::FromStr;
use std::time::Duration;

use crate::secret::Secret;
use crate::signature::DEFAULT_TOLERANCE_SECONDS;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration: {name} is required but not set")]
    Missing { name: String },
    #[error("configuration: {name} is malformed: {reason}")]
    Malformed { name: String, reason: String },
    #[error(
        "configuration: could not read secrets {secret_id} through the Secrets Manager extension: {reason}"
    )]
    SecretsUnavailable { secret_id: String, reason: String },
}

/// The values a process was started with: environment variables, overlaid by the secrets
/// document when one is configured.
#[derive(Debug, Clone, Default)]
pub struct Env {
    vars: HashMap<String, String>,
    secrets: HashMap<String, String>,
}

/// Names of the secret settings. Deployed, they are keys of the secrets document.
pub mod secret_names {
    pub const STRIPE_SECRET_KEY: &str = "STRIPE_SECRET_KEY";
    pub const STRIPE_WEBHOOK_SECRETS: &str = "STRIPE_WEBHOOK_SECRETS";
    pub const STRIPE_THIN_EVENT_SECRETS: &str = "STRIPE_THIN_EVENT_SECRETS";
    pub const STRIPE_HOOK_SECRETS: &str = "STRIPE_HOOK_SECRETS";
}

impl Env {
    pub fn from_map<K: Into<String>, V: Into<String>>(
        vars: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        Self {
            vars: vars
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
            secrets: HashMap::new(),
        }
    }

    /// The process environment. Secrets are not read yet: see [`Env::with_secrets_document`].
    pub fn from_process() -> Self {
        Self::from_map(std::env::vars())
    }

    /// True when secrets live in a Secrets Manager document (deployed) rather than in
    /// plain variables (local). The Parameters and Secrets extension may not answer until
    /// the function's first invocation, so deployed functions read secrets then, once.
    pub fn secrets_are_deferred(&self) -> bool {
        self.optional("SECRETS_ID").is_some()
    }

    /// Overlays the secrets document named by `SECRETS_ID`, if any.
    pub async fn with_secrets_document(mut self) -> Result<Self, ConfigError> {
        if let Some(secret_id) = self.optional("SECRETS_ID") {
            self.secrets = fetch_secrets_document(&self, &secret_id).await?;
        }
        Ok(self)
    }

    pub fn optional(&self, name: &str) -> Option<String> {
        self.vars
            .get(name)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    }

    pub fn required(&self, name: &str) -> Result<String, ConfigError> {
        self.optional(name)
            .ok_or_else(|| ConfigError::Missing { name: name.into() })
    }

    pub fn parsed_or<T: FromStr>(&self, name: &str, default: T) -> Result<T, ConfigError>
    where
        T::Err: std::fmt::Display,
    {
        match self.optional(name) {
            None => Ok(default),
            Some(raw) => raw.parse().map_err(|e: T::Err| ConfigError::Malformed {
                name: name.into(),
                reason: format!("{raw:?}: {e}"),
            }),
        }
    }

    pub fn bool_or(&self, name: &str, default: bool) -> Result<bool, ConfigError> {
        match self.optional(name).as_deref() {
            None => Ok(default),
            Some("true" | "1" | "yes") => Ok(true),
            Some("false" | "0" | "no") => Ok(false),
            Some(other) => Err(ConfigError::Malformed {
                name: name.into(),
                reason: format!("{other:?} is not true or false"),
            }),
        }
    }

    /// An http(s) base URL without a trailing slash.
    pub fn url_or(&self, name: &str, default: &str) -> Result<String, ConfigError> {
        let url = self.optional(name).unwrap_or_else(|| default.to_string());
        if !(url.starts_with("https://") || url.starts_with("http://")) {
            return Err(ConfigError::Malformed {
                name: name.into(),
                reason: format!("{url:?} is not an http(s) URL"),
            });
        }
        Ok(url.trim_end_matches('/').to_string())
    }

    fn secret_value(&self, name: &str) -> Option<String> {
        self.secrets
            .get(name)
            .or_else(|| self.vars.get(name))
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    }

    pub fn secret(&self, name: &str) -> Result<Secret, ConfigError> {
        self.secret_value(name)
            .map(Secret::new)
            .ok_or_else(|| ConfigError::Missing { name: name.into() })
    }

    /// A comma-separated list of secrets (several while one is being rolled).
    pub fn secret_list(&self, name: &str, prefix: &str) -> Result<Vec<Secret>, ConfigError> {
        let raw = self
            .secret_value(name)
            .ok_or_else(|| ConfigError::Missing { name: name.into() })?;
        let secrets: Vec<Secret> = raw
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(Secret::new)
            .collect();
        if let Some(bad) = secrets.iter().find(|s| !s.expose().starts_with(prefix)) {
            return Err(ConfigError::Malformed {
                name: name.into(),
                reason: format!(
                    "every value must start with {prefix:?}; found {}",
                    bad.masked()
                ),
            });
        }
        if secrets.is_empty() {
            return Err(ConfigError::Missing { name: name.into() });
        }
        Ok(secrets)
    }
}

/// What a function builds from its secrets, once: at cold start when the secrets are
/// plain variables (local), on first use when they live in the Secrets Manager document
/// (`SECRETS_ID`, deployed), because the extension is not guaranteed to answer during init.
/// A failed build is not kept: the next use tries again (the secret may be filled by then).
pub struct BuiltWithSecrets<T> {
    env: Env,
    value: tokio::sync::OnceCell<T>,
}

impl<T> BuiltWithSecrets<T> {
    pub fn new(env: Env) -> Self {
        BuiltWithSecrets {
            env,
            value: tokio::sync::OnceCell::new(),
        }
    }

    /// True when the value can (and should) be built at cold start.
    pub fn build_at_start(&self) -> bool {
        !self.env.secrets_are_deferred()
    }

    /// The value, built on first use by `build` from the environment with the secrets.
    pub async fn get<E, F, Fut>(&self, build: F) -> Result<&T, E>
    where
        E: From<ConfigError>,
        F: FnOnce(Env) -> Fut,
        Fut: std::future::Future<Output = Result<T, E>>,
    {
        self.value
            .get_or_try_init(|| async {
                let env = self.env.clone().with_secrets_document().await?;
                build(env).await
            })
            .await
    }
}

/// Reads the secrets document through the Parameters and Secrets Lambda Extension.
async fn fetch_secrets_document(
    env: &Env,
    secret_id: &str,
) -> Result<HashMap<String, String>, ConfigError> {
    let unavailable = |reason: String| ConfigError::SecretsUnavailable {
        secret_id: secret_id.to_string(),
        reason,
    };
    let port: u16 = env.parsed_or("PARAMETERS_SECRETS_EXTENSION_HTTP_PORT", 2773)?;
    let token = env.required("AWS_SESSION_TOKEN")?;
    let url = format!("http://localhost:{port}/secretsmanager/get");
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(3))
        .build()
        .map_err(|e| unavailable(e.to_string()))?;
    // The extension may still be starting during the very first milliseconds of init.
    let mut last_error = String::new();
    for attempt in 0..5u64 {
        if attempt > 0 {
            tokio::time::sleep(Duration::from_millis(50 * attempt)).await;
        }
        let response = client
            .get(&url)
            .query(&[("secretId", secret_id)])
            .header("X-Aws-Parameters-Secrets-Token", &token)
            .send()
            .await;
        let response = match response {
            Ok(r) => r,
            Err(e) => {
                last_error = format!("extension not reachable on port {port}: {e}");
                continue;
            }
        };
        let status = response.status();
        if !status.is_success() {
            // The body may echo request details but never the secret value.
            return Err(unavailable(format!("extension answered HTTP {status}")));
        }
        let body: serde_json::Value = response
            .json()
            .await
            .map_err(|e| unavailable(format!("extension answer is not JSON: {e}")))?;
        return parse_secret_string(body.get("SecretString").and_then(|s| s.as_str()))
            .map_err(unavailable);
    }
    Err(unavailable(last_error))
}

fn parse_secret_string(secret_string: Option<&str>) -> Result<HashMap<String, String>, String> {
    let text = secret_string.ok_or("the secret has no SecretString")?;
    let doc: serde_json::Map<String, serde_json::Value> = serde_json::from_str(text)
        .map_err(|_| "the SecretString is not a JSON object of strings".to_string())?;
    doc.into_iter()
        .map(|(k, v)| match v {
            serde_json::Value::String(s) => Ok((k, s)),
            _ => Err(format!("the secret's key {k} is not a string")),
        })
        .collect()
}

/// Stripe API settings shared by every function (the secret key is read separately, see
/// [`stripe_secret_key`]).
#[derive(Debug, Clone)]
pub struct StripeSettings {
    pub api_base: String,
    pub files_base: String,
    /// The account's livemode this deployment serves; events of the other mode are refused.
    pub livemode: bool,
    /// `Stripe-Version` for the order retrieval (a preview version: STRIPE.md §6).
    pub orders_api_version: String,
    pub request_timeout: Duration,
    pub max_network_retries: u32,
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
            request_timeout: Duration::from_millis(env.parsed_or("STRIPE_TIMEOUT_MS", 10_000u64)?),
            max_network_retries: env.parsed_or("STRIPE_MAX_NETWORK_RETRIES", 2u32)?,
        })
    }
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
}

impl DynamoSettings {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let endpoint = match env.optional("DYNAMODB_ENDPOINT") {
            Some(_) => Some(env.url_or("DYNAMODB_ENDPOINT", "")?),
            None => None,
        };
        Ok(Self { endpoint })
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
    /// Where stock reservations live; unset: none are released.
    pub catalog_table: Option<String>,
    /// Where agreements from thin events are kept; unset: `/stripe/events` is not served.
    pub agreements_table: Option<String>,
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
    pub dynamo: DynamoSettings,
    pub idempotency: IdempotencySettings,
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
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Vec<(&'static str, &'static str)> {
        vec![
            ("STRIPE_SECRET_KEY", "sk_test_51abcdefghijklmnopqrstuvwxyz"),
            ("STRIPE_WEBHOOK_SECRETS", "whsec_one, whsec_two"),
            ("ORDERS_TABLE", "orders"),
            ("IDEMPOTENCY_TABLE", "idem"),
        ]
    }

    fn with(extra: &[(&'static str, &'static str)]) -> Env {
        let mut vars = base();
        vars.retain(|(k, _)| !extra.iter().any(|(e, _)| e == k));
        vars.extend_from_slice(extra);
        Env::from_map(vars)
    }

    #[tokio::test]
    async fn built_with_secrets_builds_once_and_retries_a_failed_build() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let plain = BuiltWithSecrets::<String>::new(with(&[]));
        assert!(
            plain.build_at_start(),
            "secrets in plain variables: build at start"
        );
        let deferred = BuiltWithSecrets::<String>::new(with(&[("SECRETS_ID", "arn:secret")]));
        assert!(!deferred.build_at_start(), "SECRETS_ID: build on first use");

        let counter = AtomicUsize::new(0);
        let builds = &counter;
        let failing = plain
            .get(|_| async {
                builds.fetch_add(1, Ordering::SeqCst);
                Err::<String, ConfigError>(ConfigError::Missing { name: "X".into() })
            })
            .await;
        assert!(failing.is_err());
        for _ in 0..2 {
            let value = plain
                .get(|env| async move {
                    builds.fetch_add(1, Ordering::SeqCst);
                    env.required("ORDERS_TABLE")
                })
                .await
                .unwrap();
            assert_eq!(value, "orders");
        }
        assert_eq!(
            builds.load(Ordering::SeqCst),
            2,
            "a failure is retried, a success kept"
        );
    }

    fn secrets(env: &Env) -> Result<WebhooksSecrets, ConfigError> {
        WebhooksSecrets::from_env(env, env.bool_or("STRIPE_LIVEMODE", false)?)
    }

    #[test]
    fn loads_defaults_and_secret_lists() {
        let config = WebhooksConfig::from_env(&with(&[])).unwrap();
        assert_eq!(secrets(&with(&[])).unwrap().webhook_secrets.len(), 2);
        assert_eq!(config.tolerance_seconds, 300);
        assert_eq!(config.stripe.api_base, "https://api.stripe.com");
        assert_eq!(config.stripe.orders_api_version, "2025-12-15.preview");
        assert!(!config.stripe.livemode);
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

    #[test]
    fn secrets_document_overrides_environment() {
        let mut env = with(&[]);
        env.secrets =
            parse_secret_string(Some(r#"{"STRIPE_WEBHOOK_SECRETS":"whsec_from_sm"}"#)).unwrap();
        assert_eq!(
            secrets(&env).unwrap().webhook_secrets,
            vec![Secret::new("whsec_from_sm")]
        );
    }

    #[test]
    fn secrets_document_must_be_an_object_of_strings() {
        assert!(parse_secret_string(Some("[1]")).is_err());
        assert!(parse_secret_string(Some(r#"{"A":1}"#)).is_err());
        assert!(parse_secret_string(None).is_err());
    }
}

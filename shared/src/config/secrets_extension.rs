//! Deployed secrets: one Secrets Manager secret per value (a plain string), read through the
//! Parameters and Secrets Lambda Extension, which serves it over plain HTTP on localhost and
//! caches it. [`BuiltWithSecrets`] decides when.

use std::time::Duration;

use super::{ConfigError, Env};

/// What a function builds from its secrets, once: at cold start when the secrets are
/// plain variables (local), on first use when they live in Secrets Manager (`<NAME>_SECRET_ID`
/// variables, deployed), because the extension is not guaranteed to answer during init.
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

    /// A value that needs no secrets to build.
    pub fn ready(value: T) -> Self {
        BuiltWithSecrets {
            env: Env::default(),
            value: tokio::sync::OnceCell::new_with(Some(value)),
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
                let env = self.env.clone().with_deployed_secrets().await;
                build(env).await
            })
            .await
    }
}

/// Reads one secret's string through the Parameters and Secrets Lambda Extension. The error
/// is the reason, worded for the log: it never carries the value, nor the extension's body.
pub(super) async fn fetch(env: &Env, secret_id: &str) -> Result<String, String> {
    let port: u16 = env
        .parsed_or("PARAMETERS_SECRETS_EXTENSION_HTTP_PORT", 2773)
        .map_err(|e| e.to_string())?;
    let token = env
        .required("AWS_SESSION_TOKEN")
        .map_err(|e| e.to_string())?;
    let url = format!("http://localhost:{port}/secretsmanager/get");
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(3))
        .build()
        .map_err(|e| e.to_string())?;
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
            // Only the error's type is looked at: the body is never repeated.
            let body = response.text().await.unwrap_or_default();
            return Err(if body.contains("ResourceNotFoundException") {
                format!(
                    "extension answered HTTP {status}: the secret has no value yet (or does not \
                     exist); fill it with `aws secretsmanager put-secret-value --secret-id {secret_id} \
                     --secret-string …`"
                )
            } else {
                format!("extension answered HTTP {status}")
            });
        }
        let body: serde_json::Value = response
            .json()
            .await
            .map_err(|e| format!("extension answer is not JSON: {e}"))?;
        return secret_string(&body);
    }
    Err(last_error)
}

/// The value of a `GetSecretValue` answer: its `SecretString`, a plain string.
fn secret_string(answer: &serde_json::Value) -> Result<String, String> {
    match answer.get("SecretString") {
        Some(serde_json::Value::String(text)) => Ok(text.clone()),
        Some(_) => Err("the secret's SecretString is not a string".into()),
        None => Err("the secret has no SecretString (a binary secret is not read)".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::env::Fetched;
    use crate::config::{WebhooksSecrets, secret_names, test_env};
    use crate::secret::Secret;
    use serde_json::json;

    #[tokio::test]
    async fn built_with_secrets_builds_once_and_retries_a_failed_build() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let plain = BuiltWithSecrets::<String>::new(test_env(&[]));
        assert!(
            plain.build_at_start(),
            "secrets in plain variables: build at start"
        );
        for name in secret_names::ALL {
            let variable: &'static str =
                Box::leak(secret_names::secret_id_variable(name).into_boxed_str());
            let deferred = BuiltWithSecrets::<String>::new(test_env(&[(variable, "arn:secret")]));
            assert!(!deferred.build_at_start(), "{variable}: build on first use");
        }
        let legacy = BuiltWithSecrets::<String>::new(test_env(&[("SECRETS_ID", "arn:secret")]));
        assert!(
            legacy.build_at_start(),
            "the one-document SECRETS_ID is no longer read"
        );

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

    #[test]
    fn a_deployed_secret_overrides_the_variable() {
        let env = test_env(&[]).with_fetched([(
            secret_names::STRIPE_WEBHOOK_SECRETS.to_string(),
            Fetched::Value("whsec_from_sm".into()),
        )]);
        assert_eq!(
            WebhooksSecrets::from_env(&env, false)
                .unwrap()
                .webhook_secrets,
            vec![Secret::new("whsec_from_sm")]
        );
    }

    #[test]
    fn an_unreadable_secret_fails_only_where_it_is_used_and_is_named() {
        let env = test_env(&[]).with_fetched([(
            secret_names::STRIPE_HOOK_SECRETS.to_string(),
            Fetched::Unavailable {
                secret_id: "arn:hooks".into(),
                reason: "extension answered HTTP 500".into(),
            },
        )]);
        assert!(
            WebhooksSecrets::from_env(&env, false).is_ok(),
            "other secrets stay usable"
        );
        let message = env
            .secret_list(secret_names::STRIPE_HOOK_SECRETS, "whsec_")
            .unwrap_err()
            .to_string();
        assert!(
            message.contains("STRIPE_HOOK_SECRETS")
                && message.contains("arn:hooks")
                && message.contains("HTTP 500"),
            "{message}"
        );
    }

    #[test]
    fn the_value_is_the_plain_secret_string() {
        assert_eq!(
            secret_string(&json!({"Name": "x", "SecretString": "whsec_abc"})).unwrap(),
            "whsec_abc"
        );
        assert!(secret_string(&json!({"SecretString": 1})).is_err());
        assert!(secret_string(&json!({"SecretBinary": "AAEC"})).is_err());
    }

    #[test]
    fn debug_shows_names_never_values() {
        let env = test_env(&[]).with_fetched([(
            secret_names::STRIPE_HOOK_SECRETS.to_string(),
            Fetched::Value("whsec_deployedvalue9876".into()),
        )]);
        let text = format!("{env:?}");
        assert!(
            text.contains("STRIPE_HOOK_SECRETS") && text.contains("STRIPE_SECRET_KEY"),
            "{text}"
        );
        assert!(
            !text.contains("deployedvalue9876") && !text.contains("abcdefghijkl"),
            "{text}"
        );
    }
}

//! Deployed secrets: one Secrets Manager document (a JSON object whose keys are the
//! variable names) read through the Parameters and Secrets Lambda Extension, which serves
//! it over plain HTTP on localhost and caches it. [`BuiltWithSecrets`] decides when.

use std::collections::HashMap;
use std::time::Duration;

use super::{ConfigError, Env};

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
                let env = self.env.clone().with_secrets_document().await?;
                build(env).await
            })
            .await
    }
}

/// Reads the secrets document through the Parameters and Secrets Lambda Extension.
pub(super) async fn fetch(
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{WebhooksSecrets, test_env};
    use crate::secret::Secret;

    #[tokio::test]
    async fn built_with_secrets_builds_once_and_retries_a_failed_build() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let plain = BuiltWithSecrets::<String>::new(test_env(&[]));
        assert!(
            plain.build_at_start(),
            "secrets in plain variables: build at start"
        );
        let deferred = BuiltWithSecrets::<String>::new(test_env(&[("SECRETS_ID", "arn:secret")]));
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

    #[test]
    fn secrets_document_overrides_environment() {
        let env = test_env(&[]).with_secrets(
            parse_secret_string(Some(r#"{"STRIPE_WEBHOOK_SECRETS":"whsec_from_sm"}"#)).unwrap(),
        );
        assert_eq!(
            WebhooksSecrets::from_env(&env, false)
                .unwrap()
                .webhook_secrets,
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

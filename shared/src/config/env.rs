//! The values a process was started with: environment variables, overlaid by the deployed
//! secrets document. Every accessor names the setting in its error.

use std::collections::HashMap;
use std::str::FromStr;

use super::ConfigError;
use crate::secret::Secret;

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
    pub async fn with_secrets_document(self) -> Result<Self, ConfigError> {
        match self.optional("SECRETS_ID") {
            Some(secret_id) => {
                let secrets = super::secrets_extension::fetch(&self, &secret_id).await?;
                Ok(self.with_secrets(secrets))
            }
            None => Ok(self),
        }
    }

    /// These secrets take precedence over variables of the same name.
    pub(super) fn with_secrets(mut self, secrets: HashMap<String, String>) -> Self {
        self.secrets = secrets;
        self
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

//! The values a process was started with: environment variables, overlaid by the deployed
//! secrets (one Secrets Manager secret per value). Every accessor names the setting in its
//! error.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;

use super::ConfigError;
use crate::secret::Secret;

/// The values a process was started with: environment variables, overlaid by the deployed
/// secrets when some are configured. `Debug` shows names only, never a value.
#[derive(Clone, Default)]
pub struct Env {
    vars: HashMap<String, String>,
    secrets: HashMap<String, Fetched>,
}

/// One deployed secret as the extension gave it: its value, or why it could not be read
/// (kept, so only the code that needs this secret fails, and names it).
#[derive(Clone)]
pub(super) enum Fetched {
    Value(String),
    Unavailable { secret_id: String, reason: String },
}

impl fmt::Debug for Env {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut vars: Vec<&String> = self.vars.keys().collect();
        vars.sort();
        let mut secrets: Vec<&String> = self.secrets.keys().collect();
        secrets.sort();
        f.debug_struct("Env")
            .field("vars", &vars)
            .field("secrets", &secrets)
            .finish()
    }
}

/// Names of the secret settings. Locally each is a plain variable of that name; deployed,
/// each lives in a Secrets Manager secret of its own (a plain string), named by the variable
/// `<NAME>_SECRET_ID` ([`secret_names::secret_id_variable`]). A function is given the
/// `_SECRET_ID` variables of the secrets it uses, and may read only those.
pub mod secret_names {
    pub const STRIPE_SECRET_KEY: &str = "STRIPE_SECRET_KEY";
    pub const STRIPE_WEBHOOK_SECRETS: &str = "STRIPE_WEBHOOK_SECRETS";
    pub const STRIPE_THIN_EVENT_SECRETS: &str = "STRIPE_THIN_EVENT_SECRETS";
    pub const STRIPE_HOOK_SECRETS: &str = "STRIPE_HOOK_SECRETS";

    /// Every secret setting.
    pub const ALL: [&str; 4] = [
        STRIPE_SECRET_KEY,
        STRIPE_WEBHOOK_SECRETS,
        STRIPE_THIN_EVENT_SECRETS,
        STRIPE_HOOK_SECRETS,
    ];

    /// The variable that names the Secrets Manager secret (ARN or name) holding `name`,
    /// e.g. `STRIPE_HOOK_SECRETS_SECRET_ID`.
    pub fn secret_id_variable(name: &str) -> String {
        format!("{name}_SECRET_ID")
    }
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

    /// The process environment. Secrets are not read yet: see [`Env::with_deployed_secrets`].
    pub fn from_process() -> Self {
        Self::from_map(std::env::vars())
    }

    /// The deployed secrets this process is given: each secret setting whose
    /// `<NAME>_SECRET_ID` variable is set, with that secret's id.
    pub fn deployed_secret_ids(&self) -> Vec<(&'static str, String)> {
        secret_names::ALL
            .into_iter()
            .filter_map(|name| {
                self.optional(&secret_names::secret_id_variable(name))
                    .map(|id| (name, id))
            })
            .collect()
    }

    /// True when secrets live in Secrets Manager (deployed) rather than in plain variables
    /// (local). The Parameters and Secrets extension may not answer until the function's
    /// first invocation, so deployed functions read secrets then, once.
    pub fn secrets_are_deferred(&self) -> bool {
        !self.deployed_secret_ids().is_empty()
    }

    /// Reads every deployed secret this process is given, concurrently, through the
    /// extension. One that cannot be read is remembered with the reason: reading that
    /// setting then fails with its name, while the others stay usable.
    pub async fn with_deployed_secrets(self) -> Self {
        let ids = self.deployed_secret_ids();
        if ids.is_empty() {
            return self;
        }
        let env = &self;
        let fetched = futures::future::join_all(ids.into_iter().map(|(name, id)| async move {
            let result = match super::secrets_extension::fetch(env, &id).await {
                Ok(value) => Fetched::Value(value),
                Err(reason) => Fetched::Unavailable {
                    secret_id: id,
                    reason,
                },
            };
            (name.to_string(), result)
        }))
        .await;
        self.with_fetched(fetched)
    }

    /// These secrets take precedence over variables of the same name.
    pub(super) fn with_fetched(
        mut self,
        fetched: impl IntoIterator<Item = (String, Fetched)>,
    ) -> Self {
        self.secrets.extend(fetched);
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

    /// The secret's value: the deployed secret when this process is given one, else the
    /// variable. Empty counts as not set.
    fn secret_value(&self, name: &str) -> Result<Option<String>, ConfigError> {
        let value = match self.secrets.get(name) {
            Some(Fetched::Value(value)) => Some(value),
            Some(Fetched::Unavailable { secret_id, reason }) => {
                return Err(ConfigError::SecretsUnavailable {
                    name: name.into(),
                    secret_id: secret_id.clone(),
                    reason: reason.clone(),
                });
            }
            None => self.vars.get(name),
        };
        Ok(value
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty()))
    }

    pub fn secret(&self, name: &str) -> Result<Secret, ConfigError> {
        self.secret_value(name)?
            .map(Secret::new)
            .ok_or_else(|| ConfigError::Missing { name: name.into() })
    }

    /// A comma-separated list of signing secrets (several while one is being rolled), each
    /// starting with `prefix`. With `STRIPE_LIVEMODE=true`, one of the test secrets published
    /// in this repository is refused ([`super::livemode`]).
    pub fn secret_list(&self, name: &str, prefix: &str) -> Result<Vec<Secret>, ConfigError> {
        let raw = self
            .secret_value(name)?
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
        if self.bool_or("STRIPE_LIVEMODE", false)? {
            super::livemode::refuse_published_secrets(name, &secrets)?;
        }
        Ok(secrets)
    }
}

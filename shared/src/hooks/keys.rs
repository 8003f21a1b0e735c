//! The hooks' signing secrets (`STRIPE_HOOK_SECRETS`, the only secret a hook function is
//! given). Deployed, they come from their own Secrets Manager secret through the Parameters
//! and Secrets extension, which can be slow or down: a hook must then still answer
//! inside Stripe's deadline, so loading them is something a request can give up on.

use crate::config::{BuiltWithSecrets, ConfigError, Env, secret_names};
use crate::signature::{DEFAULT_TOLERANCE_SECONDS, Verifier};

pub struct HookKeys {
    built: BuiltWithSecrets<Verifier>,
    tolerance_seconds: i64,
}

impl HookKeys {
    /// From the function's environment. The tolerance is not secret, so a bad value is
    /// refused now; the secrets load on [`HookKeys::verifier`].
    pub fn from_env(env: Env) -> Result<Self, ConfigError> {
        let tolerance_seconds =
            env.parsed_or("HOOK_TOLERANCE_SECONDS", DEFAULT_TOLERANCE_SECONDS)?;
        Ok(Self {
            built: BuiltWithSecrets::new(env),
            tolerance_seconds,
        })
    }

    /// Keys that are already known (tests, benchmarks).
    pub fn loaded(verifier: Verifier) -> Self {
        Self {
            tolerance_seconds: verifier.tolerance_seconds(),
            built: BuiltWithSecrets::ready(verifier),
        }
    }

    /// True when the secrets live in Secrets Manager, so loading them may fail or stall.
    pub fn deferred(&self) -> bool {
        !self.built.build_at_start()
    }

    /// The verifier, loading the secrets on first use. Cancel-safe: a caller that stops
    /// waiting leaves nothing half-built, and the next call tries again.
    pub async fn verifier(&self) -> Result<&Verifier, ConfigError> {
        let tolerance = self.tolerance_seconds;
        self.built
            .get(|env| async move {
                let secrets = env.secret_list(secret_names::STRIPE_HOOK_SECRETS, "whsec_")?;
                Ok(Verifier::new(secrets, tolerance))
            })
            .await
    }
}

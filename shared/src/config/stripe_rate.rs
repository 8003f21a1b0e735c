//! How much of Stripe's request rate a function may use (`stripe::Pacer` keeps to it).

use super::{ConfigError, Env};

/// Requests per second, each kind counted on its own and every one against `global`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StripeRateLimits {
    pub global: f64,
    /// Each API operation (method and path, ids aside) on its own.
    pub endpoint: f64,
    pub files_reads: f64,
    pub files_writes: f64,
}

impl StripeRateLimits {
    /// Stripe's documented live-mode limits (docs/stripe.md 7.11).
    pub fn live() -> Self {
        Self {
            global: 100.0,
            endpoint: 25.0,
            files_reads: 20.0,
            files_writes: 20.0,
        }
    }

    /// Stripe's documented sandbox (test mode) limits.
    pub fn sandbox() -> Self {
        Self {
            global: 25.0,
            ..Self::live()
        }
    }

    /// This instance's part: `percent` of the limits, split over `instances`.
    pub fn share(self, percent: f64, instances: u32) -> Self {
        let factor = percent / 100.0 / f64::from(instances.max(1));
        Self {
            global: self.global * factor,
            endpoint: self.endpoint * factor,
            files_reads: self.files_reads * factor,
            files_writes: self.files_writes * factor,
        }
    }

    /// `STRIPE_RATE_LIMIT_PERCENT` (unset: no pacing), `STRIPE_RATE_LIMIT_INSTANCES`
    /// (default 1) and `STRIPE_RATE_LIMITS` (`live` or `sandbox`; default by the mode).
    pub fn from_env(env: &Env, livemode: bool) -> Result<Option<Self>, ConfigError> {
        let Some(raw_percent) = env.optional("STRIPE_RATE_LIMIT_PERCENT") else {
            return Ok(None);
        };
        let percent: f64 = raw_percent
            .parse()
            .ok()
            .filter(|p: &f64| p.is_finite() && *p > 0.0 && *p <= 100.0)
            .ok_or_else(|| ConfigError::Malformed {
                name: "STRIPE_RATE_LIMIT_PERCENT".into(),
                reason: format!("{raw_percent:?} is not a percentage above 0 and at most 100"),
            })?;
        let instances: u32 = env.parsed_or("STRIPE_RATE_LIMIT_INSTANCES", 1)?;
        if instances == 0 {
            return Err(ConfigError::Malformed {
                name: "STRIPE_RATE_LIMIT_INSTANCES".into(),
                reason: "must be at least 1".into(),
            });
        }
        let limits = match env.optional("STRIPE_RATE_LIMITS").as_deref() {
            None if livemode => Self::live(),
            None => Self::sandbox(),
            Some("live") => Self::live(),
            Some("sandbox") => Self::sandbox(),
            Some(other) => {
                return Err(ConfigError::Malformed {
                    name: "STRIPE_RATE_LIMITS".into(),
                    reason: format!("{other:?} is neither live nor sandbox"),
                });
            }
        };
        Ok(Some(limits.share(percent, instances)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_split_the_limits() {
        let s = StripeRateLimits::live().share(80.0, 4);
        assert_eq!(s.global, 20.0);
        assert_eq!(s.endpoint, 5.0);
        assert_eq!(s.files_writes, 4.0);
        assert_eq!(StripeRateLimits::sandbox().global, 25.0);
    }

    #[test]
    fn settings_come_from_the_environment() {
        let env = Env::from_map([
            ("STRIPE_RATE_LIMIT_PERCENT", "50"),
            ("STRIPE_RATE_LIMIT_INSTANCES", "5"),
        ]);
        let live = StripeRateLimits::from_env(&env, true).unwrap().unwrap();
        assert_eq!(live.global, 10.0);
        let test = StripeRateLimits::from_env(&env, false).unwrap().unwrap();
        assert_eq!(test.global, 2.5);
        assert_eq!(
            StripeRateLimits::from_env(&Env::from_map([("X", "1")]), true).unwrap(),
            None
        );
        for (name, bad) in [
            ("STRIPE_RATE_LIMIT_PERCENT", "0"),
            ("STRIPE_RATE_LIMIT_PERCENT", "150"),
            ("STRIPE_RATE_LIMIT_PERCENT", "lots"),
            ("STRIPE_RATE_LIMIT_INSTANCES", "0"),
            ("STRIPE_RATE_LIMITS", "fast"),
        ] {
            let mut vars = vec![("STRIPE_RATE_LIMIT_PERCENT", "50")];
            vars.push((name, bad));
            let err = StripeRateLimits::from_env(&Env::from_map(vars), true).unwrap_err();
            assert!(err.to_string().contains(name), "{err}");
        }
    }
}

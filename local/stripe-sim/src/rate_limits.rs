//! Stripe's documented API rate limits (docs/stripe.md 7.11, https://docs.stripe.com/rate-limits)
//! as a setting: [`RateLimits`], off by default, set with `--rate-limits` or at run time with
//! `POST /_sim/rate_limits`. The counting is in `state::traffic`.

use serde::{Deserialize, Serialize};

/// Requests per second before a 429, each over a sliding 1000 ms window. A 0 turns that one
/// limit off (an emulator convenience; Stripe has no such setting).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RateLimits {
    /// Every API request of the account (Stripe: 100 in live mode, 25 in a sandbox).
    pub global_per_second: u32,
    /// Each endpoint (method + route, ids left out) outside the Files API (Stripe: 25).
    pub endpoint_per_second: u32,
    /// `GET` requests under `/v1/files` together (Stripe: 20).
    pub files_reads_per_second: u32,
    /// `POST` (any non-`GET`) requests under `/v1/files` together (Stripe: 20).
    pub files_writes_per_second: u32,
}

impl RateLimits {
    /// Stripe's live-mode limits: 100 global, 25 per endpoint, Files 20 reads + 20 writes.
    pub const fn live() -> Self {
        Self {
            global_per_second: 100,
            endpoint_per_second: 25,
            files_reads_per_second: 20,
            files_writes_per_second: 20,
        }
    }

    /// Stripe's sandbox (test mode) limits: 25 global, otherwise as live.
    pub const fn sandbox() -> Self {
        Self {
            global_per_second: 25,
            ..Self::live()
        }
    }

    /// The named preset these limits equal, if any.
    pub fn preset(limits: Option<&Self>) -> &'static str {
        match limits {
            None => "off",
            Some(l) if *l == Self::live() => "live",
            Some(l) if *l == Self::sandbox() => "sandbox",
            Some(_) => "custom",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_are_stripes_documented_figures() {
        let live = RateLimits::live();
        assert_eq!(
            (
                live.global_per_second,
                live.endpoint_per_second,
                live.files_reads_per_second,
                live.files_writes_per_second
            ),
            (100, 25, 20, 20)
        );
        let sandbox = RateLimits::sandbox();
        assert_eq!(
            (
                sandbox.global_per_second,
                sandbox.endpoint_per_second,
                sandbox.files_reads_per_second,
                sandbox.files_writes_per_second
            ),
            (25, 25, 20, 20)
        );
        assert_eq!(RateLimits::preset(None), "off");
        assert_eq!(RateLimits::preset(Some(&live)), "live");
        assert_eq!(RateLimits::preset(Some(&sandbox)), "sandbox");
        let custom = RateLimits {
            endpoint_per_second: 3,
            ..live
        };
        assert_eq!(RateLimits::preset(Some(&custom)), "custom");
    }
}

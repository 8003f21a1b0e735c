//! The official SDKs' retry rule (docs/stripe.md §7), so we behave like stripe-node under load,
//! bounded by the invocation's time budget (`crate::budget`).

use std::time::Duration;

use super::error::StripeError;
use crate::budget;

#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    pub max_retries: u32,
    pub initial_delay: Duration,
    pub max_delay: Duration,
    /// `Retry-After` is honoured only up to this.
    pub max_retry_after: Duration,
}

impl RetryPolicy {
    pub fn sdk_default(max_retries: u32) -> Self {
        Self {
            max_retries,
            initial_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(5),
            max_retry_after: Duration::from_secs(60),
        }
    }

    /// Whether to retry after a response (or a network error when `status` is None).
    /// `Stripe-Should-Retry`, when present, decides; otherwise 409 and 5xx are retried and a
    /// plain 429 is not (a 429 Stripe wants retried, such as a lock timeout, says so).
    pub fn should_retry(
        &self,
        attempt: u32,
        status: Option<u16>,
        should_retry_header: Option<&str>,
    ) -> bool {
        if attempt >= self.max_retries {
            return false;
        }
        let Some(status) = status else { return true };
        match should_retry_header {
            Some("true") => return true,
            Some("false") => return false,
            _ => {}
        }
        status == 409 || status >= 500
    }

    /// Delay before retry number `attempt` (1-based): 0.5 s × 2^(n−1) capped at 5 s, jittered
    /// into [d/2, d] but never below 0.5 s, and never shorter than an acceptable `Retry-After`.
    pub fn delay(&self, attempt: u32, retry_after: Option<Duration>, jitter: f64) -> Duration {
        let exp = attempt.saturating_sub(1).min(16);
        let base = self
            .initial_delay
            .saturating_mul(1u32 << exp)
            .min(self.max_delay);
        // Both SDKs never sleep less than the initial delay (docs/stripe.md §7.8).
        let jittered = base
            .mul_f64(0.5 + 0.5 * jitter.clamp(0.0, 1.0))
            .max(self.initial_delay);
        match retry_after {
            Some(after) if after <= self.max_retry_after => jittered.max(after),
            _ => jittered,
        }
    }
}

// ---- the invocation's time budget (crate::budget), applied per attempt

/// With less than this left of the invocation's budget, an attempt could not finish: it is
/// not started (see `crate::budget`).
const MIN_ATTEMPT: Duration = Duration::from_millis(250);

/// How long a file transfer (upload, presigned PUT, download) may take when no budget is
/// set: a 4 GB feed at a modest 10 MB/s, within the uploader's 15 minutes.
const TRANSFER_TIMEOUT: Duration = Duration::from_secs(14 * 60);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    /// An API call: each attempt gets the configured request timeout.
    Call,
    /// A file's bytes: the whole remaining budget.
    Transfer,
}

/// The timeout for one attempt that starts now, or the error to return at once when the
/// invocation's budget has no room left for one.
pub(super) fn attempt_timeout(
    kind: Kind,
    request_timeout: Duration,
) -> Result<Duration, StripeError> {
    let configured = match kind {
        Kind::Call => request_timeout,
        Kind::Transfer => TRANSFER_TIMEOUT,
    };
    match budget::remaining() {
        None => Ok(configured),
        Some(left) if left < MIN_ATTEMPT => Err(StripeError::Network(format!(
            "not sent: only {} ms of this invocation's time budget left",
            left.as_millis()
        ))),
        Some(left) => Ok(configured.min(left)),
    }
}

/// Whether pausing `delay` before a retry still leaves room for the attempt after it.
/// A `Retry-After` longer than what is left is not waited for: the caller gets the error
/// now and retries the whole operation later.
pub(super) fn can_wait(delay: Duration) -> bool {
    budget::remaining().is_none_or(|left| left >= delay + MIN_ATTEMPT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_decides_when_present() {
        let p = RetryPolicy::sdk_default(2);
        assert!(p.should_retry(0, Some(429), Some("true")));
        assert!(!p.should_retry(0, Some(500), Some("false")));
        assert!(!p.should_retry(0, Some(429), None));
        assert!(p.should_retry(0, Some(409), None));
        assert!(p.should_retry(0, Some(503), None));
        assert!(!p.should_retry(0, Some(400), None));
        assert!(p.should_retry(1, None, None));
        assert!(
            !p.should_retry(2, Some(503), None),
            "no retries past the maximum"
        );
    }

    #[test]
    fn backoff_doubles_caps_and_jitters_but_never_below_the_initial_delay() {
        let p = RetryPolicy::sdk_default(10);
        assert_eq!(p.delay(1, None, 1.0), Duration::from_millis(500));
        assert_eq!(p.delay(1, None, 0.0), Duration::from_millis(500), "floor");
        assert_eq!(p.delay(2, None, 0.0), Duration::from_millis(500));
        assert_eq!(p.delay(2, None, 0.5), Duration::from_millis(750));
        assert_eq!(p.delay(3, None, 1.0), Duration::from_secs(2));
        assert_eq!(p.delay(9, None, 1.0), Duration::from_secs(5));
        assert_eq!(p.delay(40, None, 0.0), Duration::from_millis(2500));
    }

    #[test]
    fn retry_after_is_honoured_up_to_a_minute() {
        let p = RetryPolicy::sdk_default(3);
        assert_eq!(
            p.delay(1, Some(Duration::from_secs(7)), 1.0),
            Duration::from_secs(7)
        );
        assert_eq!(
            p.delay(1, Some(Duration::from_secs(120)), 1.0),
            Duration::from_millis(500)
        );
    }
}

//! Injected failures for API requests, so clients' retry and timeout paths can be tested.
//!
//! Faults are consulted after authentication and before idempotency: an injected 500 is
//! "Stripe never ran the request", so a retry with the same Idempotency-Key gets a real
//! answer instead of a replayed failure. With `after_processing` the request does run (and
//! its real answer is saved for idempotency) but the client gets the error: a lost
//! response, the case where only a retry with the same key avoids doing things twice.

use crate::errors::ApiError;
use crate::state::Store;
use crate::state::faults::{Fault, FaultSpec};
use axum::http::{HeaderName, StatusCode, header};
use std::time::Duration;

pub struct FaultHit {
    pub delay: Option<Duration>,
    pub error: Option<ApiError>,
    /// Run the request first, then answer with `error` instead of its result.
    pub after_processing: bool,
}

impl FaultSpec {
    pub fn validate(&self) -> Result<(), ApiError> {
        if !self.path_prefix.starts_with('/') {
            return Err(ApiError::invalid_param(
                "path_prefix",
                "path_prefix must start with '/'.",
            ));
        }
        if let Some(status) = self.status {
            if !(400..=599).contains(&status) {
                return Err(ApiError::invalid_param(
                    "status",
                    "status must be between 400 and 599.",
                ));
            }
        }
        if self.status.is_none() && self.delay_ms.is_none() {
            return Err(ApiError::invalid(
                "A fault needs a status, a delay_ms, or both.",
            ));
        }
        if self.after_processing && self.status.is_none() {
            return Err(ApiError::invalid_param(
                "after_processing",
                "after_processing needs a status to answer with.",
            ));
        }
        if self
            .percent
            .is_some_and(|p| !p.is_finite() || p <= 0.0 || p > 100.0)
        {
            return Err(ApiError::invalid_param(
                "percent",
                "percent must be above 0 and at most 100.",
            ));
        }
        if self.count == 0 {
            return Err(ApiError::invalid_param(
                "count",
                "count must be at least 1.",
            ));
        }
        if self.delay_ms.is_some_and(|d| d > 600_000) {
            return Err(ApiError::invalid_param(
                "delay_ms",
                "delay_ms can be at most 600000.",
            ));
        }
        Ok(())
    }

    fn matches(&self, method: &str, path: &str) -> bool {
        path.starts_with(&self.path_prefix)
            && self
                .method
                .as_deref()
                .is_none_or(|m| m.eq_ignore_ascii_case(method))
    }

    fn error(&self, status: u16) -> ApiError {
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let (kind, code, message) = match status.as_u16() {
            // Which `type` Stripe puts on a 429 is not documented; the emulator keeps to the
            // documented types (docs/stripe.md §7.1, K17), as `ApiError::rate_limited` does.
            429 => (
                "invalid_request_error",
                Some("rate_limit"),
                "Request rate limit exceeded. Learn more about rate limits here https://stripe.com/docs/rate-limits.",
            ),
            402 => (
                "card_error",
                Some("card_declined"),
                "Your card was declined.",
            ),
            409 => (
                "invalid_request_error",
                None,
                "This object cannot be accessed right now because another API request or Stripe process is currently accessing it. Please try again.",
            ),
            s if s >= 500 => (
                "api_error",
                None,
                "An unknown error occurred while processing this request. (injected by stripe-sim)",
            ),
            _ => (
                "invalid_request_error",
                None,
                "Injected error (stripe-sim).",
            ),
        };
        let mut err = ApiError::new(
            status,
            self.error_type.as_deref().unwrap_or(kind),
            self.message.as_deref().unwrap_or(message),
        );
        err.code = self.code.clone().or(code.map(String::from));
        if let Some(retry) = self.should_retry {
            err = err.header(
                HeaderName::from_static("stripe-should-retry"),
                retry.to_string(),
            );
        }
        if let Some(secs) = self.retry_after {
            err = err.header(header::RETRY_AFTER, secs.to_string());
        }
        err.not_replayable()
    }
}

/// Adds a fault and returns it as stored.
pub fn add(store: &mut Store, spec: FaultSpec) -> Fault {
    let id = format!("fault_{}", store.next_seq());
    let fault = Fault {
        id,
        remaining: spec.count,
        spec,
    };
    store.faults.push(fault.clone());
    fault
}

/// Consumes one use of the first fault that matches this request and hits it (a fault
/// with `percent` hits that share of its matches, drawn per request), if any.
pub fn take(store: &mut Store, method: &str, path: &str) -> Option<FaultHit> {
    take_with(store, method, path, || fastrand::f64() * 100.0)
}

/// [`take`] with the dice given: `roll` returns a number in [0, 100).
fn take_with(
    store: &mut Store,
    method: &str,
    path: &str,
    mut roll: impl FnMut() -> f64,
) -> Option<FaultHit> {
    let index = store.faults.iter().position(|f| {
        f.spec.matches(method, path) && f.spec.percent.is_none_or(|percent| roll() < percent)
    })?;
    let fault = store.faults.get_mut(index)?;
    fault.remaining = fault.remaining.saturating_sub(1);
    let hit = FaultHit {
        delay: fault.spec.delay_ms.map(Duration::from_millis),
        error: fault.spec.status.map(|s| fault.spec.error(s)),
        after_processing: fault.spec.after_processing,
    };
    if fault.remaining == 0 {
        store.faults.remove(index);
    }
    Some(hit)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(json: &str) -> FaultSpec {
        match serde_json::from_str(json) {
            Ok(s) => s,
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn defaults_follow_status() {
        let err =
            spec(r#"{"path_prefix":"/v1","status":429,"should_retry":false,"retry_after":2}"#)
                .error(429);
        assert_eq!(err.kind, "invalid_request_error");
        assert_eq!(err.code.as_deref(), Some("rate_limit"));
        assert_eq!(err.headers().len(), 2);
        assert_eq!(
            spec(r#"{"path_prefix":"/v1","status":503}"#)
                .error(503)
                .kind,
            "api_error"
        );
    }

    #[test]
    fn validation_rejects_nonsense() {
        assert!(
            spec(r#"{"path_prefix":"v1","status":500}"#)
                .validate()
                .is_err()
        );
        assert!(
            spec(r#"{"path_prefix":"/v1","status":200}"#)
                .validate()
                .is_err()
        );
        assert!(spec(r#"{"path_prefix":"/v1"}"#).validate().is_err());
        assert!(
            spec(r#"{"path_prefix":"/v1","status":500,"count":0}"#)
                .validate()
                .is_err()
        );
        assert!(
            spec(r#"{"path_prefix":"/v1","delay_ms":10}"#)
                .validate()
                .is_ok()
        );
        let lost_without_status = r#"{"path_prefix":"/v1","delay_ms":10,"after_processing":true}"#;
        assert!(spec(lost_without_status).validate().is_err());
        let lost = r#"{"path_prefix":"/v1","status":500,"after_processing":true}"#;
        assert!(spec(lost).validate().is_ok());
        assert!(
            serde_json::from_str::<FaultSpec>(r#"{"path_prefix":"/v1","stauts":500}"#).is_err()
        );
    }

    #[test]
    fn a_percent_fault_hits_only_the_requests_its_dice_pick_and_counts_only_those() {
        let mut store = Store::new(&crate::SimConfig::default());
        let mut fault = spec(r#"{"path_prefix":"/v1","status":503,"percent":30,"count":2}"#);
        assert!(fault.validate().is_ok());
        add(&mut store, fault.clone());
        // Dice above 30 pass the request through and leave the count alone.
        assert!(take_with(&mut store, "GET", "/v1/x", || 30.0).is_none());
        assert!(take_with(&mut store, "GET", "/v1/x", || 99.9).is_none());
        assert_eq!(store.faults[0].remaining, 2);
        let hit = take_with(&mut store, "GET", "/v1/x", || 29.9).expect("hit");
        assert_eq!(hit.error.map(|e| e.status.as_u16()), Some(503));
        assert!(take_with(&mut store, "GET", "/v1/x", || 0.0).is_some());
        assert!(store.faults.is_empty(), "the count ran out");
        for bad in [0.0, -1.0, 100.5, f64::NAN] {
            fault.percent = Some(bad);
            assert!(fault.validate().is_err(), "{bad}");
        }
    }

    #[test]
    fn method_filter_is_case_insensitive() {
        let s = spec(r#"{"path_prefix":"/v1/refunds","method":"post","status":500}"#);
        assert!(s.matches("POST", "/v1/refunds"));
        assert!(!s.matches("GET", "/v1/refunds/re_1"));
        assert!(!s.matches("POST", "/v1/charges"));
    }
}

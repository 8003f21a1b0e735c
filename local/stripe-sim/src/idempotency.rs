//! `Idempotency-Key` on POST, with Stripe v1's rules.
//!
//! Keys are scoped per (API key, account, key). The first completed response is kept and
//! replayed byte for byte; a concurrent request with the same key gets 409 instead of
//! running twice. Responses that Stripe does not save (429s, parameter validation errors,
//! requests that never finished) leave no entry, so a retry runs for real.

use crate::errors::ApiError;
use crate::state::Sim;
use crate::state::idempotency::{Fingerprint, IdemEntry, IdemKey, StoredResponse};
use axum::http::StatusCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub const MAX_KEY_CHARS: usize = 255;
/// Stripe keeps v1 keys for at least 24 hours, v2 keys for 30 days.
const RETENTION: Duration = Duration::from_secs(24 * 60 * 60);
const RETENTION_V2: Duration = Duration::from_secs(30 * 24 * 60 * 60);

fn retention(path: &str) -> Duration {
    if path.starts_with("/v2/") {
        RETENTION_V2
    } else {
        RETENTION
    }
}

pub enum Begin {
    Proceed(Guard),
    Replay(StoredResponse),
}

/// Holds the in-flight slot. Dropping it without [`Guard::finish`] (client hung up, handler
/// bailed) frees the key, so an abandoned request never blocks its retries.
pub struct Guard {
    sim: Arc<Sim>,
    key: Option<IdemKey>,
    fingerprint: Fingerprint,
}

impl Guard {
    pub fn finish(mut self, response: Option<StoredResponse>) {
        if let Some(key) = self.key.take() {
            let mut store = self.sim.lock();
            match response {
                Some(response) => {
                    store.idempotency.insert(
                        key,
                        IdemEntry::Done {
                            fingerprint: self.fingerprint.clone(),
                            response,
                            at: Instant::now(),
                        },
                    );
                }
                None => {
                    store.idempotency.remove(&key);
                }
            }
        }
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            self.sim.lock().idempotency.remove(&key);
        }
    }
}

pub fn validate_key(key: &str) -> Result<(), ApiError> {
    if key.chars().count() > MAX_KEY_CHARS {
        return Err(ApiError::invalid(format!(
            "Idempotency-Key is too long: keys can be at most {MAX_KEY_CHARS} characters."
        ))
        .code("idempotency_key_too_long")
        .not_replayable());
    }
    Ok(())
}

pub fn begin(sim: &Arc<Sim>, key: IdemKey, fingerprint: Fingerprint) -> Result<Begin, ApiError> {
    validate_key(&key.key)?;
    let mut store = sim.lock();
    match store.idempotency.get(&key) {
        Some(IdemEntry::InFlight) => Err(ApiError::new(
            StatusCode::CONFLICT,
            "idempotency_error",
            format!(
                "There is currently another in-progress request using this Idempotency-Key (that probably means you submitted twice, and the other request is still going through): {}. Please try again later.",
                key.key
            ),
        )
        .code("idempotency_key_in_use")
        .not_replayable()),
        Some(IdemEntry::Done { fingerprint: first, response, at })
            if at.elapsed() < retention(&first.path) =>
        {
            if first.method != fingerprint.method || first.path != fingerprint.path {
                return Err(ApiError::invalid(format!(
                    "Keys for idempotent requests can only be used for the same endpoint they were first used for ('{} {}' vs '{} {}'). Try using a key other than '{}' if you meant to execute a different request.",
                    first.method, first.path, fingerprint.method, fingerprint.path, key.key
                ))
                .not_replayable()
                .with_kind("idempotency_error"));
            }
            if first.params != fingerprint.params {
                return Err(ApiError::invalid(format!(
                    "Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '{}' if you meant to execute a different request.",
                    key.key
                ))
                .not_replayable()
                .with_kind("idempotency_error"));
            }
            Ok(Begin::Replay(response.clone()))
        }
        _ => {
            store.idempotency.insert(key.clone(), IdemEntry::InFlight);
            Ok(Begin::Proceed(Guard {
                sim: Arc::clone(sim),
                key: Some(key),
                fingerprint,
            }))
        }
    }
}

impl ApiError {
    fn with_kind(mut self, kind: &str) -> Self {
        self.kind = kind.to_string();
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SimConfig;
    use serde_json::json;

    fn sim() -> Arc<Sim> {
        match Sim::new(SimConfig::default()) {
            Ok(sim) => Arc::new(sim),
            Err(e) => panic!("sim: {e}"),
        }
    }

    fn key(k: &str) -> IdemKey {
        IdemKey {
            api_key: "sk_test_sim".into(),
            scope: Some("acct_1".into()),
            key: k.into(),
        }
    }

    fn fp(amount: &str) -> Fingerprint {
        Fingerprint {
            method: "POST".into(),
            path: "/v1/refunds".into(),
            params: json!({"amount": amount}),
        }
    }

    fn stored() -> StoredResponse {
        StoredResponse {
            status: 200,
            body: b"{}".to_vec(),
            request_id: "req_1".into(),
            headers: vec![],
        }
    }

    #[test]
    fn second_request_replays_then_mismatch_is_rejected() {
        let sim = sim();
        match begin(&sim, key("k"), fp("1")) {
            Ok(Begin::Proceed(guard)) => guard.finish(Some(stored())),
            _ => panic!("first use must proceed"),
        }
        assert!(
            matches!(begin(&sim, key("k"), fp("1")), Ok(Begin::Replay(r)) if r.request_id == "req_1")
        );
        let err = begin(&sim, key("k"), fp("2")).err();
        assert_eq!(err.map(|e| e.kind), Some("idempotency_error".to_string()));
        // Another account's identical key is a different key.
        let mut other = key("k");
        other.scope = None;
        assert!(matches!(begin(&sim, other, fp("2")), Ok(Begin::Proceed(_))));
    }

    #[test]
    fn in_flight_conflicts_and_dropping_frees_the_key() {
        let sim = sim();
        let first = begin(&sim, key("k"), fp("1"));
        assert!(matches!(first, Ok(Begin::Proceed(_))));
        let err = begin(&sim, key("k"), fp("1")).err();
        assert_eq!(err.map(|e| e.status.as_u16()), Some(409));
        drop(first);
        assert!(matches!(
            begin(&sim, key("k"), fp("1")),
            Ok(Begin::Proceed(_))
        ));
    }

    #[test]
    fn unsaved_outcome_leaves_no_entry() {
        let sim = sim();
        if let Ok(Begin::Proceed(guard)) = begin(&sim, key("k"), fp("1")) {
            guard.finish(None);
        }
        assert!(matches!(
            begin(&sim, key("k"), fp("9")),
            Ok(Begin::Proceed(_))
        ));
    }

    #[test]
    fn long_keys_are_refused() {
        assert!(validate_key(&"x".repeat(255)).is_ok());
        assert!(validate_key(&"x".repeat(256)).is_err());
    }
}

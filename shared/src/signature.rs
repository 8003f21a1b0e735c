//! Verification of the `Stripe-Signature` header (webhooks, thin events and checkout hooks
//! all use the same scheme; only the secret differs).
//!
//! The header is `t=<unix seconds>,v1=<hex>[,v1=<hex>…][,v0=<hex>]`. The signed payload is
//! `"{t}.{raw body bytes}"`, HMAC-SHA256 with the endpoint's secret. While a secret is
//! rolled Stripe sends one `v1` per active secret, and we may hold several secrets too, so
//! any (secret, v1) pair that matches is enough. Only `v1` counts: `v0` is a fake.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::secret::Secret;

type HmacSha256 = Hmac<Sha256>;

/// Stripe's own default; the official SDKs use the same.
pub const DEFAULT_TOLERANCE_SECONDS: i64 = 300;

const RAW_BODY_HINT: &str = "Are you passing the raw request body you received from Stripe? \
The signature is computed over the exact bytes Stripe sent: a body that was parsed and \
re-serialised, re-encoded or had its whitespace or line endings changed never verifies.";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("No Stripe-Signature header value was provided.")]
    MissingHeader,
    #[error(
        "Unable to extract timestamp and signatures from the Stripe-Signature header: {0}. \
         Expected `t=<unix seconds>,v1=<hex signature>`."
    )]
    MalformedHeader(&'static str),
    #[error("No signatures found with expected scheme v1 in the Stripe-Signature header.")]
    NoV1Signature,
    #[error("No signatures found matching the expected signature for payload. {RAW_BODY_HINT}")]
    NoMatch,
    #[error(
        "Timestamp outside the tolerance zone: signed at {timestamp}, now {now}, tolerance \
         {tolerance} s. Replayed or delayed deliveries are refused; check the server clock."
    )]
    TimestampOutsideTolerance {
        timestamp: i64,
        now: i64,
        tolerance: i64,
    },
    #[error("No signing secret is configured for this endpoint.")]
    NoSecretConfigured,
}

/// What a verifier needs besides the request: the endpoint's active secrets and the
/// tolerance. Built once per cold start.
#[derive(Debug, Clone)]
pub struct Verifier {
    secrets: Vec<Secret>,
    tolerance_seconds: i64,
}

impl Verifier {
    /// A tolerance below one second is raised to one: a zero tolerance would refuse every
    /// genuine delivery, and Stripe says never to use it.
    pub fn new(secrets: Vec<Secret>, tolerance_seconds: i64) -> Self {
        Self {
            secrets: secrets.into_iter().filter(|s| !s.is_empty()).collect(),
            tolerance_seconds: tolerance_seconds.max(1),
        }
    }

    pub fn tolerance_seconds(&self) -> i64 {
        self.tolerance_seconds
    }

    /// Verifies `payload` (the raw body) against `header` at time `now` (unix seconds).
    /// Returns the signed timestamp.
    pub fn verify(
        &self,
        payload: &[u8],
        header: Option<&str>,
        now: i64,
    ) -> Result<i64, SignatureError> {
        if self.secrets.is_empty() {
            return Err(SignatureError::NoSecretConfigured);
        }
        let header = header
            .map(str::trim)
            .filter(|h| !h.is_empty())
            .ok_or(SignatureError::MissingHeader)?;
        let parsed = parse_header(header)?;

        let mut matched = false;
        for secret in &self.secrets {
            let expected =
                compute_signature(secret.expose().as_bytes(), parsed.timestamp_text, payload);
            for candidate in &parsed.v1 {
                // Compare every candidate, even after a match, so timing does not reveal
                // which secret or position matched.
                if let Some(bytes) = decode_hex_32(candidate) {
                    matched |= bool::from(bytes.ct_eq(&expected));
                }
            }
        }
        if !matched {
            return Err(SignatureError::NoMatch);
        }
        // Like the official SDKs, only timestamps older than the tolerance are refused; the
        // check comes after the signature so an attacker learns nothing from it.
        if parsed.timestamp < now - self.tolerance_seconds {
            return Err(SignatureError::TimestampOutsideTolerance {
                timestamp: parsed.timestamp,
                now,
                tolerance: self.tolerance_seconds,
            });
        }
        Ok(parsed.timestamp)
    }
}

struct ParsedHeader<'a> {
    timestamp: i64,
    timestamp_text: &'a str,
    v1: Vec<&'a str>,
}

fn parse_header(header: &str) -> Result<ParsedHeader<'_>, SignatureError> {
    let mut timestamp = None;
    let mut v1 = Vec::new();
    for item in header.split(',') {
        let Some((key, value)) = item.trim().split_once('=') else {
            continue;
        };
        match key {
            "t" => {
                if timestamp.is_some() {
                    return Err(SignatureError::MalformedHeader("more than one timestamp"));
                }
                let parsed: i64 = value.parse().map_err(|_| {
                    SignatureError::MalformedHeader("the timestamp is not an integer")
                })?;
                timestamp = Some((parsed, value));
            }
            "v1" => v1.push(value),
            _ => {}
        }
    }
    let (timestamp, timestamp_text) =
        timestamp.ok_or(SignatureError::MalformedHeader("no timestamp (t=)"))?;
    if v1.is_empty() {
        return Err(SignatureError::NoV1Signature);
    }
    Ok(ParsedHeader {
        timestamp,
        timestamp_text,
        v1,
    })
}

/// HMAC-SHA256(secret, "{t}.{payload}") without building the concatenated buffer.
fn compute_signature(secret: &[u8], timestamp: &str, payload: &[u8]) -> [u8; 32] {
    // HMAC takes keys of any length, so this cannot fail.
    let mut mac = <HmacSha256 as KeyInit>::new_from_slice(secret)
        .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(payload);
    mac.finalize().into_bytes().into()
}

fn decode_hex_32(text: &str) -> Option<[u8; 32]> {
    let mut out = [0u8; 32];
    hex::decode_to_slice(text, &mut out).ok()?;
    Some(out)
}

/// Builds a valid header for `payload`, like stripe-node's `generateTestHeaderString`:
/// for fixtures, the emulator and tests. One `v1` per secret, as during a secret roll.
pub fn sign_header(payload: &[u8], secrets: &[&str], timestamp: i64) -> String {
    let t = timestamp.to_string();
    let mut header = format!("t={t}");
    for secret in secrets {
        header.push_str(",v1=");
        header.push_str(&hex::encode(compute_signature(
            secret.as_bytes(),
            &t,
            payload,
        )));
    }
    header
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const SECRET: &str = "whsec_unit_test_secret";
    const NOW: i64 = 1_764_340_000;

    fn verifier() -> Verifier {
        Verifier::new(vec![Secret::new(SECRET)], DEFAULT_TOLERANCE_SECONDS)
    }

    #[test]
    fn accepts_a_header_it_signed() {
        let body = br#"{"id":"evt_1"}"#;
        let header = sign_header(body, &[SECRET], NOW);
        assert_eq!(verifier().verify(body, Some(&header), NOW), Ok(NOW));
    }

    #[test]
    fn missing_or_blank_header_is_named() {
        assert_eq!(
            verifier().verify(b"{}", None, NOW),
            Err(SignatureError::MissingHeader)
        );
        assert_eq!(
            verifier().verify(b"{}", Some("  "), NOW),
            Err(SignatureError::MissingHeader)
        );
    }

    #[test]
    fn header_without_v1_is_named() {
        let header = format!("t={NOW},v0=abcdef");
        assert_eq!(
            verifier().verify(b"{}", Some(&header), NOW),
            Err(SignatureError::NoV1Signature)
        );
    }

    #[test]
    fn header_without_timestamp_is_malformed() {
        let err = verifier().verify(b"{}", Some("v1=00"), NOW).unwrap_err();
        assert!(matches!(err, SignatureError::MalformedHeader(_)), "{err}");
        let err = verifier()
            .verify(b"{}", Some("t=soon,v1=00"), NOW)
            .unwrap_err();
        assert!(matches!(err, SignatureError::MalformedHeader(_)), "{err}");
    }

    #[test]
    fn tampered_body_does_not_match_and_says_raw_body() {
        let header = sign_header(br#"{"amount":100}"#, &[SECRET], NOW);
        let err = verifier()
            .verify(br#"{"amount":900}"#, Some(&header), NOW)
            .unwrap_err();
        assert_eq!(err, SignatureError::NoMatch);
        assert!(err.to_string().contains("raw request body"));
    }

    #[test]
    fn reserialised_json_does_not_verify() {
        let body = b"{\n  \"id\": \"evt_1\"\n}";
        let header = sign_header(body, &[SECRET], NOW);
        assert_eq!(
            verifier().verify(br#"{"id":"evt_1"}"#, Some(&header), NOW),
            Err(SignatureError::NoMatch)
        );
    }

    #[test]
    fn wrong_secret_does_not_match() {
        let header = sign_header(b"{}", &["whsec_other"], NOW);
        assert_eq!(
            verifier().verify(b"{}", Some(&header), NOW),
            Err(SignatureError::NoMatch)
        );
    }

    #[test]
    fn old_timestamp_is_refused_even_with_a_valid_signature() {
        let header = sign_header(b"{}", &[SECRET], NOW - 301);
        let err = verifier().verify(b"{}", Some(&header), NOW).unwrap_err();
        assert!(
            matches!(err, SignatureError::TimestampOutsideTolerance { .. }),
            "{err}"
        );
        // Exactly at the edge is still inside.
        let header = sign_header(b"{}", &[SECRET], NOW - 300);
        assert!(verifier().verify(b"{}", Some(&header), NOW).is_ok());
    }

    #[test]
    fn tolerance_is_configurable_and_never_zero() {
        let strict = Verifier::new(vec![Secret::new(SECRET)], 10);
        let header = sign_header(b"{}", &[SECRET], NOW - 11);
        assert!(strict.verify(b"{}", Some(&header), NOW).is_err());
        let zero = Verifier::new(vec![Secret::new(SECRET)], 0);
        assert_eq!(zero.tolerance_seconds(), 1);
    }

    #[test]
    fn any_matching_v1_among_several_is_enough() {
        let body = b"{}";
        // Stripe is rolling its secret: one v1 per active secret, ours is the second.
        let header = sign_header(body, &["whsec_old_one", SECRET], NOW);
        assert!(verifier().verify(body, Some(&header), NOW).is_ok());
        // We are rolling ours: two secrets configured, Stripe signs with the new one.
        let rolling = Verifier::new(vec![Secret::new("whsec_new"), Secret::new(SECRET)], 300);
        assert!(
            rolling
                .verify(body, Some(&sign_header(body, &["whsec_new"], NOW)), NOW)
                .is_ok()
        );
    }

    #[test]
    fn v0_signatures_are_ignored() {
        let body = b"{}";
        let valid = sign_header(body, &[SECRET], NOW);
        let v1 = valid
            .split_once(",v1=")
            .map(|(_, s)| s.to_string())
            .unwrap();
        let header = format!("t={NOW},v0={v1}");
        assert_eq!(
            verifier().verify(body, Some(&header), NOW),
            Err(SignatureError::NoV1Signature)
        );
    }

    #[test]
    fn no_secret_configured_is_an_error_not_an_acceptance() {
        let none = Verifier::new(vec![Secret::new("")], 300);
        let header = sign_header(b"{}", &[""], NOW);
        assert_eq!(
            none.verify(b"{}", Some(&header), NOW),
            Err(SignatureError::NoSecretConfigured)
        );
    }

    #[test]
    fn stripe_node_vector_verifies() {
        let vector: serde_json::Value =
            serde_json::from_str(include_str!("../tests/vectors/stripe_node_signature.json"))
                .unwrap();
        let payload = vector["payload"].as_str().unwrap().as_bytes();
        let header = vector["header"].as_str().unwrap();
        let secret = vector["secret"].as_str().unwrap();
        let t = vector["timestamp"].as_i64().unwrap();
        let verifier = Verifier::new(vec![Secret::new(secret)], 300);
        assert_eq!(verifier.verify(payload, Some(header), t + 5), Ok(t));
        // And our generator produces the SDK's exact header.
        assert_eq!(sign_header(payload, &[secret], t), header);
        // One changed byte and it fails.
        let mut tampered = payload.to_vec();
        tampered[10] ^= 1;
        assert_eq!(
            verifier.verify(&tampered, Some(header), t),
            Err(SignatureError::NoMatch)
        );
    }

    proptest! {
        #[test]
        fn any_header_string_never_panics(header in ".{0,300}", body in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = verifier().verify(&body, Some(&header), NOW);
        }

        #[test]
        fn signed_bodies_verify_and_any_flip_fails(
            body in proptest::collection::vec(any::<u8>(), 1..512),
            flip in any::<proptest::sample::Index>(),
            bit in 0u8..8,
            age in 0i64..300,
        ) {
            let header = sign_header(&body, &[SECRET], NOW - age);
            prop_assert_eq!(verifier().verify(&body, Some(&header), NOW), Ok(NOW - age));
            let mut tampered = body.clone();
            let i = flip.index(tampered.len());
            tampered[i] ^= 1 << bit;
            prop_assert_eq!(verifier().verify(&tampered, Some(&header), NOW), Err(SignatureError::NoMatch));
        }

        #[test]
        fn header_items_in_any_order_with_noise_verify(extra in "[a-z0-9]{1,8}", v0 in "[0-9a-f]{64}") {
            let body = b"{\"id\":\"evt_x\"}";
            let signed = sign_header(body, &[SECRET], NOW);
            let v1 = signed.split_once(",v1=").map(|(_, s)| s.to_string()).unwrap();
            let header = format!("v0={v0}, v1={extra}, x={extra},v1={v1} ,t={NOW}");
            prop_assert_eq!(verifier().verify(body, Some(&header), NOW), Ok(NOW));
        }
    }
}

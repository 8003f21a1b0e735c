//! Re-signing the committed `events/` fixtures (API Gateway requests, HTTP API payload 2.0
//! or REST / payload 1.0) with the current time, so they pass the signature tolerance when
//! sent to a running stack, given to `cargo lambda invoke --data-file`, or replayed by tests.

use base64::Engine;
use serde_json::{Map, Value};

use shared::signature::sign_header;

/// The documented local test secrets (README): never valid anywhere but a local stack.
pub const TEST_WEBHOOK_SECRET: &str = "whsec_test_agentic_commerce_local";
/// The Agentic Commerce Extension's (checkout hooks') local test secret.
pub const TEST_HOOK_SECRET: &str = "whsec_test_hooks_local";
/// The thin-event (v2 event destination) local test secret.
pub const TEST_THIN_EVENT_SECRET: &str = "whsec_test_thin_events_local";

/// Which of API Gateway's two request shapes a fixture has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Payload {
    /// HTTP API payload 2.0 (also Function URLs): `version: "2.0"`, `rawPath`.
    V2,
    /// REST API proxy integration, or HTTP API payload 1.0: `httpMethod`, `path`.
    V1,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FixtureError {
    #[error(
        "the fixture is not an API Gateway request (HTTP API payload 2.0, or REST API / payload 1.0): {0}"
    )]
    NotAnApiGatewayRequest(&'static str),
    #[error("the fixture's body is marked base64 but does not decode")]
    BadBase64,
}

pub fn payload(request: &Value) -> Result<Payload, FixtureError> {
    if request.get("version").and_then(Value::as_str) == Some("2.0") {
        Ok(Payload::V2)
    } else if request.get("httpMethod").is_some_and(Value::is_string)
        && request.get("path").is_some_and(Value::is_string)
    {
        Ok(Payload::V1)
    } else {
        Err(FixtureError::NotAnApiGatewayRequest(
            "neither `version: \"2.0\"` nor `httpMethod` and `path`",
        ))
    }
}

/// The path the fixture's request goes to (`/stripe/webhooks`…).
pub fn route(request: &Value) -> &str {
    request
        .get("rawPath")
        .or_else(|| request.get("path"))
        .and_then(Value::as_str)
        .unwrap_or("")
}

/// A header of the fixture's request, whatever the case of its name.
pub fn header<'a>(request: &'a Value, name: &str) -> Option<&'a str> {
    request
        .get("headers")?
        .as_object()?
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .and_then(|(_, v)| v.as_str())
}

/// The test secret a fixture is signed with, from its route.
pub fn default_secret(request: &Value) -> &'static str {
    let path = route(request);
    if path.contains("/stripe/hooks/") {
        TEST_HOOK_SECRET
    } else if path.ends_with("/stripe/events") {
        TEST_THIN_EVENT_SECRET
    } else {
        TEST_WEBHOOK_SECRET
    }
}

/// The raw body bytes of an API Gateway request fixture.
pub fn body_bytes(request: &Value) -> Result<Vec<u8>, FixtureError> {
    let body = request
        .get("body")
        .and_then(Value::as_str)
        .ok_or(FixtureError::NotAnApiGatewayRequest("no string `body`"))?;
    if request
        .get("isBase64Encoded")
        .and_then(Value::as_bool)
        .unwrap_or(false)
    {
        base64::engine::general_purpose::STANDARD
            .decode(body)
            .map_err(|_| FixtureError::BadBase64)
    } else {
        Ok(body.as_bytes().to_vec())
    }
}

/// Sets `name` in a header map, replacing a differently-cased spelling of it.
fn set_header(headers: &mut Map<String, Value>, name: &str, value: Value) {
    let existing = headers
        .keys()
        .find(|k| k.eq_ignore_ascii_case(name))
        .cloned();
    headers.insert(existing.unwrap_or_else(|| name.to_string()), value);
}

/// Signs the fixture's body at `now` (unix seconds) with `secrets` and updates the
/// request's `stripe-signature` header and timestamps in place.
pub fn resign(request: &mut Value, secrets: &[&str], now: i64) -> Result<(), FixtureError> {
    let payload = payload(request)?;
    let body = body_bytes(request)?;
    let header = sign_header(&body, secrets, now);
    let headers = request
        .get_mut("headers")
        .and_then(Value::as_object_mut)
        .ok_or(FixtureError::NotAnApiGatewayRequest("no `headers` object"))?;
    set_header(headers, "stripe-signature", Value::String(header.clone()));
    if let Some(multi) = request
        .get_mut("multiValueHeaders")
        .and_then(Value::as_object_mut)
    {
        set_header(multi, "stripe-signature", Value::from(vec![header]));
    }
    let Some(context) = request
        .get_mut("requestContext")
        .and_then(Value::as_object_mut)
    else {
        return Ok(());
    };
    let (epoch, text) = match payload {
        Payload::V2 => ("timeEpoch", "time"),
        Payload::V1 => ("requestTimeEpoch", "requestTime"),
    };
    context.insert(epoch.into(), Value::from(now * 1000));
    if let Ok(t) = time::OffsetDateTime::from_unix_timestamp(now) {
        let format = time::macros::format_description!(
            "[day]/[month repr:short]/[year]:[hour]:[minute]:[second] +0000"
        );
        if let Ok(formatted) = t.format(&format) {
            context.insert(text.into(), Value::String(formatted));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::secret::Secret;
    use shared::signature::Verifier;

    #[test]
    fn every_committed_fixture_resigns_and_verifies() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../events/webhooks");
        let mut count = 0;
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let mut request: Value =
                serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
            let now = 1_900_000_000;
            resign(&mut request, &[TEST_WEBHOOK_SECRET], now).unwrap();
            let header = request["headers"]["stripe-signature"].as_str().unwrap();
            let verifier = Verifier::new(vec![Secret::new(TEST_WEBHOOK_SECRET)], 300);
            assert_eq!(
                verifier.verify(&body_bytes(&request).unwrap(), Some(header), now),
                Ok(now),
                "{path:?}"
            );
            assert_eq!(request["requestContext"]["timeEpoch"], now * 1000);
            count += 1;
        }
        assert!(
            count >= 8,
            "expected a fixture per handled event type, found {count}"
        );
    }

    #[test]
    fn hook_fixtures_resign_with_the_hook_secret_and_parse() {
        for name in ["customize_checkout", "finalize_checkout"] {
            let path = format!(
                "{}/../../events/hooks/{name}.json",
                env!("CARGO_MANIFEST_DIR")
            );
            let mut request: Value =
                serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
            assert_eq!(default_secret(&request), TEST_HOOK_SECRET);
            let secret = default_secret(&request);
            resign(&mut request, &[secret], 1_900_000_000).unwrap();
            let verifier = Verifier::new(vec![Secret::new(TEST_HOOK_SECRET)], 300);
            let header = request["headers"]["stripe-signature"].as_str().unwrap();
            assert!(
                verifier
                    .verify(&body_bytes(&request).unwrap(), Some(header), 1_900_000_000)
                    .is_ok()
            );
            let envelope: shared::hooks::request::Envelope =
                serde_json::from_slice(&body_bytes(&request).unwrap()).unwrap();
            match name {
                "customize_checkout" => {
                    let data: shared::hooks::request::CustomizeData =
                        serde_json::from_value(envelope.data).unwrap();
                    assert_eq!(
                        data.line_item_details[0].sku_id.as_deref(),
                        Some("MUG-TRAIL-12")
                    );
                }
                _ => {
                    let data: shared::hooks::request::FinalizeData =
                        serde_json::from_value(envelope.data).unwrap();
                    assert_eq!(
                        (data.amount_total(), data.card_funding()),
                        (3948, Some("credit"))
                    );
                }
            }
        }
    }

    /// Every API Gateway request under events/, with its path relative to events/.
    fn committed_requests() -> Vec<(String, Value)> {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../events");
        let mut found = Vec::new();
        for dir in std::fs::read_dir(&root).unwrap() {
            for file in std::fs::read_dir(dir.unwrap().path()).unwrap() {
                let path = file.unwrap().path();
                let value: Value =
                    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
                if payload(&value).is_ok() {
                    let name = path.strip_prefix(&root).unwrap().display().to_string();
                    found.push((name, value));
                }
            }
        }
        found.sort_by(|a, b| a.0.cmp(&b.0));
        found
    }

    #[test]
    fn committed_signatures_are_valid_at_their_own_time_with_their_routes_secret() {
        // The fixtures are committed signed, so a reader can check them with any SDK.
        let mut signed = Vec::new();
        for (name, request) in committed_requests() {
            let Some(header) = header(&request, "stripe-signature") else {
                continue;
            };
            let t: i64 = header[2..header.find(',').unwrap()].parse().unwrap();
            let verifier = Verifier::new(vec![Secret::new(default_secret(&request))], 300);
            assert_eq!(
                verifier.verify(&body_bytes(&request).unwrap(), Some(header), t),
                Ok(t),
                "{name}"
            );
            signed.push(name);
        }
        for expected in [
            "hooks/finalize_checkout_rest.json",
            "thin/agreement_confirmed.json",
            "thin/product_catalog_import_succeeded.json",
            "webhooks/charge_refunded.json",
        ] {
            assert!(
                signed.iter().any(|n| n == expected),
                "{expected} in {signed:?}"
            );
        }
    }

    #[test]
    fn every_committed_request_is_one_lambda_http_accepts() {
        let requests = committed_requests();
        assert!(requests.len() >= 17, "{}", requests.len());
        for (name, request) in requests {
            let text = serde_json::to_string(&request).unwrap();
            let parsed =
                lambda_http::request::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(
                parsed.uri().path().trim_start_matches("/prod"),
                route(&request),
                "{name}"
            );
            assert_eq!(
                parsed.body().as_ref(),
                body_bytes(&request).unwrap(),
                "{name}"
            );
        }
    }

    #[test]
    fn thin_event_fixtures_are_thin_events_for_the_thin_route() {
        for (name, request) in committed_requests() {
            if !name.starts_with("thin/") {
                continue;
            }
            assert_eq!(route(&request), "/stripe/events", "{name}");
            let event: Value = serde_json::from_slice(&body_bytes(&request).unwrap()).unwrap();
            assert_eq!(event["object"], "v2.core.event", "{name}");
            assert!(
                event["context"].as_str().unwrap().starts_with("acct_"),
                "{name}"
            );
            assert!(
                event["related_object"]["url"]
                    .as_str()
                    .unwrap()
                    .ends_with(event["related_object"]["id"].as_str().unwrap())
            );
        }
    }

    #[test]
    fn a_rest_fixture_resigns_in_its_own_header_spelling() {
        let (_, mut rest) = committed_requests()
            .into_iter()
            .find(|(n, _)| n == "hooks/finalize_checkout_rest.json")
            .unwrap();
        assert_eq!(payload(&rest), Ok(Payload::V1));
        resign(&mut rest, &[TEST_HOOK_SECRET], 1_900_000_000).unwrap();
        let header = rest["headers"]["Stripe-Signature"].as_str().unwrap();
        assert_eq!(rest["multiValueHeaders"]["Stripe-Signature"][0], header);
        assert!(rest["headers"].get("stripe-signature").is_none());
        assert_eq!(
            rest["requestContext"]["requestTimeEpoch"],
            1_900_000_000_000i64
        );
        let verifier = Verifier::new(vec![Secret::new(TEST_HOOK_SECRET)], 300);
        assert!(
            verifier
                .verify(&body_bytes(&rest).unwrap(), Some(header), 1_900_000_000)
                .is_ok()
        );
    }

    #[test]
    fn refuses_what_is_not_an_api_gateway_request() {
        let mut v = serde_json::json!({"body": "{}"});
        assert!(resign(&mut v, &["whsec_x"], 1).is_err());
        let mut v = serde_json::json!({"version": "2.0", "body": "%%%", "isBase64Encoded": true, "headers": {}});
        assert_eq!(
            resign(&mut v, &["whsec_x"], 1),
            Err(FixtureError::BadBase64)
        );
    }
}

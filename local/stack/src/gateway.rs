//! The local API Gateway HTTP API: each request becomes the payload-2.0 event AWS would
//! build, goes to the function its route names (`template.yaml` `HttpApi` events), and the
//! function's answer goes back as the HTTP response.
//!
//! Routes behind the JWT authorizer get the token's claims in
//! `requestContext.authorizer.jwt.claims`, as API Gateway puts them. Locally the token's
//! issuer, audience and expiry are checked, but not its signature: there is no identity
//! provider to fetch keys from.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde_json::{Value, json};

use crate::runtime::LocalFunction;
use crate::template::Route;

pub struct JwtSettings {
    pub issuer: String,
    pub audiences: Vec<String>,
}

struct Routes {
    routes: Vec<(Route, LocalFunction)>,
    jwt: JwtSettings,
    log_requests: bool,
}

fn api_error(status: StatusCode, message: &str) -> Response {
    (
        status,
        [("content-type", "application/json")],
        json!({"message": message}).to_string(),
    )
        .into_response()
}

/// Serves the routes on `addr` until the process ends; with `log_requests`, prints a line
/// per request (method, path, status, function, time).
pub async fn serve(
    addr: SocketAddr,
    routes: Vec<(Route, LocalFunction)>,
    jwt: JwtSettings,
    log_requests: bool,
) -> std::io::Result<SocketAddr> {
    let state = Arc::new(Routes {
        routes,
        jwt,
        log_requests,
    });
    let app = axum::Router::new().fallback(handle).with_state(state);
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok(bound)
}

async fn handle(State(state): State<Arc<Routes>>, request: Request) -> Response {
    let started = Instant::now();
    let (parts, body) = request.into_parts();
    let method = parts.method.as_str().to_string();
    let path = parts.uri.path().to_string();
    let Some((route, function)) = state
        .routes
        .iter()
        .find(|(r, _)| r.path == path && (r.method == method || r.method == "ANY"))
    else {
        return api_error(StatusCode::NOT_FOUND, "Not Found");
    };
    // API Gateway's payload limit.
    let Ok(bytes): Result<Bytes, _> = axum::body::to_bytes(body, 10 * 1024 * 1024).await else {
        return api_error(StatusCode::PAYLOAD_TOO_LARGE, "Request Entity Too Large");
    };
    let event = sample_events::aws::http_api_request_from(&parts, &bytes);
    let mut event = serde_json::to_value(event).unwrap_or(Value::Null);
    if route.jwt {
        let token = parts
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .map(|v| v.strip_prefix("Bearer ").unwrap_or(v).trim().to_string());
        match token.as_deref().map(|t| claims(t, &state.jwt)) {
            Some(Ok(claims)) => {
                event["requestContext"]["authorizer"] =
                    json!({"jwt": {"claims": claims, "scopes": null}});
            }
            _ => return api_error(StatusCode::UNAUTHORIZED, "Unauthorized"),
        }
    }
    let answer = function.invoke(&event).await;
    let response = match answer {
        Ok(answer) => to_response(&answer),
        Err(e) => {
            eprintln!("  ! {method} {path}: {}: {e}", function.name());
            api_error(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error")
        }
    };
    if state.log_requests {
        println!(
            "    {method} {path} -> {} ({}, {} ms)",
            response.status().as_u16(),
            function.name(),
            started.elapsed().as_millis()
        );
    }
    response
}

/// The payload-2.0 answer as HTTP; an answer that is not one is API Gateway's 500.
fn to_response(answer: &Value) -> Response {
    let Some(status) = answer
        .get("statusCode")
        .and_then(Value::as_u64)
        .and_then(|s| StatusCode::from_u16(s as u16).ok())
    else {
        return api_error(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error");
    };
    let text = answer.get("body").and_then(Value::as_str).unwrap_or("");
    let body = if answer.get("isBase64Encoded").and_then(Value::as_bool) == Some(true) {
        base64::engine::general_purpose::STANDARD
            .decode(text)
            .unwrap_or_default()
    } else {
        text.as_bytes().to_vec()
    };
    let mut response = (status, body).into_response();
    if let Some(headers) = answer.get("headers").and_then(Value::as_object) {
        for (name, value) in headers {
            if let (Ok(name), Some(Ok(value))) = (
                HeaderName::from_bytes(name.as_bytes()),
                value.as_str().map(HeaderValue::from_str),
            ) {
                response.headers_mut().insert(name, value);
            }
        }
    }
    response
}

/// The claims of an unexpired token from the configured issuer for one of the audiences,
/// as API Gateway passes them: every value a string.
fn claims(token: &str, settings: &JwtSettings) -> Result<serde_json::Map<String, Value>, String> {
    let payload = token.split('.').nth(1).ok_or("not a JWT")?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .map_err(|_| "the payload is not base64url")?;
    let claims: serde_json::Map<String, Value> =
        serde_json::from_slice(&bytes).map_err(|_| "the payload is not a JSON object")?;
    if claims.get("iss").and_then(Value::as_str) != Some(settings.issuer.as_str()) {
        return Err("wrong issuer".into());
    }
    let audiences: Vec<&str> = match claims.get("aud").or_else(|| claims.get("client_id")) {
        Some(Value::String(a)) => vec![a.as_str()],
        Some(Value::Array(list)) => list.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    if !audiences
        .iter()
        .any(|a| settings.audiences.iter().any(|b| b == a))
    {
        return Err("wrong audience".into());
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    if claims
        .get("exp")
        .and_then(Value::as_i64)
        .is_none_or(|exp| exp <= now)
    {
        return Err("expired".into());
    }
    Ok(claims
        .into_iter()
        .map(|(k, v)| {
            let text = match v {
                Value::String(s) => s,
                Value::Array(items) => format!(
                    "[{}]",
                    items
                        .iter()
                        .map(|i| i
                            .as_str()
                            .map(str::to_string)
                            .unwrap_or_else(|| i.to_string()))
                        .collect::<Vec<_>>()
                        .join(" ")
                ),
                other => other.to_string(),
            };
            (k, Value::String(text))
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(claims: Value) -> String {
        let encode = |v: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v);
        format!(
            "{}.{}.sig",
            encode(br#"{"alg":"none"}"#),
            encode(claims.to_string().as_bytes())
        )
    }

    fn settings() -> JwtSettings {
        JwtSettings {
            issuer: "https://issuer/".into(),
            audiences: vec!["app".into()],
        }
    }

    #[test]
    fn claims_pass_as_strings_only_for_the_right_issuer_audience_and_time() {
        let good = json!({"iss": "https://issuer/", "aud": "app", "exp": 4_000_000_000i64, "custom:stripe_account": "acct_1", "groups": ["a", "b"]});
        let claims = claims(&token(good.clone()), &settings()).unwrap();
        assert_eq!(claims["custom:stripe_account"], "acct_1");
        assert_eq!(claims["exp"], "4000000000");
        assert_eq!(claims["groups"], "[a b]");
        for (field, value) in [
            ("iss", json!("https://other/")),
            ("aud", json!("other")),
            ("exp", json!(1)),
        ] {
            let mut bad = good.clone();
            bad[field] = value;
            assert!(super::claims(&token(bad), &settings()).is_err(), "{field}");
        }
        assert!(super::claims("garbage", &settings()).is_err());
    }

    #[test]
    fn function_answers_become_http_responses() {
        let response = to_response(
            &json!({"statusCode": 400, "headers": {"content-type": "application/json"}, "body": "{}", "isBase64Encoded": false}),
        );
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        assert_eq!(response.headers()["content-type"], "application/json");
        assert_eq!(
            to_response(&json!({"nope": 1})).status(),
            StatusCode::INTERNAL_SERVER_ERROR
        );
    }
}

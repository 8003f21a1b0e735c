//! The account-session function's own checks, without emulators: the required scope (from
//! either authorizer), the `no-store` answers and their metrics, the scope setting.

use account_session::{check_scope, record, required_scope, respond};
use lambda_http::Request;
use serde_json::{Value, json};
use shared::config::Env;
use shared::endpoint::HttpAnswer;
use shared::metrics::Metrics;

/// An HTTP API (payload 2.0) request after the JWT authorizer, with these claims and scopes.
fn http_api(claims: Value, scopes: Value) -> Request {
    let mut event = serde_json::to_value(sample_events::aws::http_api_request(
        "POST",
        "/account_sessions",
        "",
        &[],
        b"{}",
    ))
    .unwrap();
    event["requestContext"]["authorizer"] = json!({"jwt": {"claims": claims, "scopes": scopes}});
    testkit::lambda_request(&event)
}

/// A REST API (payload 1.0) request after a Cognito authorizer, with these claims.
fn rest_api(claims: Value) -> Request {
    let mut event = serde_json::to_value(sample_events::aws::rest_api_request(
        "POST",
        "/account_sessions",
        &[],
        b"{}",
    ))
    .unwrap();
    event["requestContext"]["authorizer"] = json!({"claims": claims});
    testkit::lambda_request(&event)
}

const SCOPE: &str = "agentic-commerce/settings";

#[test]
fn no_required_scope_lets_every_verified_token_through() {
    assert!(check_scope(None, &http_api(json!({"sub": "u"}), Value::Null)).is_ok());
}

#[test]
fn the_required_scope_is_read_from_the_authorizer_or_the_scope_claims() {
    let granted = [
        http_api(json!({"sub": "u"}), json!(["openid", SCOPE])),
        http_api(json!({"scope": format!("openid {SCOPE}")}), Value::Null),
        http_api(json!({"scp": format!("[openid {SCOPE}]")}), Value::Null),
        http_api(
            json!({"scp": format!("[\"openid\",\"{SCOPE}\"]")}),
            Value::Null,
        ),
        rest_api(json!({"scope": SCOPE})),
    ];
    for (i, request) in granted.iter().enumerate() {
        assert!(check_scope(Some(SCOPE), request).is_ok(), "request {i}");
    }
}

#[test]
fn a_token_without_the_scope_gets_a_403_json_error_that_is_not_stored() {
    let refused = [
        http_api(json!({"sub": "u"}), Value::Null),
        http_api(
            json!({"scope": "openid agentic-commerce/settings.read"}),
            json!(["openid"]),
        ),
        rest_api(json!({"scope": "openid"})),
    ];
    let (metrics, recorded) = Metrics::recording("account-session");
    for (i, request) in refused.iter().enumerate() {
        let answer = check_scope(Some(SCOPE), request).unwrap_err();
        record(&metrics, &answer);
        let response = respond(answer);
        assert_eq!(response.status(), 403, "request {i}");
        assert_eq!(response.headers()["cache-control"], "no-store");
        assert_eq!(response.headers()["content-type"], "application/json");
        let body: Value = serde_json::from_str(response.body()).unwrap();
        assert_eq!(body["error"]["type"], "insufficient_scope", "request {i}");
        assert!(
            body["error"]["message"].as_str().unwrap().contains(SCOPE),
            "{body}"
        );
    }
    assert_eq!(
        recorded.sum("AccountSessionRejected", &[("Error", "insufficient_scope")]),
        3.0,
        "each refusal is counted for the operator"
    );
    assert_eq!(recorded.sum("AccountSessionsCreated", &[]), 0.0);
}

#[test]
fn a_client_secret_is_answered_with_no_store() {
    let response = respond(HttpAnswer::ok(json!({
        "account": "acct_1Known",
        "client_secret": "accs_secret_abc",
        "expires_at": 1
    })));
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
}

#[test]
fn the_scope_setting_is_one_scope_or_none() {
    let env = |v: &'static str| Env::from_map([("ACCOUNT_SESSION_SCOPE", v)]);
    assert_eq!(required_scope(&env("")).unwrap(), None);
    assert_eq!(required_scope(&env(SCOPE)).unwrap().as_deref(), Some(SCOPE));
    let err = required_scope(&env("a b")).unwrap_err();
    assert!(err.to_string().contains("ACCOUNT_SESSION_SCOPE"), "{err}");
}

use crate::common::{ACCT, Env, body};
use serde_json::json;
use std::time::Duration;

#[tokio::test]
async fn server_errors_for_the_next_n_requests_then_recovery() {
    let env = Env::start().await;
    let purchase = env.purchase(json!({})).await;
    let id = purchase["checkout_session"]["id"]
        .as_str()
        .expect("id")
        .to_string();
    let path = format!("/v1/checkout/sessions/{id}");
    let fault = env
        .control("/_sim/faults", json!({"path_prefix": "/v1/checkout/sessions", "method": "GET", "status": 500, "count": 2, "should_retry": true}))
        .await;
    assert_eq!(fault["remaining"], 2);
    for _ in 0..2 {
        let (status, headers, v) =
            body(env.get(&path, Some(ACCT)).send().await.expect("send")).await;
        assert_eq!(status, 500);
        assert_eq!(v["error"]["type"], "api_error");
        assert_eq!(
            headers
                .get("stripe-should-retry")
                .and_then(|h| h.to_str().ok()),
            Some("true")
        );
        assert!(headers.contains_key("request-id"));
    }
    let (status, _, _) = body(env.get(&path, Some(ACCT)).send().await.expect("send")).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn rate_limits_match_prefix_and_method_only() {
    let env = Env::start().await;
    let purchase = env.purchase(json!({})).await;
    let charge = purchase["checkout_session"]["payment_intent"]["latest_charge"]["id"]
        .as_str()
        .expect("ch")
        .to_string();
    env.control("/_sim/faults", json!({"path_prefix": "/v1/refunds", "method": "POST", "status": 429, "should_retry": false, "retry_after": 2})).await;

    // A GET elsewhere is untouched and does not use up the fault.
    let (status, _, _) = body(
        env.get(&format!("/v1/charges/{charge}"), Some(ACCT))
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(status, 200);

    let (status, headers, v) = body(
        env.post("/v1/refunds", Some(ACCT))
            .form(&[("charge", charge.as_str())])
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(status, 429);
    assert_eq!(v["error"]["type"], "invalid_request_error");
    assert_eq!(v["error"]["code"], "rate_limit");
    assert_eq!(
        headers.get("retry-after").and_then(|h| h.to_str().ok()),
        Some("2")
    );
    assert_eq!(
        headers
            .get("stripe-should-retry")
            .and_then(|h| h.to_str().ok()),
        Some("false")
    );
    let (status, _, _) = body(
        env.post("/v1/refunds", Some(ACCT))
            .form(&[("charge", charge.as_str())])
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn delays_make_clients_time_out() {
    let env = Env::start().await;
    env.control(
        "/_sim/faults",
        json!({"path_prefix": "/v1/charges", "delay_ms": 1500}),
    )
    .await;
    let result = env
        .get("/v1/charges/ch_1", None)
        .timeout(Duration::from_millis(200))
        .send()
        .await;
    assert!(result.is_err_and(|e| e.is_timeout()));
    // Used up: the next request answers at once (404, since the charge does not exist).
    let resp = env
        .get("/v1/charges/ch_1", None)
        .timeout(Duration::from_millis(1000))
        .send()
        .await
        .expect("fast");
    assert_eq!(resp.status().as_u16(), 404);
}

#[tokio::test]
async fn clearing_and_validation() {
    let env = Env::start().await;
    env.control(
        "/_sim/faults",
        json!({"path_prefix": "/v1", "status": 503, "count": 100}),
    )
    .await;
    let listed: serde_json::Value = env
        .http
        .get(env.url("/_sim/faults"))
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("json");
    assert_eq!(listed.as_array().map(Vec::len), Some(1));
    let resp = env
        .http
        .delete(env.url("/_sim/faults"))
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status().as_u16(), 200);
    let resp = env
        .get("/v1/charges/ch_1", None)
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status().as_u16(), 404);

    let (status, v) = env
        .control_raw("/_sim/faults", json!({"path_prefix": "/v1", "status": 200}))
        .await;
    assert_eq!(status, 400);
    assert_eq!(v["error"]["type"], "invalid_request_error");
    let (status, _) = env
        .control_raw(
            "/_sim/faults",
            json!({"path_prefix": "/v1", "status": 500, "bogus": 1}),
        )
        .await;
    assert_eq!(status, 400);
}

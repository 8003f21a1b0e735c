use crate::common::{ACCT, Env};
use serde_json::{Value, json};

async fn charge_of(env: &Env) -> String {
    let purchase = env.purchase(json!({})).await;
    purchase["checkout_session"]["payment_intent"]["latest_charge"]["id"]
        .as_str()
        .expect("charge")
        .to_string()
}

async fn refunded(env: &Env, charge: &str) -> i64 {
    let resp = env
        .get(&format!("/v1/charges/{charge}"), Some(ACCT))
        .send()
        .await
        .expect("send");
    let v: Value = resp.json().await.expect("json");
    v["amount_refunded"].as_i64().unwrap_or(-1)
}

#[tokio::test]
async fn same_key_replays_the_first_response_byte_for_byte() {
    let env = Env::start().await;
    let charge = charge_of(&env).await;
    let send = |form: Vec<(&'static str, String)>| {
        env.post("/v1/refunds", Some(ACCT))
            .header("Idempotency-Key", "refund-1")
            .form(&form)
            .send()
    };
    let first = send(vec![
        ("charge", charge.clone()),
        ("amount", "500".into()),
        ("metadata[a]", "1".into()),
    ])
    .await
    .expect("send");
    assert_eq!(first.status().as_u16(), 200);
    let first_id = first
        .headers()
        .get("request-id")
        .cloned()
        .expect("request id");
    assert!(first.headers().get("idempotent-replayed").is_none());
    let first_body = first.bytes().await.expect("body");

    // Same parameters in another order are the same request.
    let second = send(vec![
        ("metadata[a]", "1".into()),
        ("amount", "500".into()),
        ("charge", charge.clone()),
    ])
    .await
    .expect("send");
    assert_eq!(second.status().as_u16(), 200);
    assert_eq!(
        second
            .headers()
            .get("idempotent-replayed")
            .and_then(|v| v.to_str().ok()),
        Some("true")
    );
    assert_eq!(second.headers().get("original-request"), Some(&first_id));
    assert_ne!(second.headers().get("request-id"), Some(&first_id));
    assert_eq!(second.bytes().await.expect("body"), first_body);
    assert_eq!(refunded(&env, &charge).await, 500, "the refund ran once");

    let third = send(vec![("charge", charge.clone()), ("amount", "600".into())])
        .await
        .expect("send");
    assert_eq!(third.status().as_u16(), 400);
    let v: Value = third.json().await.expect("json");
    assert_eq!(v["error"]["type"], "idempotency_error");
    assert!(v["error"]["message"].as_str().unwrap_or("").starts_with(
        "Keys for idempotent requests can only be used with the same parameters they were first used with."
    ));
    assert_eq!(refunded(&env, &charge).await, 500);
}

#[tokio::test]
async fn keys_are_scoped_per_account_and_endpoint() {
    let env = Env::start().await;
    let charge = charge_of(&env).await;
    let other = env.purchase(json!({"account": "acct_1Other"})).await;
    let other_charge = other["checkout_session"]["payment_intent"]["latest_charge"]["id"]
        .as_str()
        .expect("ch")
        .to_string();

    let resp = env
        .post("/v1/refunds", Some(ACCT))
        .header("Idempotency-Key", "k")
        .form(&[("charge", charge.as_str()), ("amount", "100")])
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status().as_u16(), 200);
    let resp = env
        .post("/v1/refunds", Some("acct_1Other"))
        .header("Idempotency-Key", "k")
        .form(&[("charge", other_charge.as_str()), ("amount", "100")])
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status().as_u16(), 200);
    assert!(resp.headers().get("idempotent-replayed").is_none());

    let pi = other["checkout_session"]["payment_intent"]["id"]
        .as_str()
        .expect("pi");
    let resp = env
        .post(&format!("/v1/payment_intents/{pi}/capture"), Some(ACCT))
        .header("Idempotency-Key", "k")
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status().as_u16(), 400);
    let v: Value = resp.json().await.expect("json");
    assert_eq!(v["error"]["type"], "idempotency_error");
}

#[tokio::test]
async fn errors_from_execution_are_replayed_but_validation_errors_are_not() {
    let env = Env::start().await;
    let charge = charge_of(&env).await;
    let too_much = [("charge", charge.as_str()), ("amount", "999999")];
    for _ in 0..2 {
        let resp = env
            .post("/v1/refunds", Some(ACCT))
            .header("Idempotency-Key", "big")
            .form(&too_much)
            .send()
            .await
            .expect("send");
        assert_eq!(resp.status().as_u16(), 400);
    }
    let resp = env
        .post("/v1/refunds", Some(ACCT))
        .header("Idempotency-Key", "big")
        .form(&too_much)
        .send()
        .await
        .expect("send");
    assert_eq!(
        resp.headers()
            .get("idempotent-replayed")
            .and_then(|v| v.to_str().ok()),
        Some("true")
    );

    // An unknown parameter fails before execution: the key stays free for a corrected retry.
    let resp = env
        .post("/v1/refunds", Some(ACCT))
        .header("Idempotency-Key", "typo")
        .form(&[("charge", charge.as_str()), ("amout", "5")])
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status().as_u16(), 400);
    let resp = env
        .post("/v1/refunds", Some(ACCT))
        .header("Idempotency-Key", "typo")
        .form(&[("charge", charge.as_str()), ("amount", "5")])
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status().as_u16(), 200);
    assert!(resp.headers().get("idempotent-replayed").is_none());
}

#[tokio::test]
async fn injected_failures_are_not_saved_so_retries_run() {
    let env = Env::start().await;
    let charge = charge_of(&env).await;
    for status in [500, 429] {
        env.control(
            "/_sim/faults",
            json!({"path_prefix": "/v1/refunds", "method": "POST", "status": status}),
        )
        .await;
        let form = [("charge", charge.as_str()), ("amount", "100")];
        let key = format!("retry-{status}");
        let resp = env
            .post("/v1/refunds", Some(ACCT))
            .header("Idempotency-Key", &key)
            .form(&form)
            .send()
            .await
            .expect("send");
        assert_eq!(resp.status().as_u16(), status);
        let resp = env
            .post("/v1/refunds", Some(ACCT))
            .header("Idempotency-Key", &key)
            .form(&form)
            .send()
            .await
            .expect("send");
        assert_eq!(resp.status().as_u16(), 200);
        assert!(resp.headers().get("idempotent-replayed").is_none());
    }
    assert_eq!(refunded(&env, &charge).await, 200);
}

#[tokio::test]
async fn overlong_keys_are_rejected() {
    let env = Env::start().await;
    let charge = charge_of(&env).await;
    let resp = env
        .post("/v1/refunds", Some(ACCT))
        .header("Idempotency-Key", "k".repeat(256))
        .form(&[("charge", charge.as_str())])
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status().as_u16(), 400);
    let v: Value = resp.json().await.expect("json");
    assert_eq!(v["error"]["type"], "invalid_request_error");
    assert_eq!(refunded(&env, &charge).await, 0);
    let resp = env
        .post("/v1/refunds", Some(ACCT))
        .header("Idempotency-Key", "k".repeat(255))
        .form(&[("charge", charge.as_str())])
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status().as_u16(), 200);
}

#[tokio::test]
async fn lost_responses_are_recovered_by_retrying_with_the_same_key() {
    let env = Env::start().await;
    let charge = charge_of(&env).await;
    env.control(
        "/_sim/faults",
        json!({"path_prefix": "/v1/refunds", "method": "POST", "status": 500, "after_processing": true}),
    )
    .await;
    let form = [("charge", charge.as_str()), ("amount", "700")];
    let resp = env
        .post("/v1/refunds", Some(ACCT))
        .header("Idempotency-Key", "lost-1")
        .form(&form)
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status().as_u16(), 500);
    assert_eq!(
        refunded(&env, &charge).await,
        700,
        "the request ran although the client saw a 500"
    );

    let resp = env
        .post("/v1/refunds", Some(ACCT))
        .header("Idempotency-Key", "lost-1")
        .form(&form)
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(
        resp.headers()
            .get("idempotent-replayed")
            .and_then(|v| v.to_str().ok()),
        Some("true")
    );
    let v: Value = resp.json().await.expect("json");
    assert_eq!(v["amount"], 700);
    assert_eq!(
        refunded(&env, &charge).await,
        700,
        "the retry did not refund again"
    );
}

//! `POST /account_sessions`: the account comes from the verified token's claim, never the
//! body; a known merchant gets a client_secret from Stripe (stripe-sim), others 403.

use serde_json::json;
use shared::config::Env;
use shared::merchants::Merchant;
use shared::store::MerchantAdmin;
use shared::store::dynamo::DynamoMerchants;
use stripe_sim::SimConfig;

/// The HTTP API (payload 2.0) request after its JWT authorizer verified a token with `claims`.
fn request(claims: serde_json::Value, body: &str) -> lambda_http::Request {
    let mut event = serde_json::to_value(sample_events::aws::http_api_request(
        "POST",
        "/account_sessions",
        "",
        &[],
        body.as_bytes(),
    ))
    .unwrap();
    event["requestContext"]["authorizer"] = json!({"jwt": {"claims": claims, "scopes": null}});
    testkit::lambda_request(&event)
}

/// The REST API (payload 1.0) request after a Cognito user-pool authorizer verified a
/// token with `claims`.
fn rest_request(claims: serde_json::Value, body: &str) -> lambda_http::Request {
    let mut event = serde_json::to_value(sample_events::aws::rest_api_request(
        "POST",
        "/account_sessions",
        &[],
        body.as_bytes(),
    ))
    .unwrap();
    event["requestContext"]["authorizer"] = json!({"claims": claims});
    testkit::lambda_request(&event)
}

fn body(response: &http::Response<String>) -> serde_json::Value {
    testkit::answer(response).1
}

#[tokio::test]
async fn known_merchants_get_a_client_secret_and_others_403() {
    let dynamo = testkit::dynamo().await;
    let table = testkit::fresh_table(&dynamo, testkit::MERCHANTS).await;
    DynamoMerchants::new(dynamo.clone(), &table)
        .put_merchant(&Merchant::new("acct_1Known"))
        .await
        .unwrap();
    let sim = stripe_sim::start(SimConfig::default(), 0).await.unwrap();
    let function = account_session::init(Env::from_map([
        ("STRIPE_SECRET_KEY", "sk_test_sim".to_string()),
        ("STRIPE_API_BASE", sim.base_url()),
        ("MERCHANTS_TABLE", table),
        ("ACCOUNT_CLAIM", "custom:stripe_account".to_string()),
        (
            "DYNAMODB_ENDPOINT",
            std::env::var("DYNAMODB_ENDPOINT").unwrap(),
        ),
    ]))
    .await
    .unwrap();

    // The body names another account: it is ignored, the claim decides.
    let response = account_session::handle(
        &function,
        &request(
            json!({"sub": "user-1", "custom:stripe_account": "acct_1Known"}),
            r#"{"account":"acct_1Other"}"#,
        ),
    )
    .await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["cache-control"],
        "no-store",
        "a client secret is never cached"
    );
    let answer = body(&response);
    assert_eq!(answer["account"], "acct_1Known");
    assert!(
        answer["client_secret"]
            .as_str()
            .is_some_and(|s| s.starts_with("accs_secret_")),
        "{answer}"
    );

    for (name, claims) in [
        (
            "unknown merchant",
            json!({"custom:stripe_account": "acct_1Stranger"}),
        ),
        ("no claim", json!({"sub": "user-1"})),
        (
            "not an account id",
            json!({"custom:stripe_account": "acct_../x"}),
        ),
    ] {
        let response = account_session::handle(&function, &request(claims, "{}")).await;
        assert_eq!(response.status(), 403, "{name}");
        assert!(body(&response)["error"]["message"].is_string(), "{name}");
    }

    // Behind a REST API with a Cognito authorizer the claims arrive in payload 1.0's
    // shape; the same claim decides.
    let claims = json!({"sub": "user-1", "custom:stripe_account": "acct_1Known"});
    let response = account_session::handle(&function, &rest_request(claims, "{}")).await;
    assert_eq!(response.status(), 200);
    assert_eq!(body(&response)["account"], "acct_1Known");
    let stranger = json!({"custom:stripe_account": "acct_1Stranger"});
    let response = account_session::handle(&function, &rest_request(stranger, "{}")).await;
    assert_eq!(response.status(), 403);
    // A request that came through no authorizer has no claims: refused.
    let bare = http::Request::builder()
        .method("POST")
        .uri("/account_sessions")
        .body(lambda_http::Body::Empty)
        .unwrap();
    assert_eq!(
        account_session::handle(&function, &bare).await.status(),
        403
    );
}

#[tokio::test]
async fn a_required_scope_is_checked_before_anything_else() {
    let dynamo = testkit::dynamo().await;
    let table = testkit::fresh_table(&dynamo, testkit::MERCHANTS).await;
    DynamoMerchants::new(dynamo.clone(), &table)
        .put_merchant(&Merchant::new("acct_1Known"))
        .await
        .unwrap();
    let sim = stripe_sim::start(SimConfig::default(), 0).await.unwrap();
    let function = account_session::init(Env::from_map([
        ("STRIPE_SECRET_KEY", "sk_test_sim".to_string()),
        ("STRIPE_API_BASE", sim.base_url()),
        ("MERCHANTS_TABLE", table),
        ("ACCOUNT_CLAIM", "custom:stripe_account".to_string()),
        (
            "ACCOUNT_SESSION_SCOPE",
            "agentic-commerce/settings".to_string(),
        ),
        (
            "DYNAMODB_ENDPOINT",
            std::env::var("DYNAMODB_ENDPOINT").unwrap(),
        ),
    ]))
    .await
    .unwrap();
    let claims = json!({"custom:stripe_account": "acct_1Known", "scope": "openid"});
    let response = account_session::handle(&function, &request(claims, "{}")).await;
    assert_eq!(response.status(), 403);
    assert_eq!(response.headers()["cache-control"], "no-store");
    assert_eq!(body(&response)["error"]["type"], "insufficient_scope");
    let claims = json!({"custom:stripe_account": "acct_1Known", "scope": "openid agentic-commerce/settings"});
    let response = account_session::handle(&function, &request(claims, "{}")).await;
    assert_eq!(response.status(), 200, "{}", response.body());
    assert_eq!(response.headers()["cache-control"], "no-store");
}

/// The committed sample request carries its claims where API Gateway's JWT authorizer puts
/// them, and the handler reads them from lambda_http's request context.
#[test]
fn the_sample_request_names_its_account_in_the_verified_claims() {
    let request = testkit::lambda_request(&testkit::fixture("account_sessions/create.json"));
    let claims = account_session::verified_claims(&request);
    assert_eq!(
        claims.get("custom:stripe_account").map(String::as_str),
        Some("acct_1FixtureMerchant")
    );
    assert_eq!(claims.get("sub").map(String::as_str), Some("user-1"));
}

//! `POST /account_sessions`: the account comes from the verified token's claim, never the
//! body; a known merchant gets a client_secret from Stripe (stripe-sim), others 403.

use serde_json::json;
use shared::config::Env;
use shared::merchants::Merchant;
use shared::store::dynamo::DynamoMerchants;
use shared::store::{MerchantAdmin, schema};
use stripe_sim::SimConfig;

fn request(
    claims: serde_json::Value,
    body: &str,
) -> aws_lambda_events::apigw::ApiGatewayV2httpRequest {
    let mut event = serde_json::to_value(shared::aws_events::api_gateway_request(
        "POST",
        "/account_sessions",
        "",
        &[],
        body.as_bytes(),
    ))
    .unwrap();
    event["requestContext"]["authorizer"] = json!({"jwt": {"claims": claims, "scopes": null}});
    serde_json::from_value(event).unwrap()
}

fn body(response: &aws_lambda_events::apigw::ApiGatewayV2httpResponse) -> serde_json::Value {
    match &response.body {
        Some(aws_lambda_events::encodings::Body::Text(t)) => serde_json::from_str(t).unwrap(),
        _ => serde_json::Value::Null,
    }
}

#[tokio::test]
async fn known_merchants_get_a_client_secret_and_others_403() {
    let dynamo = testkit::dynamo().await;
    let table = testkit::fresh_table(&dynamo, &schema::MERCHANTS).await;
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
    assert_eq!(response.status_code, 200);
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
        assert_eq!(response.status_code, 403, "{name}");
        assert!(body(&response)["error"]["message"].is_string(), "{name}");
    }
}

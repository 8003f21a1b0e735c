//! The `webhooks` Lambda: Stripe's snapshot webhooks become order records.
//! `main.rs` builds [`App`] once per cold start; [`handle`] serves each request.

use aws_lambda_events::apigw::{ApiGatewayV2httpRequest, ApiGatewayV2httpResponse};
use shared::apigw;
use shared::clock::SystemClock;
use shared::config::{ConfigError, Env, WebhooksConfig};
use shared::signature::Verifier;
use shared::store::dynamo::{self, DynamoIdempotency, DynamoOrders};
use shared::stripe::checkout::StripeCheckoutSessions;
use shared::stripe::{StripeClient, StripeError};
use shared::webhooks::{HttpAnswer, SnapshotWebhooks};

pub type App =
    SnapshotWebhooks<DynamoOrders, DynamoIdempotency, StripeCheckoutSessions, SystemClock>;

#[derive(Debug, thiserror::Error)]
pub enum InitError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("stripe client: {0}")]
    Stripe(#[from] StripeError),
}

/// Clients are built here once and warmed, so the first delivery pays no handshake.
pub async fn build(env: &Env) -> Result<App, InitError> {
    let config = WebhooksConfig::from_env(env)?;
    let dynamo_client = dynamo::client(&config.dynamo).await;
    let stripe = StripeClient::new(&config.stripe)?;
    tokio::join!(
        stripe.warm_up(),
        dynamo::warm_up(&dynamo_client, &config.orders_table)
    );
    Ok(SnapshotWebhooks {
        verifier: Verifier::new(config.webhook_secrets.clone(), config.tolerance_seconds),
        livemode: config.stripe.livemode,
        orders: DynamoOrders::new(dynamo_client.clone(), &config.orders_table),
        idempotency: DynamoIdempotency::new(
            dynamo_client,
            &config.idempotency_table,
            config.idempotency.ttl_seconds,
            config.idempotency.in_progress_seconds,
        ),
        stripe: StripeCheckoutSessions::new(stripe, &config.stripe.orders_api_version),
        clock: SystemClock,
    })
}

pub async fn handle(app: &App, request: &ApiGatewayV2httpRequest) -> ApiGatewayV2httpResponse {
    let answer = route(app, request).await;
    apigw::response(&answer)
}

async fn route(app: &App, request: &ApiGatewayV2httpRequest) -> HttpAnswer {
    let path = apigw::path(request);
    if !path.ends_with("/stripe/webhooks") {
        return HttpAnswer::error(404, "not_found", format!("no route for {path}"));
    }
    if request.request_context.http.method != http::Method::POST {
        return HttpAnswer::error(405, "method_not_allowed", "use POST");
    }
    let body = match apigw::raw_body(request) {
        Ok(body) => body,
        Err(answer) => return answer,
    };
    app.receive(&body, apigw::header(request, "stripe-signature"))
        .await
}

//! The `webhooks` Lambda: Stripe's snapshot webhooks become order records.
//!
//! [`init`] runs once per cold start: it checks the configuration (a bad setting stops the
//! start with its name), builds the DynamoDB and HTTP clients and warms their connections.
//! Secrets are read at init when they are plain variables (local), and on the first
//! invocation when they come from Secrets Manager: the Parameters and Secrets extension
//! is not guaranteed to answer before the function's init has finished.

use shared::clock::SystemClock;
use shared::config::secret_names;
use shared::config::{BuiltWithSecrets, ConfigError, Env, WebhooksConfig, WebhooksSecrets};
use shared::endpoint::{self, HttpAnswer};
use shared::event_bus::{DeployedOrderEvents, OrderEventsConfig};
use shared::metrics::Metrics;
use shared::signature::Verifier;
use shared::store::dynamo::{
    self, DynamoAgreements, DynamoCatalog, DynamoDeadLetters, DynamoIdempotency, DynamoOrders,
};
use shared::stripe::agreements::StripeAgreements;
use shared::stripe::checkout::StripeCheckoutSessions;
use shared::stripe::{self as stripe, StripeClient, StripeError};
use shared::thin_events::ThinEvents;
use shared::uploader::Nudger;
use shared::webhooks::SnapshotWebhooks;

/// Import events only nudge the catalog uploader, through the bundle's event bus.
pub type Imports = Nudger;

pub type ThinApp = ThinEvents<
    DynamoAgreements,
    DynamoIdempotency,
    StripeAgreements,
    SystemClock,
    Option<Imports>,
    Option<DynamoDeadLetters>,
>;

pub type App = SnapshotWebhooks<
    DynamoOrders,
    DynamoIdempotency,
    StripeCheckoutSessions,
    SystemClock,
    Option<DynamoCatalog>,
    Option<Imports>,
    Option<DynamoDeadLetters>,
    Option<DeployedOrderEvents>,
>;

#[derive(Debug, thiserror::Error)]
pub enum InitError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("stripe client: {0}")]
    Stripe(#[from] StripeError),
}

/// Everything built at cold start; the [`App`] itself once the secrets are known.
pub struct Function {
    config: WebhooksConfig,
    dynamo: aws_sdk_dynamodb::Client,
    http: reqwest::Client,
    app: BuiltWithSecrets<App>,
    thin: BuiltWithSecrets<ThinApp>,
    /// Set with the event bus: import events then nudge the uploader at once (without
    /// one, its schedule's poll finishes them).
    nudger: Option<Nudger>,
    /// Set when ORDER_EVENT_BUS_NAME is: order changes go to the bundle's event bus.
    order_events: Option<DeployedOrderEvents>,
    metrics: Metrics,
}

pub async fn init(env: Env) -> Result<Function, InitError> {
    let config = WebhooksConfig::from_env(&env)?;
    let dynamo = dynamo::client(&config.dynamo).await;
    let http = stripe::http_client(&config.stripe)?;
    tokio::join!(
        stripe::warm_up(&http, &config.stripe),
        dynamo::warm_up(&dynamo, &config.orders_table)
    );
    let metrics = Metrics::emf(env.optional("METRICS_NAMESPACE").as_deref(), "webhooks");
    let order_events = match OrderEventsConfig::from_env(&env)? {
        Some(events) => Some(DeployedOrderEvents::build(&events, metrics.clone()).await),
        None => None,
    };
    let nudger = order_events.as_ref().map(Nudger::for_events);
    let function = Function {
        order_events,
        metrics,
        app: BuiltWithSecrets::new(env.clone()),
        thin: BuiltWithSecrets::new(env),
        config,
        dynamo,
        http,
        nudger,
    };
    if function.app.build_at_start() {
        function.app().await?;
    }
    Ok(function)
}

impl Function {
    /// The application, building it on first use (reading the secrets document if any).
    /// A failure is not cached: the next invocation tries again.
    pub async fn app(&self) -> Result<&App, InitError> {
        self.app
            .get(|env| async move {
                let secrets = WebhooksSecrets::from_env(&env, self.config.stripe.livemode)?;
                let client = StripeClient::new(
                    self.http.clone(),
                    &self.config.stripe,
                    secrets.stripe_secret_key,
                );
                let imports = self.nudger.clone();
                Ok::<_, InitError>(SnapshotWebhooks {
                    order_events: self.order_events.clone(),
                    imports,
                    dead_letters: self.dead_letters(),
                    verifier: Verifier::new(secrets.webhook_secrets, self.config.tolerance_seconds),
                    livemode: self.config.stripe.livemode,
                    orders: DynamoOrders::new(self.dynamo.clone(), &self.config.orders_table),
                    idempotency: DynamoIdempotency::new(
                        self.dynamo.clone(),
                        &self.config.idempotency_table,
                        self.config.idempotency.ttl_seconds,
                        self.config.idempotency.in_progress_seconds,
                    ),
                    stripe: StripeCheckoutSessions::new(
                        client,
                        &self.config.stripe.orders_api_version,
                    ),
                    clock: SystemClock,
                    stock: self
                        .config
                        .catalog_table
                        .as_ref()
                        .map(|t| DynamoCatalog::new(self.dynamo.clone(), t)),
                })
            })
            .await
    }
}

impl Function {
    fn dead_letters(&self) -> Option<DynamoDeadLetters> {
        self.config
            .dead_letters_table
            .as_ref()
            .map(|t| DynamoDeadLetters::new(self.dynamo.clone(), t))
    }

    /// The thin-event receiver, built on first use: it needs AGREEMENTS_TABLE and the
    /// thin-event destination's secret (STRIPE_THIN_EVENT_SECRETS).
    pub async fn thin(&self) -> Result<&ThinApp, InitError> {
        // Without an Agreements table there is nothing to receive into: say so before
        // reading any secret.
        let table = self
            .config
            .agreements_table
            .clone()
            .ok_or_else(|| ConfigError::Missing {
                name: "AGREEMENTS_TABLE".into(),
            })?;
        self.thin
            .get(|env| async move {
                let secrets = WebhooksSecrets::from_env(&env, self.config.stripe.livemode)?;
                let thin_secrets =
                    env.secret_list(secret_names::STRIPE_THIN_EVENT_SECRETS, "whsec_")?;
                let client = StripeClient::new(
                    self.http.clone(),
                    &self.config.stripe,
                    secrets.stripe_secret_key,
                );
                let imports = self.nudger.clone();
                Ok::<_, InitError>(ThinEvents {
                    dead_letters: self.dead_letters(),
                    imports,
                    verifier: Verifier::new(thin_secrets, self.config.tolerance_seconds),
                    livemode: self.config.stripe.livemode,
                    agreements: DynamoAgreements::new(self.dynamo.clone(), table),
                    idempotency: DynamoIdempotency::new(
                        self.dynamo.clone(),
                        &self.config.idempotency_table,
                        self.config.idempotency.ttl_seconds,
                        self.config.idempotency.in_progress_seconds,
                    ),
                    stripe: StripeAgreements::new(client, &self.config.agreements_api_version),
                    clock: SystemClock,
                })
            })
            .await
    }
}

/// Snapshot webhooks (v1 events) arrive here.
pub const WEBHOOKS_ROUTE: &str = "/stripe/webhooks";
/// Thin (v2) events arrive here, signed with their own destination's secret.
pub const EVENTS_ROUTE: &str = "/stripe/events";

/// Answers one HTTP request: a signed POST to either route, or a 404/405.
pub async fn handle<B: AsRef<[u8]>>(
    function: &Function,
    request: &http::Request<B>,
) -> http::Response<String> {
    let answer = route(function, request).await;
    shared::webhooks::record(&function.metrics, endpoint::path(request), &answer);
    answer.into_response()
}

async fn route<B: AsRef<[u8]>>(function: &Function, request: &http::Request<B>) -> HttpAnswer {
    let thin = endpoint::path(request).ends_with(EVENTS_ROUTE);
    let post =
        match endpoint::signed_post(request, if thin { EVENTS_ROUTE } else { WEBHOOKS_ROUTE }) {
            Ok(post) => post,
            Err(answer) => return answer,
        };
    if thin {
        return match function.thin().await {
            Ok(app) => app.receive(post.body, post.signature).await,
            Err(error) => {
                tracing::error!(error = %error, "thin events are not configured; answering 500");
                HttpAnswer::error(
                    500,
                    "configuration_error",
                    "the thin-event endpoint is not configured yet; see the function's logs",
                )
            }
        };
    }
    let app = match function.app().await {
        Ok(app) => app,
        Err(error) => {
            // Stripe redelivers on a 5xx, so nothing is lost while an operator fixes it.
            tracing::error!(error = %error, "the function is not configured; answering 500");
            return HttpAnswer::error(
                500,
                "configuration_error",
                "the webhook endpoint is not configured yet; see the function's logs",
            );
        }
    };
    app.receive(post.body, post.signature).await
}

//! The `order-reconciler` Lambda: on its schedule (every 15 minutes), one pass of
//! `shared::reconcile` over every registered merchant, within the invocation's time budget.
//!
//! Its own function, not a task of the catalog uploader's tick: it needs Orders writes,
//! the event bus and the dead-letter queue, which the uploader must not have, and none of
//! the uploader's S3 access; a slow Stripe list never delays a catalog tick (or the other
//! way round); and its reserved concurrency of 1 keeps two passes from overlapping.

use serde_json::Value;
use shared::clock::SystemClock;
use shared::config::stripe_secret_key;
use shared::config::{BuiltWithSecrets, ConfigError, DynamoSettings, Env, StripeSettings};
use shared::event_bus::{DeployedOrderEvents, OrderEventsConfig};
use shared::metrics::{Metrics, Unit};
use shared::reconcile::{ReconcileSettings, ReconcileSummary, Reconciler};
use shared::store::dynamo::{self, DynamoCatalog, DynamoOrders, DynamoReconcileProgress};
use shared::stripe::checkout::StripeCheckoutSessions;
use shared::stripe::{self as stripe, StripeClient, StripeError};

pub type App = Reconciler<
    DynamoOrders,
    StripeCheckoutSessions,
    Option<DynamoCatalog>,
    Option<DeployedOrderEvents>,
    DynamoReconcileProgress,
    SystemClock,
>;

#[derive(Debug, Clone)]
pub struct ReconcilerConfig {
    pub stripe: StripeSettings,
    pub orders_table: String,
    pub merchants_table: String,
    /// Where stock holds live; unset: no hold is converted.
    pub catalog_table: Option<String>,
    pub settings: ReconcileSettings,
    pub dynamo: DynamoSettings,
}

impl ReconcilerConfig {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let defaults = ReconcileSettings::default();
        let stripe = StripeSettings::from_env(env)?;
        let settings = ReconcileSettings {
            overlap_seconds: env
                .parsed_or("RECONCILE_OVERLAP_SECONDS", defaults.overlap_seconds)?,
            initial_lookback_seconds: env.parsed_or(
                "RECONCILE_INITIAL_LOOKBACK_SECONDS",
                defaults.initial_lookback_seconds,
            )?,
            concurrency: env.parsed_or("RECONCILE_CONCURRENCY", defaults.concurrency)?,
            livemode: stripe.livemode,
            ..defaults
        };
        for (name, value) in [
            ("RECONCILE_OVERLAP_SECONDS", settings.overlap_seconds),
            (
                "RECONCILE_INITIAL_LOOKBACK_SECONDS",
                settings.initial_lookback_seconds,
            ),
        ] {
            if value < 0 {
                return Err(ConfigError::Malformed {
                    name: name.into(),
                    reason: "must not be negative".into(),
                });
            }
        }
        if !(1..=32).contains(&settings.concurrency) {
            return Err(ConfigError::Malformed {
                name: "RECONCILE_CONCURRENCY".into(),
                reason: "between 1 and 32 (Stripe's read rate limit is shared)".into(),
            });
        }
        Ok(Self {
            stripe,
            orders_table: env.required("ORDERS_TABLE")?,
            merchants_table: env.required("MERCHANTS_TABLE")?,
            catalog_table: env.optional("CATALOG_TABLE"),
            settings,
            dynamo: DynamoSettings::from_env(env)?,
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum InitError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("stripe client: {0}")]
    Stripe(#[from] StripeError),
}

pub struct Function {
    config: ReconcilerConfig,
    dynamo: aws_sdk_dynamodb::Client,
    http: reqwest::Client,
    order_events: Option<DeployedOrderEvents>,
    app: BuiltWithSecrets<App>,
    metrics: Metrics,
}

/// Cold start: configuration checked, clients built and warmed; the Stripe key read now
/// when it is a plain variable, else on first use.
pub async fn init(env: Env) -> Result<Function, InitError> {
    let config = ReconcilerConfig::from_env(&env)?;
    let dynamo = dynamo::client(&config.dynamo).await;
    let http = stripe::http_client(&config.stripe)?;
    tokio::join!(
        stripe::warm_up(&http, &config.stripe),
        dynamo::warm_up(&dynamo, &config.orders_table)
    );
    let metrics = Metrics::emf(
        env.optional("METRICS_NAMESPACE").as_deref(),
        "order-reconciler",
    );
    let order_events = match OrderEventsConfig::from_env(&env)? {
        Some(events) => Some(DeployedOrderEvents::build(&events, metrics.clone()).await),
        None => None,
    };
    let function = Function {
        app: BuiltWithSecrets::new(env),
        config,
        dynamo,
        http,
        order_events,
        metrics,
    };
    if function.app.build_at_start() {
        function.app().await?;
    }
    Ok(function)
}

impl Function {
    pub async fn app(&self) -> Result<&App, InitError> {
        self.app
            .get(|env| async move {
                let key = stripe_secret_key(&env, self.config.stripe.livemode)?;
                let client = StripeClient::new(self.http.clone(), &self.config.stripe, key);
                Ok::<_, InitError>(Reconciler {
                    orders: DynamoOrders::new(self.dynamo.clone(), &self.config.orders_table),
                    stripe: StripeCheckoutSessions::new(
                        client,
                        &self.config.stripe.orders_api_version,
                    ),
                    stock: self
                        .config
                        .catalog_table
                        .as_ref()
                        .map(|t| DynamoCatalog::new(self.dynamo.clone(), t)),
                    events: self.order_events.clone(),
                    progress: DynamoReconcileProgress::new(
                        self.dynamo.clone(),
                        &self.config.merchants_table,
                    ),
                    clock: SystemClock,
                    metrics: self.metrics.clone(),
                    settings: self.config.settings.clone(),
                })
            })
            .await
    }
}

#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    #[error("not configured: {0}")]
    NotConfigured(String),
    #[error("retry: {0}")]
    Retry(String),
}

/// One pass. Any event runs it (the schedule's, or `{}` from an operator's invoke). A
/// merchant's failure is counted and resumed next pass, never failing the invocation; only
/// an unreadable Merchants table does (Lambda retries the event).
pub async fn handle(function: &Function, event: Value) -> Result<ReconcileSummary, HandlerError> {
    let app = function
        .app()
        .await
        .map_err(|e| HandlerError::NotConfigured(e.to_string()))?;
    if event.get("Records").is_some() {
        return Err(HandlerError::NotConfigured(
            "the reconciler runs on its schedule, not on records".into(),
        ));
    }
    let summary = app
        .run()
        .await
        .map_err(|e| HandlerError::Retry(e.to_string()))?;
    tracing::info!(summary = ?summary, "reconciliation pass");
    function.metrics.put(
        "MerchantsNotReached",
        Unit::Count,
        summary.not_reached as f64,
        &[],
    );
    Ok(summary)
}

//! Order events on AWS: the bundle's EventBridge bus, and an SQS dead-letter queue for the
//! events the bus did not take (see `crate::orders::events` for the events themselves).
//!
//! [`Durable`] puts the two together: publish to the bus; whatever the bus refuses (the call
//! failed, or `PutEvents` answered with failed entries) goes to the queue; only when the
//! queue refuses too does the publish fail, and the caller then fails retryably so the
//! change is published again (the webhooks answer 5xx and Stripe redelivers).

use std::time::Duration;

use aws_sdk_eventbridge::types::PutEventsRequestEntry;

use crate::config::{ConfigError, Env};
use crate::metrics::{Metrics, Unit};
use crate::orders::{OrderEvent, OrderEventSink, PublishError};

/// `PutEvents` takes at most 10 entries per call.
const PUT_EVENTS_BATCH: usize = 10;

/// A client's settings: the endpoint override is an emulator's (moto serves EventBridge and
/// SQS on one endpoint); every call has an attempt and an operation timeout.
async fn sdk_config(endpoint: Option<&str>) -> aws_config::SdkConfig {
    let timeouts = aws_config::timeout::TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(1))
        .operation_attempt_timeout(Duration::from_secs(2))
        .operation_timeout(Duration::from_secs(5))
        .build();
    let mut loader =
        aws_config::defaults(aws_config::BehaviorVersion::latest()).timeout_config(timeouts);
    if let Some(endpoint) = endpoint {
        loader = loader.endpoint_url(endpoint);
    }
    loader.load().await
}

/// The bundle's event bus.
#[derive(Debug, Clone)]
pub struct EventBridgeOrderEvents {
    client: aws_sdk_eventbridge::Client,
    bus_name: String,
    source: String,
}

impl EventBridgeOrderEvents {
    pub fn new(client: aws_sdk_eventbridge::Client, bus_name: &str, source: &str) -> Self {
        Self {
            client,
            bus_name: bus_name.to_string(),
            source: source.to_string(),
        }
    }

    pub async fn client(endpoint: Option<&str>) -> aws_sdk_eventbridge::Client {
        aws_sdk_eventbridge::Client::new(&sdk_config(endpoint).await)
    }

    fn entry(&self, event: &OrderEvent) -> Result<PutEventsRequestEntry, String> {
        let detail = serde_json::to_string(event).map_err(|e| e.to_string())?;
        Ok(PutEventsRequestEntry::builder()
            .event_bus_name(&self.bus_name)
            .source(&self.source)
            .detail_type(&event.detail_type)
            .detail(detail)
            .resources(format!(
                "stripe:{}:checkout_session:{}",
                event.account_id, event.checkout_session_id
            ))
            .build())
    }
}

impl EventBridgeOrderEvents {
    /// Puts one event of the bundle's own that is not an order event (an import nudge) on
    /// the bus, with the same `source`: an error unless the bus took it.
    pub async fn put(&self, detail_type: &str, detail: String) -> Result<(), String> {
        let entry = PutEventsRequestEntry::builder()
            .event_bus_name(&self.bus_name)
            .source(&self.source)
            .detail_type(detail_type)
            .detail(detail)
            .build();
        let output = self
            .client
            .put_events()
            .entries(entry)
            .send()
            .await
            .map_err(|e| {
                format!(
                    "event bus {}: {}",
                    self.bus_name,
                    aws_sdk_eventbridge::error::DisplayErrorContext(e)
                )
            })?;
        match output.entries().first() {
            Some(result) if result.error_code().is_none() => Ok(()),
            Some(result) => Err(format!(
                "event bus {} refused {detail_type}: {}: {}",
                self.bus_name,
                result.error_code().unwrap_or(""),
                result.error_message().unwrap_or("")
            )),
            None => Err(format!(
                "event bus {} did not say it took {detail_type}",
                self.bus_name
            )),
        }
    }
}

impl OrderEventSink for EventBridgeOrderEvents {
    async fn publish(&self, events: &[OrderEvent]) -> Result<(), PublishError> {
        let mut failed = Vec::new();
        let mut messages = Vec::new();
        for batch in events.chunks(PUT_EVENTS_BATCH) {
            let entries = batch
                .iter()
                .map(|e| self.entry(e))
                .collect::<Result<Vec<_>, _>>();
            let entries = match entries {
                Ok(entries) => entries,
                Err(message) => {
                    failed.extend_from_slice(batch);
                    messages.push(message);
                    continue;
                }
            };
            match self
                .client
                .put_events()
                .set_entries(Some(entries))
                .send()
                .await
            {
                // PutEvents answers 200 with per-entry errors: those entries were not taken.
                Ok(output) => {
                    for (event, result) in batch.iter().zip(output.entries()) {
                        if let Some(code) = result.error_code() {
                            failed.push(event.clone());
                            messages
                                .push(format!("{code}: {}", result.error_message().unwrap_or("")));
                        }
                    }
                    // Fewer results than entries: the missing ones are not known to be taken.
                    failed.extend(batch.iter().skip(output.entries().len()).cloned());
                }
                Err(e) => {
                    failed.extend_from_slice(batch);
                    messages.push(aws_sdk_eventbridge::error::DisplayErrorContext(e).to_string());
                }
            }
        }
        if failed.is_empty() {
            return Ok(());
        }
        Err(PublishError {
            failed,
            message: format!("event bus {}: {}", self.bus_name, messages.join("; ")),
        })
    }
}

/// The dead-letter queue: one message per event, its body the event as published.
#[derive(Debug, Clone)]
pub struct SqsOrderEvents {
    client: aws_sdk_sqs::Client,
    queue_url: String,
}

impl SqsOrderEvents {
    pub fn new(client: aws_sdk_sqs::Client, queue_url: &str) -> Self {
        Self {
            client,
            queue_url: queue_url.to_string(),
        }
    }

    pub async fn client(endpoint: Option<&str>) -> aws_sdk_sqs::Client {
        aws_sdk_sqs::Client::new(&sdk_config(endpoint).await)
    }
}

impl OrderEventSink for SqsOrderEvents {
    async fn publish(&self, events: &[OrderEvent]) -> Result<(), PublishError> {
        let mut failed = Vec::new();
        let mut messages = Vec::new();
        for event in events {
            let body = match serde_json::to_string(event) {
                Ok(body) => body,
                Err(e) => {
                    failed.push(event.clone());
                    messages.push(e.to_string());
                    continue;
                }
            };
            let sent = self
                .client
                .send_message()
                .queue_url(&self.queue_url)
                .message_body(body)
                .send()
                .await;
            if let Err(e) = sent {
                failed.push(event.clone());
                messages.push(aws_sdk_sqs::error::DisplayErrorContext(e).to_string());
            }
        }
        if failed.is_empty() {
            return Ok(());
        }
        Err(PublishError {
            failed,
            message: format!("dead-letter queue: {}", messages.join("; ")),
        })
    }
}

/// Offline runs without an EventBridge emulator: every event is logged instead of published.
#[derive(Debug, Clone, Copy, Default)]
pub struct LoggedOrderEvents;

impl OrderEventSink for LoggedOrderEvents {
    async fn publish(&self, events: &[OrderEvent]) -> Result<(), PublishError> {
        for event in events {
            tracing::info!(
                event_id = %event.event_id,
                detail_type = %event.detail_type,
                account = %event.account_id,
                checkout_session_id = %event.checkout_session_id,
                detail = %serde_json::to_string(event).unwrap_or_default(),
                "order event (offline: logged, not published)"
            );
        }
        Ok(())
    }
}

/// The bus, backed by the dead-letter queue. Metrics: `OrderEventsPublished`,
/// `OrderEventsDeadLettered` (taken by the queue instead), `OrderEventsUndelivered` (refused
/// by both: the caller fails and the change is published again on retry).
#[derive(Debug, Clone)]
pub struct Durable<P, Q> {
    pub bus: P,
    pub dead_letters: Q,
    pub metrics: Metrics,
}

impl<P: OrderEventSink, Q: OrderEventSink> OrderEventSink for Durable<P, Q> {
    async fn publish(&self, events: &[OrderEvent]) -> Result<(), PublishError> {
        if events.is_empty() {
            return Ok(());
        }
        let refused = match self.bus.publish(events).await {
            Ok(()) => {
                self.metrics.put(
                    "OrderEventsPublished",
                    Unit::Count,
                    events.len() as f64,
                    &[],
                );
                return Ok(());
            }
            Err(refused) => refused,
        };
        let published = events.len() - refused.failed.len().min(events.len());
        if published > 0 {
            self.metrics
                .put("OrderEventsPublished", Unit::Count, published as f64, &[]);
        }
        tracing::error!(error = %refused, "order events refused by the bus; sending them to the dead-letter queue");
        match self.dead_letters.publish(&refused.failed).await {
            Ok(()) => {
                self.metrics.put(
                    "OrderEventsDeadLettered",
                    Unit::Count,
                    refused.failed.len() as f64,
                    &[],
                );
                Ok(())
            }
            Err(lost) => {
                self.metrics.put(
                    "OrderEventsUndelivered",
                    Unit::Count,
                    lost.failed.len() as f64,
                    &[],
                );
                tracing::error!(error = %lost, bus_error = %refused, "order events refused by the bus and the dead-letter queue");
                Err(PublishError {
                    failed: lost.failed,
                    message: format!("{}; then {}", refused.message, lost.message),
                })
            }
        }
    }
}

/// Where a function's order events go, from its environment:
/// - `ORDER_EVENT_BUS_NAME` unset: nowhere (the Orders table's stream still has every change);
/// - set: the bus, with `ORDER_EVENT_SOURCE` (default `agentic-commerce`) as `source`, and
///   the dead-letter queue `ORDER_EVENTS_DLQ_URL` (required with a bus);
/// - `ORDER_EVENTS_ENDPOINT`: an emulator's endpoint for both (moto serves EventBridge and
///   SQS on one); in an offline run (`DYNAMODB_ENDPOINT` set) without it, events are logged
///   rather than sent to an AWS endpoint the run cannot reach.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderEventsConfig {
    pub bus_name: String,
    pub source: String,
    pub dead_letter_queue_url: String,
    pub endpoint: Option<String>,
    pub offline: bool,
}

impl OrderEventsConfig {
    pub fn from_env(env: &Env) -> Result<Option<Self>, ConfigError> {
        let Some(bus_name) = env.optional("ORDER_EVENT_BUS_NAME") else {
            return Ok(None);
        };
        let endpoint = match env.optional("ORDER_EVENTS_ENDPOINT") {
            Some(_) => Some(env.url_or("ORDER_EVENTS_ENDPOINT", "")?),
            None => None,
        };
        Ok(Some(Self {
            bus_name,
            source: env
                .optional("ORDER_EVENT_SOURCE")
                .unwrap_or_else(|| "agentic-commerce".into()),
            dead_letter_queue_url: env.required("ORDER_EVENTS_DLQ_URL")?,
            offline: endpoint.is_none() && env.optional("DYNAMODB_ENDPOINT").is_some(),
            endpoint,
        }))
    }
}

/// The sink a deployed function publishes through.
#[derive(Debug, Clone)]
pub enum DeployedOrderEvents {
    Bus(Durable<EventBridgeOrderEvents, SqsOrderEvents>),
    Logged(LoggedOrderEvents),
}

impl DeployedOrderEvents {
    /// Builds the clients once per cold start.
    pub async fn build(config: &OrderEventsConfig, metrics: Metrics) -> Self {
        if config.offline {
            tracing::warn!(
                bus = %config.bus_name,
                "offline run without ORDER_EVENTS_ENDPOINT: order events are logged, not published"
            );
            return Self::Logged(LoggedOrderEvents);
        }
        let endpoint = config.endpoint.as_deref();
        let (events, sqs) = tokio::join!(
            EventBridgeOrderEvents::client(endpoint),
            SqsOrderEvents::client(endpoint)
        );
        Self::Bus(Durable {
            bus: EventBridgeOrderEvents::new(events, &config.bus_name, &config.source),
            dead_letters: SqsOrderEvents::new(sqs, &config.dead_letter_queue_url),
            metrics,
        })
    }
}

impl DeployedOrderEvents {
    /// The bus itself when events are really published; None offline.
    pub fn bus(&self) -> Option<&EventBridgeOrderEvents> {
        match self {
            Self::Bus(durable) => Some(&durable.bus),
            Self::Logged(_) => None,
        }
    }
}

impl OrderEventSink for DeployedOrderEvents {
    async fn publish(&self, events: &[OrderEvent]) -> Result<(), PublishError> {
        match self {
            Self::Bus(bus) => bus.publish(events).await,
            Self::Logged(logged) => logged.publish(events).await,
        }
    }
}

/// Order events kept in memory, for tests: what was published, and a switch that makes
/// every publish fail.
#[cfg(any(test, feature = "memory"))]
#[derive(Debug, Default)]
pub struct MemoryOrderEvents {
    published: std::sync::Mutex<Vec<OrderEvent>>,
    failing: std::sync::atomic::AtomicBool,
}

#[cfg(any(test, feature = "memory"))]
impl MemoryOrderEvents {
    pub fn failing() -> Self {
        let sink = Self::default();
        sink.set_failing(true);
        sink
    }

    pub fn set_failing(&self, failing: bool) {
        self.failing
            .store(failing, std::sync::atomic::Ordering::SeqCst);
    }

    pub fn published(&self) -> Vec<OrderEvent> {
        self.published
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

#[cfg(any(test, feature = "memory"))]
impl OrderEventSink for MemoryOrderEvents {
    async fn publish(&self, events: &[OrderEvent]) -> Result<(), PublishError> {
        if self.failing.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(PublishError {
                failed: events.to_vec(),
                message: "refused (test switch)".into(),
            });
        }
        self.published
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend_from_slice(events);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::orders::EventSource;

    fn event(id: &str) -> OrderEvent {
        OrderEvent {
            event_id: id.into(),
            detail_type: "order.created".into(),
            order_id: "cs_1".into(),
            account_id: "acct_1A".into(),
            checkout_session_id: "cs_1".into(),
            payment_intent_id: None,
            livemode: false,
            currency: Some("usd".into()),
            amount_total: Some(1000),
            amount_received: None,
            amount_refunded: Some(0),
            payment_status: None,
            refund_status: None,
            dispute: None,
            stripe_event_id: None,
            source: EventSource::Webhook,
        }
    }

    #[test]
    fn the_bus_is_configured_by_name_and_offline_runs_log() {
        let env = |pairs: &[(&str, &str)]| {
            OrderEventsConfig::from_env(&Env::from_map(pairs.iter().copied()))
        };
        assert_eq!(env(&[]).unwrap(), None);
        assert!(
            env(&[("ORDER_EVENT_BUS_NAME", "bus")]).is_err(),
            "a bus needs its dead-letter queue"
        );
        let deployed = env(&[
            ("ORDER_EVENT_BUS_NAME", "bus"),
            ("ORDER_EVENTS_DLQ_URL", "https://sqs/q"),
        ])
        .unwrap()
        .unwrap();
        assert!(!deployed.offline);
        assert_eq!(deployed.source, "agentic-commerce");
        let offline = env(&[
            ("ORDER_EVENT_BUS_NAME", "bus"),
            ("ORDER_EVENTS_DLQ_URL", "https://sqs/q"),
            ("DYNAMODB_ENDPOINT", "http://127.0.0.1:8000"),
        ])
        .unwrap()
        .unwrap();
        assert!(offline.offline);
        let emulated = env(&[
            ("ORDER_EVENT_BUS_NAME", "bus"),
            ("ORDER_EVENTS_DLQ_URL", "https://sqs/q"),
            ("DYNAMODB_ENDPOINT", "http://127.0.0.1:8000"),
            ("ORDER_EVENTS_ENDPOINT", "http://127.0.0.1:5000"),
        ])
        .unwrap()
        .unwrap();
        assert!(!emulated.offline);
    }

    #[tokio::test]
    async fn what_the_bus_refuses_goes_to_the_dead_letter_queue() {
        let (metrics, recorded) = Metrics::recording("webhooks");
        let durable = Durable {
            bus: MemoryOrderEvents::failing(),
            dead_letters: MemoryOrderEvents::default(),
            metrics,
        };
        durable.publish(&[event("a"), event("b")]).await.unwrap();
        assert!(durable.bus.published().is_empty());
        assert_eq!(durable.dead_letters.published(), [event("a"), event("b")]);
        assert_eq!(recorded.sum("OrderEventsDeadLettered", &[]), 2.0);
        assert_eq!(recorded.sum("OrderEventsPublished", &[]), 0.0);
    }

    #[tokio::test]
    async fn refused_by_both_the_publish_fails_with_the_events_and_a_retry_delivers_them() {
        let (metrics, recorded) = Metrics::recording("webhooks");
        let durable = Durable {
            bus: MemoryOrderEvents::failing(),
            dead_letters: MemoryOrderEvents::failing(),
            metrics,
        };
        let error = durable.publish(&[event("a")]).await.unwrap_err();
        assert_eq!(error.failed, [event("a")]);
        assert_eq!(recorded.sum("OrderEventsUndelivered", &[]), 1.0);
        durable.bus.set_failing(false);
        durable.publish(&[event("a")]).await.unwrap();
        assert_eq!(durable.bus.published(), [event("a")]);
        assert_eq!(recorded.sum("OrderEventsPublished", &[]), 1.0);
    }
}

//! Nothing lost, end to end: stripe-sim completes agentic checkouts and delivers their
//! webhooks to the webhooks function behind a local API Gateway, except the deliveries it is
//! told to drop; the reconciler (its Lambda handler, on DynamoDB Local, the EventBridge and
//! SQS of the moto emulator) then records exactly the orders whose events never arrived,
//! once, and publishes their `order.created` on the bus (or its dead-letter queue).

use std::sync::Arc;

use aws_sdk_dynamodb::types::AttributeValue;
use sample_events::fixtures::TEST_WEBHOOK_SECRET;
use serde_json::{Value, json};
use shared::config::Env;
use shared::orders::{EventSource, OrderEvent};
use shared::store::OrderStore;
use shared::store::dynamo::DynamoOrders;
use stripe_sim::{SimConfig, SimHandle};

const SIM_KEY: &str = "sk_test_sim";
const ACCOUNT: &str = "acct_1Reconciled";
const QUIET: &str = "acct_1NoSales";

struct Stack {
    sim: SimHandle,
    dynamo: aws_sdk_dynamodb::Client,
    orders_table: String,
    merchants_table: String,
    events: aws_sdk_eventbridge::Client,
    sqs: aws_sdk_sqs::Client,
    http: reqwest::Client,
    _gateway: testkit::gateway::Gateway,
}

impl Stack {
    async fn start() -> Self {
        let dynamo = testkit::dynamo().await;
        let orders_table = testkit::fresh_table(&dynamo, testkit::ORDERS).await;
        let idempotency_table = testkit::fresh_table(&dynamo, testkit::IDEMPOTENCY).await;
        let merchants_table = testkit::fresh_table(&dynamo, testkit::MERCHANTS).await;
        for account in [ACCOUNT, QUIET] {
            dynamo
                .put_item()
                .table_name(&merchants_table)
                .item("account_id", AttributeValue::S(account.into()))
                .send()
                .await
                .unwrap();
        }
        let sim = stripe_sim::start(
            SimConfig {
                webhook_secret: TEST_WEBHOOK_SECRET.into(),
                ..SimConfig::default()
            },
            0,
        )
        .await
        .unwrap();
        let webhooks_env = Env::from_map([
            ("STRIPE_SECRET_KEY", SIM_KEY.to_string()),
            ("STRIPE_API_BASE", sim.base_url()),
            ("STRIPE_FILES_BASE", sim.base_url()),
            ("STRIPE_WEBHOOK_SECRETS", TEST_WEBHOOK_SECRET.to_string()),
            ("ORDERS_TABLE", orders_table.clone()),
            ("IDEMPOTENCY_TABLE", idempotency_table),
            ("DYNAMODB_ENDPOINT", endpoint("DYNAMODB_ENDPOINT")),
        ]);
        let app = Arc::new(webhooks::init(webhooks_env).await.unwrap());
        let gateway = testkit::gateway::serve(move |request| {
            let app = app.clone();
            async move { webhooks::handle(&app, &request).await }
        })
        .await;
        let moto = endpoint("S3_ENDPOINT");
        let stack = Stack {
            events: shared::event_bus::EventBridgeOrderEvents::client(Some(&moto)).await,
            sqs: shared::event_bus::SqsOrderEvents::client(Some(&moto)).await,
            sim,
            dynamo,
            orders_table,
            merchants_table,
            http: reqwest::Client::new(),
            _gateway: gateway,
        };
        let url = stack._gateway.url("/stripe/webhooks");
        stack
            .control(
                "/_sim/webhook_endpoint",
                json!({"url": url, "secret": TEST_WEBHOOK_SECRET}),
            )
            .await;
        stack
    }

    async fn control(&self, path: &str, body: Value) -> Value {
        let response = self
            .http
            .post(format!("{}{path}", self.sim.base_url()))
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = response.status();
        let value: Value = response.json().await.unwrap();
        assert!(status.is_success(), "{path}: {status} {value}");
        value
    }

    /// A purchase whose webhooks have all been delivered (or dropped) when this returns.
    async fn purchase(&self, sku: &str) -> String {
        let created = self
            .control(
                "/_sim/agentic_checkouts",
                json!({"account": ACCOUNT, "sku": sku, "quantity": 2, "unit_amount": 1250,
                       "currency": "usd", "wait_for_delivery": true}),
            )
            .await;
        created["checkout_session"]["id"]
            .as_str()
            .unwrap()
            .to_string()
    }

    fn orders(&self) -> DynamoOrders {
        DynamoOrders::new(self.dynamo.clone(), &self.orders_table)
    }

    async fn queue(&self, prefix: &str) -> (String, String) {
        let url = self
            .sqs
            .create_queue()
            .queue_name(testkit::unique_name(prefix))
            .send()
            .await
            .unwrap()
            .queue_url()
            .unwrap()
            .to_string();
        let arn = self
            .sqs
            .get_queue_attributes()
            .queue_url(&url)
            .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
            .send()
            .await
            .unwrap()
            .attributes()
            .unwrap()[&aws_sdk_sqs::types::QueueAttributeName::QueueArn]
            .clone();
        (url, arn)
    }

    /// Up to `want` messages' bodies, long-polling (the queue answers as soon as it has them).
    async fn messages(&self, queue_url: &str, want: usize) -> Vec<Value> {
        let mut bodies = Vec::new();
        for _ in 0..5 {
            let received = self
                .sqs
                .receive_message()
                .queue_url(queue_url)
                .max_number_of_messages(10)
                .wait_time_seconds(1)
                .send()
                .await
                .unwrap();
            bodies.extend(
                received
                    .messages()
                    .iter()
                    .filter_map(|m| m.body())
                    .map(|b| serde_json::from_str::<Value>(b).unwrap()),
            );
            if bodies.len() >= want {
                break;
            }
        }
        bodies
    }

    async fn reconciler(&self, bus: &str, dead_letters: &str) -> order_reconciler::Function {
        order_reconciler::init(Env::from_map([
            ("STRIPE_SECRET_KEY", SIM_KEY.to_string()),
            ("STRIPE_API_BASE", self.sim.base_url()),
            ("STRIPE_FILES_BASE", self.sim.base_url()),
            ("ORDERS_TABLE", self.orders_table.clone()),
            ("MERCHANTS_TABLE", self.merchants_table.clone()),
            ("DYNAMODB_ENDPOINT", endpoint("DYNAMODB_ENDPOINT")),
            ("ORDER_EVENT_BUS_NAME", bus.to_string()),
            ("ORDER_EVENT_SOURCE", "agentic-commerce.test".to_string()),
            ("ORDER_EVENTS_DLQ_URL", dead_letters.to_string()),
            ("ORDER_EVENTS_ENDPOINT", endpoint("S3_ENDPOINT")),
        ]))
        .await
        .unwrap()
    }
}

fn endpoint(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set: run with `make test`"))
}

fn tick() -> Value {
    sample_events::aws::scheduled(
        "arn:aws:events:us-east-1:000000000000:rule/test-reconcile",
        "000000000000",
        "us-east-1",
    )
}

/// Drops every delivery of the next `purchases` purchases, then delivers again.
async fn purchases_with_lost_webhooks(stack: &Stack, lost: usize, delivered: usize) -> Vec<String> {
    stack
        .control("/_sim/webhook_drops", json!({"count": 10_000}))
        .await;
    let mut missed = Vec::new();
    for i in 0..lost {
        missed.push(stack.purchase(&format!("SKU-LOST-{i}")).await);
    }
    let drops = stack
        .control("/_sim/webhook_drops", json!({"count": 0}))
        .await;
    assert!(drops["remaining"] == 0);
    for i in 0..delivered {
        stack.purchase(&format!("SKU-SEEN-{i}")).await;
    }
    missed
}

#[tokio::test]
async fn reconciliation_records_exactly_the_orders_whose_webhooks_were_dropped_once() {
    let stack = Stack::start().await;
    let bus = testkit::unique_name("orders");
    stack
        .events
        .create_event_bus()
        .name(&bus)
        .send()
        .await
        .unwrap();
    let (capture_url, capture_arn) = stack.queue("capture").await;
    let (dead_letters_url, _) = stack.queue("order-dlq").await;
    stack
        .events
        .put_rule()
        .name("fulfillment")
        .event_bus_name(&bus)
        .event_pattern(r#"{"source": ["agentic-commerce.test"], "detail-type": ["order.created"]}"#)
        .send()
        .await
        .unwrap();
    stack
        .events
        .put_targets()
        .rule("fulfillment")
        .event_bus_name(&bus)
        .targets(
            aws_sdk_eventbridge::types::Target::builder()
                .id("queue")
                .arn(&capture_arn)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();

    let missed = purchases_with_lost_webhooks(&stack, 2, 1).await;
    let before = stack.orders().list(ACCOUNT, 100).await.unwrap();
    assert_eq!(
        before.len(),
        1,
        "only the delivered purchase became an order"
    );
    assert!(
        missed
            .iter()
            .all(|id| before.iter().all(|o| &o.checkout_session_id != id))
    );

    let reconciler = stack.reconciler(&bus, &dead_letters_url).await;
    let summary = order_reconciler::handle(&reconciler, tick()).await.unwrap();
    assert_eq!(summary.orders_reconciled, 2, "{summary:?}");
    assert_eq!(
        (summary.merchants, summary.complete, summary.failed),
        (2, 2, 0)
    );
    let after = stack.orders().list(ACCOUNT, 100).await.unwrap();
    assert_eq!(after.len(), 3);
    for id in &missed {
        let order = stack.orders().get(ACCOUNT, id).await.unwrap().unwrap();
        assert_eq!(
            order.amount_total,
            Some(2500),
            "minor units, as Stripe has it"
        );
        assert_eq!(order.payment.status, "succeeded");
    }

    // Their order.created went to the bus, with the id any path would have given them.
    let published = stack.messages(&capture_url, 2).await;
    let mut ids: Vec<String> = published
        .iter()
        .map(|m| m["detail"]["event_id"].as_str().unwrap().to_string())
        .collect();
    ids.sort();
    let mut expected: Vec<String> = Vec::new();
    for id in &missed {
        let order = stack.orders().get(ACCOUNT, id).await.unwrap().unwrap();
        expected.push(OrderEvent::created(&order, EventSource::Reconciliation).event_id);
    }
    expected.sort();
    assert_eq!(ids, expected);
    assert!(published.iter().all(
        |m| m["detail"]["source"] == "reconciliation" && m["source"] == "agentic-commerce.test"
    ));

    // The next tick re-lists the overlap and records nothing twice.
    let again = order_reconciler::handle(&reconciler, tick()).await.unwrap();
    assert_eq!((again.orders_reconciled, again.failed), (0, 0));
    assert_eq!(again.sessions_seen, 3);
    assert_eq!(stack.orders().list(ACCOUNT, 100).await.unwrap().len(), 3);
    assert!(stack.messages(&dead_letters_url, 1).await.is_empty());
}

#[tokio::test]
async fn events_the_bus_refuses_land_in_the_dead_letter_queue() {
    let stack = Stack::start().await;
    let (dead_letters_url, _) = stack.queue("order-dlq").await;
    let missed = purchases_with_lost_webhooks(&stack, 1, 0).await;

    // No such bus: PutEvents fails, the event goes to the queue, the order is recorded.
    let reconciler = stack
        .reconciler(&testkit::unique_name("no-such-bus"), &dead_letters_url)
        .await;
    let summary = order_reconciler::handle(&reconciler, tick()).await.unwrap();
    assert_eq!((summary.orders_reconciled, summary.failed), (1, 0));
    let kept = stack.messages(&dead_letters_url, 1).await;
    assert_eq!(kept.len(), 1);
    assert_eq!(kept[0]["detail_type"], "order.created");
    assert_eq!(kept[0]["checkout_session_id"], missed[0].as_str());
    assert_eq!(kept[0]["account_id"], ACCOUNT);
    assert_eq!(kept[0]["amount_total"], 2500);
}

//! The webhooks function end to end: committed `events/` fixtures (re-signed now) and real
//! deliveries from stripe-sim, through the function's handler, the Stripe client against
//! stripe-sim and the stores on DynamoDB Local.

use std::sync::Arc;

use aws_sdk_dynamodb::Client;
use base64::Engine;
use sample_events::fixtures::TEST_WEBHOOK_SECRET;
use serde_json::{Value, json};
use shared::config::Env;
use shared::store::OrderStore;
use shared::store::dynamo::DynamoOrders;
use stripe_sim::{SimConfig, SimHandle};

mod orders;
mod requests;
mod startup;

const SIM_KEY: &str = "sk_test_sim";

struct Stack {
    app: Arc<webhooks::Function>,
    sim: SimHandle,
    dynamo: Client,
    orders_table: String,
    idempotency_table: String,
    dead_letters_table: String,
    http: reqwest::Client,
}

impl Stack {
    async fn start() -> Self {
        let dynamo = testkit::dynamo().await;
        let orders_table = testkit::fresh_table(&dynamo, testkit::ORDERS).await;
        let idempotency_table = testkit::fresh_table(&dynamo, testkit::IDEMPOTENCY).await;
        let dead_letters_table = testkit::fresh_table(&dynamo, testkit::DEAD_LETTERS).await;
        let sim = stripe_sim::start(
            SimConfig {
                webhook_secret: TEST_WEBHOOK_SECRET.into(),
                ..SimConfig::default()
            },
            0,
        )
        .await
        .unwrap();
        let env = Env::from_map([
            ("STRIPE_SECRET_KEY", SIM_KEY.to_string()),
            ("STRIPE_API_BASE", sim.base_url()),
            ("STRIPE_FILES_BASE", sim.base_url()),
            ("STRIPE_WEBHOOK_SECRETS", TEST_WEBHOOK_SECRET.to_string()),
            ("ORDERS_TABLE", orders_table.clone()),
            ("IDEMPOTENCY_TABLE", idempotency_table.clone()),
            ("DEAD_LETTERS_TABLE", dead_letters_table.clone()),
            (
                "DYNAMODB_ENDPOINT",
                std::env::var("DYNAMODB_ENDPOINT").unwrap(),
            ),
        ]);
        let app = Arc::new(webhooks::init(env).await.unwrap());
        Stack {
            app,
            sim,
            dynamo,
            orders_table,
            idempotency_table,
            dead_letters_table,
            http: reqwest::Client::new(),
        }
    }

    async fn dead_letters(&self) -> Vec<shared::dead_letters::DeadLetter> {
        use shared::store::DeadLetterStore;
        shared::store::dynamo::DynamoDeadLetters::new(self.dynamo.clone(), &self.dead_letters_table)
            .dead_letters(None, 100)
            .await
            .unwrap()
    }

    fn orders(&self) -> DynamoOrders {
        DynamoOrders::new(self.dynamo.clone(), &self.orders_table)
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

    /// Seeds stripe-sim with the purchase the committed fixtures describe, without
    /// delivering its webhooks (the test delivers the fixtures itself).
    async fn seed_fixture_purchase(&self) -> Value {
        let completed = testkit::fixture_event(&testkit::fixture(
            "webhooks/checkout_session_completed.json",
        ));
        let session = &completed["data"]["object"];
        self.control("/_sim/agentic_checkouts", json!({
            "account": completed["account"],
            "sku": "MUG-TRAIL-12", "quantity": 2, "unit_amount": 1500, "currency": "usd",
            "product": {"name": "Trail Mug", "description": "12 oz enamel camping mug", "gtin": "00012345678905", "mpn": "TM-12"},
            "tax": {"percentage": 8.25, "tax_type": "sales_tax", "display_name": "Sales tax", "inclusive": false},
            "shipping_amount": 500,
            "agent_details": {"agent_name": "ChatGPT", "agent_id": "agt_openai"},
            "ids": {"checkout_session": session["id"], "payment_intent": session["payment_intent"], "charge": "ch_3Fixture"},
            "deliver": false
        }))
        .await
    }

    /// The session as a Stripe client sees it, for expected values the order must match.
    async fn session_from_stripe(&self, account: &str, id: &str) -> Value {
        self.http
            .get(format!("{}/v1/checkout/sessions/{id}", self.sim.base_url()))
            .bearer_auth(SIM_KEY)
            .header("Stripe-Account", account)
            .query(&[
                ("expand[]", "line_items.data.price.product"),
                ("expand[]", "line_items.data.taxes"),
                ("expand[]", "payment_intent.latest_charge"),
            ])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    async fn item_count(&self, table: &str) -> i32 {
        self.dynamo
            .scan()
            .table_name(table)
            .send()
            .await
            .unwrap()
            .count()
    }

    async fn deliver(&self, request: &lambda_http::Request) -> (u16, Value) {
        let response = webhooks::handle(&self.app, request).await;
        assert_eq!(response.headers()["content-type"], "application/json");
        testkit::answer(&response)
    }
}

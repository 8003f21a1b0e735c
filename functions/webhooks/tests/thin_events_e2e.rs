//! Thin (v2) agreement events through the webhooks function's `/stripe/events` route:
//! stripe-sim walks agreements through their states and delivers the signed thin events,
//! in every order and duplicated; the stored agreement always ends as Stripe shows it.

use std::sync::Arc;

use serde_json::{Value, json};
use shared::agreements::Agreement;
use shared::config::Env;
use shared::store::dynamo::DynamoAgreements;
use shared::store::{AgreementStore, Applied};
use stripe_sim::{SimConfig, SimHandle};

const ACCOUNT: &str = "acct_1AgreementShop";
const THIN_SECRET: &str = "whsec_test_thin_local";

struct Stack {
    sim: SimHandle,
    function: Arc<webhooks::Function>,
    dynamo: aws_sdk_dynamodb::Client,
    agreements_table: String,
    idempotency_table: String,
    _gateway: testkit::gateway::Gateway,
    http: reqwest::Client,
}

impl Stack {
    async fn start() -> Stack {
        let dynamo = testkit::dynamo().await;
        let orders = testkit::fresh_table(&dynamo, testkit::ORDERS).await;
        let idempotency_table = testkit::fresh_table(&dynamo, testkit::IDEMPOTENCY).await;
        let agreements_table = testkit::fresh_table(&dynamo, testkit::AGREEMENTS).await;
        let sim = stripe_sim::start(SimConfig::default(), 0).await.unwrap();
        let env = Env::from_map([
            ("STRIPE_SECRET_KEY", "sk_test_sim".to_string()),
            ("STRIPE_API_BASE", sim.base_url()),
            ("STRIPE_WEBHOOK_SECRETS", "whsec_unused_here".to_string()),
            ("STRIPE_THIN_EVENT_SECRETS", THIN_SECRET.to_string()),
            ("ORDERS_TABLE", orders),
            ("IDEMPOTENCY_TABLE", idempotency_table.clone()),
            ("AGREEMENTS_TABLE", agreements_table.clone()),
            (
                "DYNAMODB_ENDPOINT",
                std::env::var("DYNAMODB_ENDPOINT").unwrap(),
            ),
        ]);
        let function = Arc::new(webhooks::init(env).await.unwrap());
        let f = function.clone();
        let gateway = testkit::gateway::serve(move |request| {
            let f = f.clone();
            async move { webhooks::handle(&f, &request).await }
        })
        .await;
        let stack = Stack {
            sim,
            function,
            dynamo,
            agreements_table,
            idempotency_table,
            _gateway: gateway,
            http: reqwest::Client::new(),
        };
        stack
            .control(
                "/_sim/thin_event_endpoint",
                json!({"url": stack._gateway.url("/stripe/events"), "secret": THIN_SECRET}),
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
        let value: Value = response.json().await.unwrap_or(Value::Null);
        assert!(status.is_success(), "{path}: {status} {value}");
        value
    }

    fn store(&self) -> DynamoAgreements {
        DynamoAgreements::new(self.dynamo.clone(), &self.agreements_table)
    }

    async fn stripes_view(&self, id: &str) -> Value {
        self.http
            .get(format!(
                "{}/v2/orchestrated_commerce/agreements/{id}",
                self.sim.base_url()
            ))
            .bearer_auth("sk_test_sim")
            .header("Stripe-Context", ACCOUNT)
            .header("Stripe-Version", "2026-04-22.preview")
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }
}

fn permutations(items: &[String]) -> Vec<Vec<String>> {
    if items.len() <= 1 {
        return vec![items.to_vec()];
    }
    let mut all = Vec::new();
    for i in 0..items.len() {
        let mut rest = items.to_vec();
        let first = rest.remove(i);
        for mut tail in permutations(&rest) {
            tail.insert(0, first.clone());
            all.push(tail);
        }
    }
    all
}

#[tokio::test]
async fn every_delivery_order_with_duplicates_ends_as_stripe_shows_it() {
    let stack = Stack::start().await;
    // One agreement walked through all four states, its events held back.
    let template = stack.control("/_sim/agreements", json!({"account": ACCOUNT, "orchestrator_name": "ChatGPT", "confirm": "both", "terminate": true, "deliver": false})).await;
    let count = template["events"].as_array().map_or(0, Vec::len);
    assert_eq!(count, 4, "{template}");
    let orders = permutations(&(0..4).map(|i| i.to_string()).collect::<Vec<_>>());
    assert_eq!(orders.len(), 24);
    for order in orders {
        let created = stack.control("/_sim/agreements", json!({"account": ACCOUNT, "orchestrator_name": "ChatGPT", "confirm": "both", "terminate": true, "deliver": false})).await;
        let id = created["agreement"]["id"].as_str().unwrap().to_string();
        let events: Vec<String> = created["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e.as_str().unwrap().to_string())
            .collect();
        let ordered: Vec<&String> = order
            .iter()
            .map(|i| &events[i.parse::<usize>().unwrap()])
            .collect();
        stack
            .control(
                &format!("/_sim/agreements/{id}/redeliver"),
                json!({"order": ordered, "duplicates": 1, "wait_for_delivery": true}),
            )
            .await;

        let stored = stack
            .store()
            .agreement(ACCOUNT, &id)
            .await
            .unwrap()
            .expect("stored");
        let stripe = stack.stripes_view(&id).await;
        assert_eq!(
            stored.status.as_str(),
            stripe["status"].as_str().unwrap(),
            "order {order:?}"
        );
        assert_eq!(stored.status.as_str(), "terminated");
        assert_eq!(
            stored.terminated_by.as_deref(),
            stripe["terminated_by"].as_str()
        );
        assert_eq!(
            stored.status_transitions.terminated_at.as_deref(),
            stripe["status_transitions"]["terminated_at"].as_str()
        );
        assert_eq!(stored.orchestrator_name.as_deref(), Some("ChatGPT"));
    }
}

#[tokio::test]
async fn a_stale_state_never_overwrites_a_newer_one() {
    let stack = Stack::start().await;
    let object = |status: &str, transitions: Value| {
        Agreement::from_stripe(
            ACCOUNT,
            &json!({"id": "orca_stale", "status": status, "status_transitions": transitions}),
        )
        .unwrap()
    };
    let confirmed = object(
        "confirmed",
        json!({"orchestrator_confirmed_at": "2026-11-28T10:00:00Z", "seller_confirmed_at": "2026-11-28T10:01:00Z"}),
    );
    let initiated = object("initiated", json!({}));
    let terminated = object(
        "terminated",
        json!({"orchestrator_confirmed_at": "2026-11-28T10:00:00Z", "terminated_at": "2026-11-28T11:00:00Z"}),
    );
    let store = stack.store();
    assert_eq!(
        store.put_if_newer(&confirmed).await.unwrap(),
        Applied::Updated
    );
    assert_eq!(
        store.put_if_newer(&initiated).await.unwrap(),
        Applied::Stale
    );
    assert_eq!(
        store.put_if_newer(&terminated).await.unwrap(),
        Applied::Updated
    );
    assert_eq!(
        store.put_if_newer(&confirmed).await.unwrap(),
        Applied::Stale,
        "terminated is final"
    );
    assert_eq!(
        store
            .agreement(ACCOUNT, "orca_stale")
            .await
            .unwrap()
            .unwrap()
            .status
            .as_str(),
        "terminated"
    );
}

#[tokio::test]
async fn forged_or_wrongly_signed_thin_events_are_refused_and_change_nothing() {
    let stack = Stack::start().await;
    let body = json!({"id": "evt_forged", "object": "v2.core.event", "type": "v2.orchestrated_commerce.agreement.confirmed",
        "created": "2026-11-28T10:00:00.000Z", "livemode": false, "context": ACCOUNT,
        "related_object": {"id": "orca_forged", "type": "v2.orchestrated_commerce.agreement", "url": "/v2/orchestrated_commerce/agreements/orca_forged"}})
    .to_string();
    for (name, secret) in [
        ("wrong secret", "whsec_attacker"),
        ("the webhook secret", "whsec_unused_here"),
    ] {
        let request = testkit::signed_post("/stripe/events", body.as_bytes(), secret);
        let response = webhooks::handle(&stack.function, &request).await;
        assert_eq!(response.status(), 400, "{name}");
    }
    let unsigned = http::Request::builder()
        .method("POST")
        .uri("/stripe/events")
        .body(body.clone().into_bytes())
        .unwrap();
    assert_eq!(
        webhooks::handle(&stack.function, &unsigned).await.status(),
        400
    );
    assert!(stack.store().agreements(ACCOUNT).await.unwrap().is_empty());
    assert_eq!(
        stack
            .dynamo
            .scan()
            .table_name(&stack.idempotency_table)
            .send()
            .await
            .unwrap()
            .count(),
        0
    );
}

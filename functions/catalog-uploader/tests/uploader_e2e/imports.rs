//! Imports through both API generations to the end: success, Stripe's error file (and its expiry), v2 events.

use super::*;

#[tokio::test]
async fn v1_valid_file_reaches_succeeded() {
    valid_file_reaches_succeeded(ApiGeneration::V1).await;
}

#[tokio::test]
async fn v2_valid_file_reaches_succeeded() {
    valid_file_reaches_succeeded(ApiGeneration::V2).await;
}

#[tokio::test]
async fn v1_bad_rows_come_back_in_stripes_error_file() {
    bad_rows_come_back_in_stripes_error_file(ApiGeneration::V1).await;
}

#[tokio::test]
async fn v2_bad_rows_come_back_in_stripes_error_file() {
    bad_rows_come_back_in_stripes_error_file(ApiGeneration::V2).await;
}

/// Stripe's v2 error-file URL lives five minutes: one that expired before we fetched it is
/// refreshed by reading the import again.
#[tokio::test]
async fn v2_expired_error_file_url_is_refreshed() {
    let stack = Stack::start(ApiGeneration::V2, ValidationMode::Lenient).await;
    let response = stack
        .http
        .post(format!("{}/_sim/error_file_urls", stack.sim.base_url()))
        .json(&serde_json::json!({"expired_next": 1}))
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success());
    let rows = vec![
        row("SKU-1", "Mug", "1.00 USD", 1),
        row("SKU-2", "Bowl", "bad price", 1),
    ];
    stack
        .drop_file(&format!("incoming/{ACCOUNT}/catalog/late.csv"), &csv(&rows))
        .await;
    stack.stripe_announces_the_latest_import().await;
    assert_eq!(
        stack.status("late.csv").await["status"],
        "succeeded_with_errors"
    );
    let errors = String::from_utf8(
        stack
            .report("late.csv", "stripe-errors.csv")
            .await
            .expect("report copied"),
    )
    .unwrap();
    assert!(errors.contains("SKU-2"), "{errors}");
}

/// The bundle's event bus on moto, with a rule that captures the uploader's nudges in a
/// queue (in AWS the rule's target is the uploader itself).
struct NudgeBus {
    sqs: aws_sdk_sqs::Client,
    bus: String,
    captured: String,
    dead_letters: String,
}

impl NudgeBus {
    async fn start() -> Self {
        let moto = std::env::var("S3_ENDPOINT").unwrap();
        let events = shared::event_bus::EventBridgeOrderEvents::client(Some(&moto)).await;
        let sqs = shared::event_bus::SqsOrderEvents::client(Some(&moto)).await;
        let bus = testkit::unique_name("bundle");
        events.create_event_bus().name(&bus).send().await.unwrap();
        let queue = |prefix: &'static str| {
            let sqs = sqs.clone();
            async move {
                let url = sqs
                    .create_queue()
                    .queue_name(testkit::unique_name(prefix))
                    .send()
                    .await
                    .unwrap()
                    .queue_url()
                    .unwrap()
                    .to_string();
                let arn = sqs
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
        };
        let (captured, captured_arn) = queue("nudges").await;
        let (dead_letters, _) = queue("order-dlq").await;
        events
            .put_rule()
            .name("uploader")
            .event_bus_name(&bus)
            .event_pattern(format!(
                r#"{{"source": ["agentic-commerce.test"], "detail-type": ["{}"]}}"#,
                shared::uploader::nudge::NUDGE_DETAIL_TYPE
            ))
            .send()
            .await
            .unwrap();
        events
            .put_targets()
            .rule("uploader")
            .event_bus_name(&bus)
            .targets(
                aws_sdk_eventbridge::types::Target::builder()
                    .id("uploader")
                    .arn(&captured_arn)
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .unwrap();
        Self {
            sqs,
            bus,
            captured,
            dead_letters,
        }
    }

    /// The webhooks function's settings for this bus.
    fn env(&self) -> [(&'static str, String); 4] {
        [
            ("ORDER_EVENT_BUS_NAME", self.bus.clone()),
            ("ORDER_EVENT_SOURCE", "agentic-commerce.test".to_string()),
            ("ORDER_EVENTS_DLQ_URL", self.dead_letters.clone()),
            (
                "ORDER_EVENTS_ENDPOINT",
                std::env::var("S3_ENDPOINT").unwrap(),
            ),
        ]
    }

    /// The nudges the rule captured (each an EventBridge event, as the uploader gets it).
    async fn nudges(&self) -> Vec<Value> {
        let mut found = Vec::new();
        for _ in 0..5 {
            let received = self
                .sqs
                .receive_message()
                .queue_url(&self.captured)
                .max_number_of_messages(10)
                .wait_time_seconds(1)
                .send()
                .await
                .unwrap();
            found.extend(
                received
                    .messages()
                    .iter()
                    .filter_map(|m| m.body())
                    .map(|b| serde_json::from_str::<Value>(b).unwrap()),
            );
            if !found.is_empty() {
                break;
            }
        }
        found
    }
}

/// The webhooks function with the bus and `extra` settings, behind a local HTTP route.
async fn webhooks_behind_gateway(
    stack: &Stack,
    bus: &NudgeBus,
    extra: &[(&'static str, String)],
) -> testkit::gateway::Gateway {
    let orders = testkit::fresh_table(&stack.dynamo, testkit::ORDERS).await;
    let mut vars: Vec<(&'static str, String)> = vec![
        ("STRIPE_SECRET_KEY", KEY.to_string()),
        ("STRIPE_API_BASE", stack.sim.base_url()),
        ("STRIPE_FILES_BASE", stack.sim.base_url()),
        ("ORDERS_TABLE", orders),
        ("IDEMPOTENCY_TABLE", stack.idempotency_table.clone()),
        ("CATALOG_TABLE", stack.catalog_table.clone()),
        (
            "DYNAMODB_ENDPOINT",
            std::env::var("DYNAMODB_ENDPOINT").unwrap(),
        ),
    ];
    vars.extend(bus.env());
    vars.extend(extra.iter().cloned());
    let function = Arc::new(webhooks::init(Env::from_map(vars)).await.unwrap());
    testkit::gateway::serve(move |request| {
        let f = function.clone();
        async move { webhooks::handle(&f, &request).await }
    })
    .await
}

/// A v2 import's thin events reach the webhooks function's `/stripe/events`, which only
/// puts a nudge on the bus; the uploader, invoked with it, moves the feed (here stripe-sim
/// finishes v2 imports at once, so the upload's own poll may already have finished it; the
/// v1 test below shows the webhooks function finishing nothing itself).
#[tokio::test]
async fn v2_import_events_nudge_the_uploader_which_finishes_the_import() {
    let stack = Stack::start(ApiGeneration::V2, ValidationMode::Lenient).await;
    let agreements = testkit::fresh_table(&stack.dynamo, testkit::AGREEMENTS).await;
    let bus = NudgeBus::start().await;
    let gateway = webhooks_behind_gateway(
        &stack,
        &bus,
        &[
            ("STRIPE_WEBHOOK_SECRETS", "whsec_unused".to_string()),
            (
                "STRIPE_THIN_EVENT_SECRETS",
                "whsec_test_thin_sim".to_string(),
            ),
            ("AGREEMENTS_TABLE", agreements),
        ],
    )
    .await;
    let response = stack
        .http
        .post(format!("{}/_sim/thin_event_endpoint", stack.sim.base_url()))
        .json(&serde_json::json!({"url": gateway.url("/stripe/events"), "secret": "whsec_test_thin_sim"}))
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success());

    stack
        .drop_file(
            &format!("incoming/{ACCOUNT}/catalog/evented.csv"),
            &csv(&[row("SKU-1", "Mug", "1.00 USD", 1)]),
        )
        .await;
    let nudges = bus.nudges().await;
    assert!(
        !nudges.is_empty(),
        "the webhooks function nudged the uploader"
    );
    assert_eq!(nudges[0]["detail"]["account_id"], ACCOUNT, "{}", nudges[0]);
    for nudge in nudges {
        let outcome = stack.send(nudge).await;
        assert!(outcome.get("import_status").is_some(), "{outcome}");
    }
    let status = stack.status("evented.csv").await;
    assert_eq!(status["status"], "succeeded", "{status}");
    assert!(
        stack
            .catalog()
            .sku(ACCOUNT, "SKU-1")
            .await
            .unwrap()
            .is_some(),
        "snapshots written by the uploader"
    );
}

/// A v1 import set Stripe finishes later: its `data_management.import_set.succeeded`
/// webhook nudges the uploader, which finishes the import before any schedule tick.
#[tokio::test]
async fn v1_import_set_events_nudge_the_uploader_which_finishes_the_import() {
    let stack = Stack::start_with(
        ApiGeneration::V1,
        ValidationMode::Lenient,
        SimConfig {
            // Never on its own: only the control call below finishes it.
            processing_delay_ms: 100 * 86_400_000,
            webhook_secret: "whsec_test_import_sets".into(),
            ..SimConfig::default()
        },
    )
    .await;
    let bus = NudgeBus::start().await;
    let gateway = webhooks_behind_gateway(
        &stack,
        &bus,
        &[(
            "STRIPE_WEBHOOK_SECRETS",
            "whsec_test_import_sets".to_string(),
        )],
    )
    .await;
    let response = stack
        .http
        .post(format!("{}/_sim/webhook_endpoint", stack.sim.base_url()))
        .json(&serde_json::json!({"url": gateway.url("/stripe/webhooks"), "secret": "whsec_test_import_sets"}))
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success());

    stack
        .drop_file(
            &format!("incoming/{ACCOUNT}/catalog/evented.csv"),
            &csv(&[row("SKU-1", "Mug", "1.00 USD", 1)]),
        )
        .await;
    assert_eq!(stack.status("evented.csv").await["status"], "processing");
    let import_set = stack.status("evented.csv").await["stripe_import_id"]
        .as_str()
        .unwrap()
        .to_string();
    // Stripe finishes it; the event goes out and is answered before this call returns.
    let finished: Value = stack
        .http
        .post(format!(
            "{}/_sim/imports/{import_set}/complete",
            stack.sim.base_url()
        ))
        .json(&serde_json::json!({"wait_for_delivery": true}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        finished["events"].as_array().map(Vec::len),
        Some(1),
        "{finished}"
    );
    assert_eq!(
        stack.status("evented.csv").await["status"],
        "processing",
        "the webhooks function only nudged"
    );
    let nudges = bus.nudges().await;
    assert_eq!(nudges.len(), 1, "{nudges:?}");
    assert_eq!(nudges[0]["detail"]["import_id"], import_set.as_str());
    stack.send(nudges[0].clone()).await;
    let status = stack.status("evented.csv").await;
    assert_eq!(status["status"], "succeeded", "{status}");
    assert!(
        stack
            .catalog()
            .sku(ACCOUNT, "SKU-1")
            .await
            .unwrap()
            .is_some(),
        "SKU records written by the uploader"
    );
}

/// The nudge as the bus delivers it (`events/catalog/import_changed.json`): for an import
/// that is not one of ours it changes nothing and is not an error (no retry).
#[tokio::test]
async fn a_nudge_for_an_unknown_import_is_answered_and_changes_nothing() {
    let stack = Stack::start(ApiGeneration::V2, ValidationMode::Lenient).await;
    let nudge = testkit::fixture("catalog/import_changed.json");
    assert_eq!(nudge["detail"]["account_id"], ACCOUNT);
    let outcome = stack.send(nudge).await;
    assert_eq!(outcome, serde_json::json!({"import_status": null}));
    let mut forged = testkit::fixture("catalog/import_changed.json");
    forged["detail"]["account_id"] = "acct_../../other".into();
    let outcome = stack.send(forged).await;
    assert!(outcome["ignored"].as_str().is_some(), "{outcome}");
    assert!(
        stack
            .catalog()
            .imports(ACCOUNT, 10)
            .await
            .unwrap()
            .is_empty()
    );
}

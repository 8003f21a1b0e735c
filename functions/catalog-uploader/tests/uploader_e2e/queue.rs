//! The uploader with its feed queue (moto's SQS): intake sends the feed instead of calling
//! Stripe, the queue's batch (as Lambda's event source delivers it) uploads, and the
//! batch response names only the messages worth another try.

use super::*;

async fn queued_stack() -> (Stack, aws_sdk_sqs::Client, String) {
    let endpoint = std::env::var("S3_ENDPOINT").unwrap();
    let sqs = shared::event_bus::SqsOrderEvents::client(Some(&endpoint)).await;
    let name = testkit::unique_name("feeds");
    let url = sqs
        .create_queue()
        .queue_name(&name)
        .send()
        .await
        .unwrap()
        .queue_url()
        .unwrap()
        .to_string();
    let stack = Stack::start_with_env(
        ApiGeneration::V1,
        ValidationMode::Lenient,
        SimConfig {
            // Never on its own: the test finishes imports with the control call.
            processing_delay_ms: 100 * 86_400_000,
            ..SimConfig::default()
        },
        vec![("FEED_QUEUE_URL", url.clone()), ("SQS_ENDPOINT", endpoint)],
    )
    .await;
    (stack, sqs, url)
}

/// Takes what waits in the queue, as the event source's batch.
async fn batch(sqs: &aws_sdk_sqs::Client, url: &str) -> (Value, usize) {
    let received = sqs
        .receive_message()
        .queue_url(url)
        .max_number_of_messages(10)
        .send()
        .await
        .unwrap();
    let messages = received.messages();
    let batch: Vec<sample_events::aws::QueueMessage<'_>> = messages
        .iter()
        .map(|m| sample_events::aws::QueueMessage {
            message_id: m.message_id().unwrap(),
            receipt_handle: m.receipt_handle().unwrap(),
            body: m.body().unwrap(),
            receive_count: 1,
        })
        .collect();
    (
        sample_events::aws::sqs_batch(
            "arn:aws:sqs:us-east-1:000000000000:feeds",
            "us-east-1",
            &batch,
        ),
        messages.len(),
    )
}

#[tokio::test]
async fn a_dropped_file_goes_through_the_queue_to_stripe() {
    let (stack, sqs, url) = queued_stack().await;
    let body = csv(&[row("SKU-1", "Mug", "18.00 USD", 5)]);
    let outcome = stack
        .drop_file(&format!("incoming/{ACCOUNT}/catalog/mugs.csv"), &body)
        .await;
    assert_eq!(outcome["files"][0]["outcome"], "queued", "{outcome}");
    assert_eq!(
        stack.imports_at_stripe(ACCOUNT).await,
        0,
        "intake calls no Stripe"
    );

    let (event, count) = batch(&sqs, &url).await;
    assert_eq!(count, 1, "one message for the feed");
    assert_eq!(
        serde_json::from_str::<Value>(event["Records"][0]["body"].as_str().unwrap()).unwrap(),
        serde_json::json!({"account_id": ACCOUNT, "feed": "product"})
    );
    let answer = stack.send(event).await;
    assert_eq!(answer, serde_json::json!({"batchItemFailures": []}));
    assert_eq!(stack.imports_at_stripe(ACCOUNT).await, 1);
    assert_eq!(stack.status("mugs.csv").await["status"], "processing");

    // Just sent to Stripe: the tick leaves the feed alone until its first poll is due.
    let tick = stack.tick().await;
    assert_eq!(
        (tick["feeds"].as_u64(), tick["dispatched"].as_u64()),
        (Some(1), Some(0)),
        "{tick}"
    );
    let import_set = stack.status("mugs.csv").await["stripe_import_id"]
        .as_str()
        .unwrap()
        .to_string();
    let finished = stack
        .http
        .post(format!(
            "{}/_sim/imports/{import_set}/complete",
            stack.sim.base_url()
        ))
        .json(&serde_json::json!({}))
        .send()
        .await
        .unwrap();
    assert!(finished.status().is_success());
    // Stripe's event about it reaches the uploader through the bus and the same queue.
    sqs.send_message()
        .queue_url(&url)
        .message_body(Stack::nudge(&import_set).to_string())
        .send()
        .await
        .unwrap();
    let (event, count) = batch(&sqs, &url).await;
    assert_eq!(count, 1);
    let answer = stack.send(event).await;
    assert_eq!(answer, serde_json::json!({"batchItemFailures": []}));
    let status = stack.status("mugs.csv").await;
    assert_eq!(status["status"], "succeeded", "{status}");
}

/// `events/catalog/due_feeds.json`, the batch as Lambda delivers it: a due feed and an
/// import nudge from the bus. Neither has work here, so neither is handed back; a message
/// that is not ours is dropped (retrying cannot fix it), not handed back either.
#[tokio::test]
async fn the_sample_batch_is_handled_and_nothing_is_handed_back() {
    let (stack, _sqs, _url) = queued_stack().await;
    let mut event = testkit::fixture("catalog/due_feeds.json");
    assert_eq!(event["Records"].as_array().unwrap().len(), 2);
    let answer = stack.send(event.clone()).await;
    assert_eq!(answer, serde_json::json!({"batchItemFailures": []}));
    event["Records"][0]["body"] = "{\"account_id\":\"acct_../x\",\"feed\":\"product\"}".into();
    let answer = stack.send(event).await;
    assert_eq!(answer, serde_json::json!({"batchItemFailures": []}));
    assert_eq!(stack.imports_at_stripe(ACCOUNT).await, 0);
}

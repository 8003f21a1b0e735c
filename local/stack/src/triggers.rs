//! The asynchronous event sources of `template.yaml`, locally: S3 `ObjectCreated`
//! notifications for a prefix (the S3 emulator is polled for new object versions),
//! EventBridge `rate(...)` schedules, and SQS event sources (the emulator's queue polled).

use std::collections::HashSet;
use std::path::PathBuf;
use std::time::Duration;

use aws_sdk_s3::Client;

use crate::runtime::LocalFunction;
use crate::template::{S3Trigger, Schedule, SqsTrigger, StackContext};

/// Where and how a function's asynchronous events go.
#[derive(Clone)]
pub struct Target {
    pub function: LocalFunction,
    pub retries: u32,
    pub dead_letters: PathBuf,
}

/// Every (key, version) under the prefix, oldest first.
async fn versions(
    client: &Client,
    trigger: &S3Trigger,
) -> Result<Vec<(String, String, i64, String)>, String> {
    let mut found = Vec::new();
    let mut key_marker: Option<String> = None;
    let mut version_marker: Option<String> = None;
    loop {
        let page = client
            .list_object_versions()
            .bucket(&trigger.bucket)
            .prefix(&trigger.prefix)
            .set_key_marker(key_marker.clone())
            .set_version_id_marker(version_marker.clone())
            .send()
            .await
            .map_err(|e| aws_sdk_s3::error::DisplayErrorContext(e).to_string())?;
        for version in page.versions() {
            let (Some(key), Some(id)) = (version.key(), version.version_id()) else {
                continue;
            };
            let modified = version.last_modified().map_or(0, |t| t.as_nanos());
            found.push((
                modified,
                key.to_string(),
                id.to_string(),
                version.size().unwrap_or(0),
                version.e_tag().unwrap_or_default().to_string(),
            ));
        }
        if page.is_truncated() != Some(true) {
            break;
        }
        key_marker = page.next_key_marker().map(str::to_string);
        version_marker = page.next_version_id_marker().map(str::to_string);
    }
    found.sort();
    Ok(found
        .into_iter()
        .map(|(_, key, id, size, etag)| (key, id, size, etag))
        .collect())
}

/// Notifies `target` of every object version created under the trigger's prefix from now
/// on (what is there already was notified before, or predates the stack).
pub async fn watch_bucket(
    client: Client,
    trigger: S3Trigger,
    context: StackContext,
    target: Target,
    every: Duration,
) -> Result<(), String> {
    let mut seen: HashSet<(String, String)> = versions(&client, &trigger)
        .await?
        .into_iter()
        .map(|(key, id, _, _)| (key, id))
        .collect();
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(every);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            let found = match versions(&client, &trigger).await {
                Ok(found) => found,
                Err(e) => {
                    eprintln!(
                        "  ! watching s3://{}/{}: {e}",
                        trigger.bucket, trigger.prefix
                    );
                    continue;
                }
            };
            for (key, id, size, etag) in found {
                if !seen.insert((key.clone(), id.clone())) {
                    continue;
                }
                let event = sample_events::aws::s3_object_created(
                    &sample_events::aws::CreatedObject {
                        bucket: &trigger.bucket,
                        key: &key,
                        size,
                        e_tag: &etag,
                        version_id: Some(&id),
                    },
                    &context.region,
                    &trigger.event_name,
                );
                println!(
                    "    s3://{}/{key} created -> {}",
                    trigger.bucket,
                    target.function.name()
                );
                let target = target.clone();
                tokio::spawn(async move {
                    target
                        .function
                        .invoke_async(event, target.retries, target.dead_letters)
                        .await;
                });
            }
        }
    });
    Ok(())
}

/// Sends the function a scheduled event every `every`.
pub fn schedule(
    schedule: Schedule,
    function_id: String,
    context: StackContext,
    target: Target,
    every: Duration,
) {
    let rule_arn = format!(
        "arn:aws:events:{}:{}:rule/{}-{function_id}{}",
        context.region, context.account_id, context.stack_name, schedule.event_name
    );
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            let event =
                sample_events::aws::scheduled(&rule_arn, &context.account_id, &context.region);
            // One tick at a time, as a rate rule with a slow target effectively is here.
            target
                .function
                .invoke_async(event, target.retries, target.dead_letters.clone())
                .await;
        }
    });
}

/// Lambda's SQS event source, locally: `max_concurrency` pollers each receive up to a batch
/// from the emulator's queue, invoke the function synchronously with it, and delete what
/// succeeded (every message, or all but the `batchItemFailures` when the function reports
/// partial failures). What failed comes back after `retry_after` (Lambda leaves it until
/// the queue's visibility timeout; locally that would stall a run for an hour).
pub fn consume_queue(
    client: aws_sdk_sqs::Client,
    trigger: SqsTrigger,
    queue_url: String,
    context: StackContext,
    function: LocalFunction,
    retry_after: Duration,
) {
    let arn = format!(
        "arn:aws:sqs:{}:{}:{}",
        context.region, context.account_id, trigger.queue
    );
    for _ in 0..trigger.max_concurrency {
        let (client, trigger, queue_url, arn, function, region) = (
            client.clone(),
            trigger.clone(),
            queue_url.clone(),
            arn.clone(),
            function.clone(),
            context.region.clone(),
        );
        tokio::spawn(async move {
            loop {
                let received = client
                    .receive_message()
                    .queue_url(&queue_url)
                    .max_number_of_messages(trigger.batch_size as i32)
                    .wait_time_seconds(1)
                    .message_system_attribute_names(
                        aws_sdk_sqs::types::MessageSystemAttributeName::ApproximateReceiveCount,
                    )
                    .send()
                    .await;
                let messages = match received {
                    Ok(output) => output.messages.unwrap_or_default(),
                    Err(e) => {
                        eprintln!(
                            "  ! polling {}: {}",
                            trigger.queue,
                            aws_sdk_sqs::error::DisplayErrorContext(e)
                        );
                        tokio::time::sleep(Duration::from_secs(1)).await;
                        continue;
                    }
                };
                if messages.is_empty() {
                    continue;
                }
                deliver(
                    &client,
                    &trigger,
                    &queue_url,
                    &arn,
                    &region,
                    &function,
                    messages,
                    retry_after,
                )
                .await;
            }
        });
    }
}

#[allow(clippy::too_many_arguments)]
async fn deliver(
    client: &aws_sdk_sqs::Client,
    trigger: &SqsTrigger,
    queue_url: &str,
    arn: &str,
    region: &str,
    function: &LocalFunction,
    messages: Vec<aws_sdk_sqs::types::Message>,
    retry_after: Duration,
) {
    let batch: Vec<sample_events::aws::QueueMessage<'_>> = messages
        .iter()
        .map(|m| sample_events::aws::QueueMessage {
            message_id: m.message_id().unwrap_or_default(),
            receipt_handle: m.receipt_handle().unwrap_or_default(),
            body: m.body().unwrap_or_default(),
            receive_count: m
                .attributes()
                .and_then(|a| {
                    a.get(&aws_sdk_sqs::types::MessageSystemAttributeName::ApproximateReceiveCount)
                })
                .and_then(|c| c.parse().ok())
                .unwrap_or(1),
        })
        .collect();
    let event = sample_events::aws::sqs_batch(arn, region, &batch);
    let failed: HashSet<String> = match function.invoke(&event).await {
        Ok(answer) if trigger.partial_failures => answer
            .get("batchItemFailures")
            .and_then(serde_json::Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|f| f.get("itemIdentifier").and_then(serde_json::Value::as_str))
            .map(str::to_string)
            .collect(),
        Ok(_) => HashSet::new(),
        Err(e) => {
            eprintln!(
                "  ! {} failed a batch from {}: {e}",
                function.name(),
                trigger.queue
            );
            batch.iter().map(|m| m.message_id.to_string()).collect()
        }
    };
    for message in &batch {
        let request = if failed.contains(message.message_id) {
            client
                .change_message_visibility()
                .queue_url(queue_url)
                .receipt_handle(message.receipt_handle)
                .visibility_timeout(retry_after.as_secs() as i32)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| aws_sdk_sqs::error::DisplayErrorContext(e).to_string())
        } else {
            client
                .delete_message()
                .queue_url(queue_url)
                .receipt_handle(message.receipt_handle)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| aws_sdk_sqs::error::DisplayErrorContext(e).to_string())
        };
        if let Err(e) = request {
            eprintln!("  ! settling a message of {}: {e}", trigger.queue);
        }
    }
}

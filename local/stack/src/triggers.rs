//! The asynchronous event sources of `template.yaml`, locally: S3 `ObjectCreated`
//! notifications for a prefix (the S3 emulator sends them to a queue of its own),
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

/// A queue's ARN in the emulator, which keeps everything under its default account.
pub fn emulator_queue_arn(context: &StackContext, queue: &str) -> String {
    format!("arn:aws:sqs:{}:123456789012:{queue}", context.region)
}

/// Notifies `target` of every object created under the trigger's prefix from now on, as
/// S3 does: the bucket's notification configuration sends them to a queue of the
/// emulator's (`<bucket>-<event>`), which this polls. (Listing the bucket instead costs the
/// emulator more with every object: at thousands it was all the emulator did.)
pub async fn watch_bucket(
    client: Client,
    sqs: aws_sdk_sqs::Client,
    trigger: S3Trigger,
    context: StackContext,
    target: Target,
) -> Result<(), String> {
    let sqs_error = |e: String| format!("the notification queue: {e}");
    let mut name = format!("{}-{}", trigger.bucket, trigger.event_name);
    name.truncate(80);
    let queue_url = sqs
        .create_queue()
        .queue_name(&name)
        .send()
        .await
        .map_err(|e| sqs_error(aws_sdk_sqs::error::DisplayErrorContext(e).to_string()))?
        .queue_url()
        .map(str::to_string)
        .ok_or_else(|| sqs_error("no URL".into()))?;
    let queue_arn = emulator_queue_arn(&context, &name);
    use aws_sdk_s3::types::{
        Event, FilterRule, FilterRuleName, NotificationConfiguration,
        NotificationConfigurationFilter, QueueConfiguration, S3KeyFilter,
    };
    // The template has one S3 trigger per bucket, so this configuration is the bucket's
    // whole (the emulator's answer to reading the current one is not one the SDK parses).
    let queue = QueueConfiguration::builder()
        .id(&trigger.event_name)
        .queue_arn(&queue_arn)
        .events(Event::from("s3:ObjectCreated:*"))
        .filter(
            NotificationConfigurationFilter::builder()
                .key(
                    S3KeyFilter::builder()
                        .filter_rules(
                            FilterRule::builder()
                                .name(FilterRuleName::Prefix)
                                .value(&trigger.prefix)
                                .build(),
                        )
                        .build(),
                )
                .build(),
        )
        .build()
        .map_err(|e| e.to_string())?;
    client
        .put_bucket_notification_configuration()
        .bucket(&trigger.bucket)
        .notification_configuration(
            NotificationConfiguration::builder()
                .queue_configurations(queue)
                .build(),
        )
        .send()
        .await
        .map_err(|e| aws_sdk_s3::error::DisplayErrorContext(e).to_string())?;
    // What is there already was notified before, or predates the stack.
    let mut notified = HashSet::new();
    let mut markers: (Option<String>, Option<String>) = (None, None);
    loop {
        let page = client
            .list_object_versions()
            .bucket(&trigger.bucket)
            .prefix(&trigger.prefix)
            .set_key_marker(markers.0.take())
            .set_version_id_marker(markers.1.take())
            .send()
            .await
            .map_err(|e| aws_sdk_s3::error::DisplayErrorContext(e).to_string())?;
        for version in page.versions() {
            if let (Some(key), Some(id)) = (version.key(), version.version_id()) {
                notified.insert((key.to_string(), id.to_string()));
            }
        }
        if page.is_truncated() != Some(true) {
            break;
        }
        markers = (
            page.next_key_marker().map(str::to_string),
            page.next_version_id_marker().map(str::to_string),
        );
    }
    tokio::spawn(async move {
        let what = format!("watching s3://{}/{}", trigger.bucket, trigger.prefix);
        loop {
            let request = sqs
                .receive_message()
                .queue_url(&queue_url)
                .max_number_of_messages(10);
            let messages = receive(request, &what).await;
            for message in messages {
                let body: serde_json::Value = message
                    .body()
                    .and_then(|b| serde_json::from_str(b).ok())
                    .unwrap_or_default();
                for record in body["Records"].as_array().into_iter().flatten() {
                    let created = record["eventName"]
                        .as_str()
                        .is_some_and(|n| n.starts_with("ObjectCreated"));
                    let object = &record["s3"]["object"];
                    let Some(raw_key) = object["key"].as_str().filter(|_| created) else {
                        continue;
                    };
                    // The same decoding the uploader applies to S3's events.
                    let Ok(key) = shared::encoding::decode_s3_event_key(raw_key) else {
                        eprintln!("  ! a notification with a malformed key: {raw_key}");
                        continue;
                    };
                    let e_tag = object["eTag"].as_str().unwrap_or_default();
                    // The emulator's notifications leave out the version S3 would name.
                    let version_id = match object["versionId"].as_str() {
                        Some(v) => Some(v.to_string()),
                        None => {
                            version_of(&client, &trigger.bucket, &key, e_tag, &mut notified).await
                        }
                    };
                    let event = sample_events::aws::s3_object_created(
                        &sample_events::aws::CreatedObject {
                            bucket: &trigger.bucket,
                            key: &key,
                            size: object["size"].as_i64().unwrap_or(0),
                            e_tag,
                            version_id: version_id.as_deref(),
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
                if let Some(receipt) = message.receipt_handle() {
                    let _ = sqs
                        .delete_message()
                        .queue_url(&queue_url)
                        .receipt_handle(receipt)
                        .send()
                        .await;
                }
            }
        }
    });
    Ok(())
}

/// One long poll (a second) of the emulator's queue; a failure is logged, waited out and
/// answered as no messages, so the poller carries on.
async fn receive(
    request: aws_sdk_sqs::operation::receive_message::builders::ReceiveMessageFluentBuilder,
    what: &str,
) -> Vec<aws_sdk_sqs::types::Message> {
    match request.wait_time_seconds(1).send().await {
        Ok(output) => output.messages.unwrap_or_default(),
        Err(e) => {
            eprintln!("  ! {what}: {}", aws_sdk_sqs::error::DisplayErrorContext(e));
            tokio::time::sleep(Duration::from_secs(1)).await;
            Vec::new()
        }
    }
}

/// The version a notification is about: the oldest version of `key` with its ETag that no
/// earlier notification named (notifications come in the order of the writes).
///
/// Usually that is the current version, which a `HeadObject` names. Only when the object
/// was written again since does this list its versions: the emulator copies every version
/// in the bucket to answer a listing, whatever the prefix, which at thousands of objects
/// was most of what it did. (An identical body written twice before the first
/// notification arrives may have its two notifications name the versions in swapped
/// order; both are named, and their contents are the same.)
async fn version_of(
    client: &Client,
    bucket: &str,
    key: &str,
    e_tag: &str,
    notified: &mut HashSet<(String, String)>,
) -> Option<String> {
    let same_tag =
        |tag: Option<&str>| tag.is_some_and(|t| t.trim_matches('"') == e_tag.trim_matches('"'));
    if let Ok(head) = client.head_object().bucket(bucket).key(key).send().await {
        if let Some(version) = head.version_id().filter(|_| same_tag(head.e_tag())) {
            let named = (key.to_string(), version.to_string());
            if !notified.contains(&named) {
                notified.insert(named);
                return Some(version.to_string());
            }
        }
    }
    let listed = client
        .list_object_versions()
        .bucket(bucket)
        .prefix(key)
        .send()
        .await
        .ok()?;
    let mut versions: Vec<_> = listed
        .versions()
        .iter()
        .filter(|v| v.key() == Some(key))
        .filter(|v| same_tag(v.e_tag()))
        .filter_map(|v| Some((v.last_modified()?.as_nanos(), v.version_id()?.to_string())))
        .collect();
    versions.sort();
    let (_, version) = versions
        .into_iter()
        .find(|(_, v)| !notified.contains(&(key.to_string(), v.clone())))?;
    notified.insert((key.to_string(), version.clone()));
    Some(version)
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
                let request = client
                    .receive_message()
                    .queue_url(&queue_url)
                    .max_number_of_messages(trigger.batch_size as i32)
                    .message_system_attribute_names(
                        aws_sdk_sqs::types::MessageSystemAttributeName::ApproximateReceiveCount,
                    );
                let messages = receive(request, &format!("polling {}", trigger.queue)).await;
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

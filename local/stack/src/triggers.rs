//! The asynchronous event sources of `template.yaml`, locally: S3 `ObjectCreated`
//! notifications for a prefix (the S3 emulator is polled for new object versions) and
//! EventBridge `rate(...)` schedules.

use std::collections::HashSet;
use std::path::PathBuf;
use std::time::Duration;

use aws_sdk_s3::Client;

use crate::runtime::LocalFunction;
use crate::template::{S3Trigger, Schedule, StackContext};

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

//! The `catalog-uploader` Lambda. Four triggers, one function:
//! - S3 `ObjectCreated` under `incoming/`: validate the file, queue it, and put its feed on
//!   the uploader's queue;
//! - the EventBridge schedule (every minute): put every feed with work on the queue (one
//!   message per feed at a time), give back expired stock holds;
//! - the queue (SQS, bounded concurrency): move each feed forward (upload what is due,
//!   poll what is in flight), and finish imports Stripe says changed (nudges from the bus);
//! - without a queue (`FEED_QUEUE_URL` unset) the schedule drives feeds itself and the bus
//!   invokes the function with nudges directly.
//!
//! Both arrive asynchronously: an `Err` makes Lambda retry the event (and, after the
//! retries, send it to the dead-letter queue); problems retrying cannot fix are reported
//! in S3 and logged, and the invocation succeeds.

use aws_lambda_events::s3::S3Event;
use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent};
use serde_json::Value;
use shared::bucket::S3Objects;
use shared::config::{BuiltWithSecrets, ConfigError, Env, UploaderConfig, stripe_secret_key};
use shared::metrics::Metrics;
use shared::store::dynamo;
use shared::stripe::catalog::CatalogApiSettings;
use shared::stripe::{self as stripe, StripeClient, StripeError};
use shared::uploader::{
    DeployedUploader, Dispatch, FileOutcome, ImportNudge, QueuedWork, SqsFeedQueue, TickSummary,
    UploadError,
};

pub type App = DeployedUploader;

#[derive(Debug, thiserror::Error)]
pub enum InitError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("stripe client: {0}")]
    Stripe(#[from] StripeError),
}

pub struct Function {
    config: UploaderConfig,
    catalog_api: CatalogApiSettings,
    dynamo: aws_sdk_dynamodb::Client,
    s3: aws_sdk_s3::Client,
    http: reqwest::Client,
    app: BuiltWithSecrets<App>,
    metrics: Metrics,
    dispatch: Dispatch,
}

/// Cold start: configuration checked (a bad setting stops here, named), clients built and
/// warmed; secrets read now when they are plain variables, else on first use.
pub async fn init(env: Env) -> Result<Function, InitError> {
    let config = UploaderConfig::from_env(&env)?;
    let catalog_api = CatalogApiSettings::from_env(&env)?;
    let dynamo = dynamo::client(&config.dynamo).await;
    let s3 = S3Objects::client(config.s3_endpoint.as_deref()).await;
    let http = stripe::http_client(&config.stripe)?;
    let dispatch = match &config.feed_queue_url {
        Some(url) => Dispatch::Sqs(SqsFeedQueue::new(
            shared::event_bus::SqsOrderEvents::client(config.sqs_endpoint.as_deref()).await,
            url,
        )),
        None => Dispatch::Inline,
    };
    tokio::join!(
        stripe::warm_up(&http, &config.stripe),
        dynamo::warm_up(&dynamo, &config.catalog_table)
    );
    let metrics = Metrics::emf(
        env.optional("METRICS_NAMESPACE").as_deref(),
        "catalog-uploader",
    );
    let function = Function {
        metrics,
        dispatch,
        app: BuiltWithSecrets::new(env),
        config,
        catalog_api,
        dynamo,
        s3,
        http,
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
                Ok::<_, InitError>(DeployedUploader::deployed(
                    &self.config,
                    &self.catalog_api,
                    &self.dynamo,
                    &self.s3,
                    client,
                    self.metrics.clone(),
                    self.dispatch.clone(),
                ))
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

/// What one invocation did, logged and returned.
#[derive(Debug, serde::Serialize)]
#[serde(untagged)]
pub enum Outcome {
    Files {
        files: Vec<FileOutcome>,
    },
    Tick(TickSummary),
    Nudged {
        import_status: Option<shared::imports::ImportStatus>,
    },
    /// An SQS batch: the messages to be delivered again (Lambda's partial batch response).
    Batch(SqsBatchResponse),
    Ignored {
        ignored: String,
    },
}

pub async fn handle(function: &Function, event: Value) -> Result<Outcome, HandlerError> {
    let app = function
        .app()
        .await
        .map_err(|e| HandlerError::NotConfigured(e.to_string()))?;
    if is_sqs(&event) {
        let batch: SqsEvent = serde_json::from_value(event)
            .map_err(|e| HandlerError::NotConfigured(format!("malformed SQS event: {e}")))?;
        return Ok(Outcome::Batch(handle_queue(app, batch).await));
    }
    if event.get("Records").is_some() {
        let s3: S3Event = serde_json::from_value(event)
            .map_err(|e| HandlerError::NotConfigured(format!("malformed S3 event: {e}")))?;
        return handle_s3(app, &function.config.bucket, s3).await;
    }
    // An import changed at Stripe (the webhooks function's nudge, through the bus).
    if let Some(nudge) = ImportNudge::from_event(&event) {
        // A malformed nudge cannot get better by retrying: logged and dropped (the
        // schedule's poll still finishes every import).
        let nudge = match nudge {
            Ok(nudge) => nudge,
            Err(why) => {
                tracing::warn!(error = %why, "malformed import nudge; ignored");
                return Ok(Outcome::Ignored { ignored: why });
            }
        };
        let status = app
            .on_import_event(&nudge.account_id, &nudge.import_id)
            .await
            .map_err(|e| HandlerError::Retry(e.to_string()))?;
        tracing::info!(account = %nudge.account_id, import = %nudge.import_id, status = ?status, "import nudge handled");
        return Ok(Outcome::Nudged {
            import_status: status,
        });
    }
    let scheduled = event.get("detail-type").and_then(Value::as_str) == Some("Scheduled Event")
        || event.get("source").and_then(Value::as_str) == Some("aws.events");
    if scheduled {
        let summary = app
            .on_schedule()
            .await
            .map_err(|e| HandlerError::Retry(e.to_string()))?;
        tracing::info!(
            feeds = summary.feeds,
            dispatched = summary.dispatched,
            failed = summary.failed,
            holds_expired = summary.holds_expired,
            "schedule tick"
        );
        if summary.holds_expired > 0 {
            function.metrics.put(
                "HoldsExpired",
                shared::metrics::Unit::Count,
                summary.holds_expired as f64,
                &[],
            );
        }
        return Ok(Outcome::Tick(summary));
    }
    tracing::warn!("event is neither an S3 notification nor a scheduled event; ignored");
    Ok(Outcome::Ignored {
        ignored: "unrecognised event".into(),
    })
}

async fn handle_s3(app: &App, bucket: &str, event: S3Event) -> Result<Outcome, HandlerError> {
    let mut files = Vec::new();
    let mut retry = Vec::new();
    for record in event.records {
        let is_create = record
            .event_name
            .as_deref()
            .is_some_and(|n| n.starts_with("ObjectCreated"));
        let record_bucket = record.s3.bucket.name.clone().unwrap_or_default();
        let Some(raw_key) = record.s3.object.key.clone() else {
            continue;
        };
        if !is_create {
            continue;
        }
        // Tenancy starts with the bucket: only the configured one is ours to read.
        if record_bucket != bucket {
            tracing::warn!(bucket = %record_bucket, "event from another bucket; ignored");
            files.push(FileOutcome::Ignored {
                reason: format!("bucket {record_bucket} is not the catalog bucket"),
            });
            continue;
        }
        let size = record.s3.object.size.unwrap_or(0).max(0) as u64;
        let result = app
            .on_object_created(
                bucket,
                &raw_key,
                record.s3.object.version_id.clone(),
                record.s3.object.e_tag.clone(),
                size,
            )
            .await;
        match result {
            Ok(outcome) => {
                tracing::info!(key = %raw_key, outcome = ?outcome, "catalog file handled");
                files.push(outcome);
            }
            Err(UploadError::Permanent(message)) => {
                tracing::error!(key = %raw_key, error = %message, "catalog file failed; not retried");
                files.push(FileOutcome::Rejected { reason: message });
            }
            Err(error) => {
                tracing::warn!(key = %raw_key, error = %error, "catalog file will be retried");
                retry.push(error.to_string());
            }
        }
    }
    let rejected = files
        .iter()
        .filter(|f| matches!(f, FileOutcome::Rejected { .. }))
        .count();
    if rejected > 0 {
        app.metrics.put(
            "FeedsRejected",
            shared::metrics::Unit::Count,
            rejected as f64,
            &[],
        );
    }
    if !retry.is_empty() {
        // Lambda retries the whole event; records already handled are duplicates then.
        return Err(HandlerError::Retry(retry.join("; ")));
    }
    Ok(Outcome::Files { files })
}

fn is_sqs(event: &Value) -> bool {
    event
        .pointer("/Records/0/eventSource")
        .and_then(Value::as_str)
        == Some("aws:sqs")
}

/// One SQS batch, its messages (different feeds: one per feed at a time) moved forward at
/// once: most of a feed's time is S3 and DynamoDB round trips, and the Stripe calls all
/// wait for their turn in the one pacer of this instance. A message retrying cannot help
/// (malformed, another tenant's) is dropped and logged; a transient failure sends it back
/// for another try.
async fn handle_queue(app: &App, batch: SqsEvent) -> SqsBatchResponse {
    use futures::StreamExt;
    let failed: Vec<Option<String>> = futures::stream::iter(batch.records)
        .map(|message| async move {
            let id = message.message_id.clone().unwrap_or_default();
            let work = match QueuedWork::parse(message.body.as_deref().unwrap_or_default()) {
                Ok(work) => work,
                Err(why) => {
                    tracing::warn!(message = %id, error = %why, "queue message dropped");
                    return None;
                }
            };
            match app.on_queued(work).await {
                Ok(()) => None,
                Err(UploadError::Permanent(why)) => {
                    tracing::error!(message = %id, error = %why, "queued work failed; not retried");
                    None
                }
                Err(error) => {
                    tracing::warn!(message = %id, error = %error, "queued work will be retried");
                    Some(id)
                }
            }
        })
        .buffer_unordered(QUEUED_AT_ONCE)
        .collect()
        .await;
    // Lambda's partial batch response (`ReportBatchItemFailures`): only these messages
    // come back; the others are deleted.
    let mut response = SqsBatchResponse::default();
    failed
        .into_iter()
        .flatten()
        .for_each(|id| response.add_failure(id));
    response
}

/// Messages of one batch worked on at once (a batch holds at most 10).
const QUEUED_AT_ONCE: usize = 10;

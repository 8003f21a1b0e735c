//! Fan-out of due feeds through SQS, so thousands of merchants are driven by Lambda's own
//! scaling under a bound we set (the queue's event source `MaximumConcurrency`), not by a
//! loop in one invocation.
//!
//! - The schedule's tick and the S3 intake *claim* a feed (`claim_dispatch`: a conditional
//!   write of `dispatched_at` on its slot) and send one `FeedDue` message for it. A feed
//!   already claimed, whose message is still waiting, is not sent again, so a backlog never
//!   piles up copies; a claim older than [`REDISPATCH_AFTER_MILLIS`] is taken again (its
//!   message was lost or dead-lettered).
//! - The uploader's SQS consumer clears the claim, then drives the feed; the feed's lease
//!   keeps two consumers from uploading the same feed at once.
//! - Import nudges reach the same queue from the bus (an EventBridge rule's target), so
//!   every invocation that calls Stripe is one of the queue's bounded consumers, and each
//!   can take an even share of the platform's Stripe rate (`stripe::StripeRateLimits`).
//!
//! Without a queue (`Dispatch::Inline`: tests, and deployments that set none) the tick
//! drives feeds itself, `concurrency` at a time.

use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::imports::Feed;
use crate::merchants::is_account_id;

/// A claim this old is taken again: its message was lost or went to the dead-letter queue.
pub const REDISPATCH_AFTER_MILLIS: i64 = 15 * 60 * 1000;

/// SQS takes at most ten messages per `SendMessageBatch`.
const SQS_BATCH: usize = 10;

/// The message body: this account's feed has work.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeedDue {
    pub account_id: String,
    pub feed: Feed,
}

/// What one queue message asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueuedWork {
    Feed(FeedDue),
    Nudge(super::ImportNudge),
}

impl QueuedWork {
    /// Reads a message body: a `FeedDue`, or the EventBridge event of an import nudge.
    /// Anything else is an error that retrying cannot fix.
    pub fn parse(body: &str) -> Result<Self, String> {
        let value: Value = serde_json::from_str(body)
            .map_err(|e| format!("a queue message that is not JSON: {e}"))?;
        if let Some(nudge) = super::ImportNudge::from_event(&value) {
            return nudge.map(QueuedWork::Nudge);
        }
        let due: FeedDue = serde_json::from_value(value)
            .map_err(|e| format!("a queue message that is neither a due feed nor a nudge: {e}"))?;
        if !is_account_id(&due.account_id) {
            return Err(format!(
                "a due feed for {:?}, which is not a connected account",
                due.account_id
            ));
        }
        Ok(QueuedWork::Feed(due))
    }
}

/// Where due feeds go.
#[derive(Debug, Clone, Default)]
pub enum Dispatch {
    /// Driven by the invocation that found them (the tick, `concurrency` at a time).
    #[default]
    Inline,
    Sqs(SqsFeedQueue),
    /// Kept in memory, for tests.
    Recorded(Arc<Mutex<Vec<FeedDue>>>),
    /// Refuses every message with this reason, for tests of a queue that is down.
    Refusing(String),
}

impl Dispatch {
    pub fn is_queued(&self) -> bool {
        !matches!(self, Dispatch::Inline)
    }

    /// Sends the messages; returns those that could not be sent.
    pub async fn send(&self, due: Vec<FeedDue>) -> Vec<(FeedDue, String)> {
        match self {
            Dispatch::Inline => due
                .into_iter()
                .map(|d| (d, "no queue to send to".to_string()))
                .collect(),
            Dispatch::Recorded(sent) => {
                sent.lock().unwrap_or_else(|e| e.into_inner()).extend(due);
                Vec::new()
            }
            Dispatch::Sqs(queue) => queue.send(due).await,
            Dispatch::Refusing(why) => due.into_iter().map(|d| (d, why.clone())).collect(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct SqsFeedQueue {
    client: aws_sdk_sqs::Client,
    url: String,
}

impl SqsFeedQueue {
    pub fn new(client: aws_sdk_sqs::Client, url: impl Into<String>) -> Self {
        Self {
            client,
            url: url.into(),
        }
    }

    async fn send(&self, due: Vec<FeedDue>) -> Vec<(FeedDue, String)> {
        use aws_sdk_sqs::types::SendMessageBatchRequestEntry;
        let mut failed = Vec::new();
        for chunk in due.chunks(SQS_BATCH) {
            let mut entries = Vec::with_capacity(chunk.len());
            for (i, d) in chunk.iter().enumerate() {
                let body = match serde_json::to_string(d) {
                    Ok(body) => body,
                    Err(e) => {
                        failed.push((d.clone(), e.to_string()));
                        continue;
                    }
                };
                match SendMessageBatchRequestEntry::builder()
                    .id(i.to_string())
                    .message_body(body)
                    .build()
                {
                    Ok(entry) => entries.push(entry),
                    Err(e) => failed.push((d.clone(), e.to_string())),
                }
            }
            if entries.is_empty() {
                continue;
            }
            let result = self
                .client
                .send_message_batch()
                .queue_url(&self.url)
                .set_entries(Some(entries))
                .send()
                .await;
            match result {
                Ok(output) => {
                    for f in output.failed() {
                        if let Some(d) = f.id().parse::<usize>().ok().and_then(|i| chunk.get(i)) {
                            failed.push((d.clone(), f.message().unwrap_or(f.code()).to_string()));
                        }
                    }
                }
                Err(e) => {
                    let why = aws_sdk_sqs::error::DisplayErrorContext(e).to_string();
                    failed.extend(chunk.iter().map(|d| (d.clone(), why.clone())));
                }
            }
        }
        failed
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn messages_are_due_feeds_or_nudges_and_nothing_else() {
        let due = serde_json::to_string(&FeedDue {
            account_id: "acct_1Shop".into(),
            feed: Feed::Inventory,
        })
        .unwrap();
        assert_eq!(
            QueuedWork::parse(&due).unwrap(),
            QueuedWork::Feed(FeedDue {
                account_id: "acct_1Shop".into(),
                feed: Feed::Inventory
            })
        );
        let nudge = json!({"detail-type": "catalog.import.changed", "source": "x",
            "detail": {"account_id": "acct_1Shop", "import_id": "impset_1"}});
        assert!(matches!(
            QueuedWork::parse(&nudge.to_string()),
            Ok(QueuedWork::Nudge(n)) if n.import_id == "impset_1"
        ));
        for bad in [
            "not json".to_string(),
            json!({"account_id": "acct_../x", "feed": "product"}).to_string(),
            json!({"account_id": "acct_1Shop", "feed": "recipes"}).to_string(),
            json!({"detail-type": "catalog.import.changed", "detail": {}}).to_string(),
            json!([1, 2]).to_string(),
        ] {
            assert!(QueuedWork::parse(&bad).is_err(), "{bad}");
        }
    }

    #[tokio::test]
    async fn recorded_dispatch_keeps_what_was_sent() {
        let sent = Arc::new(Mutex::new(Vec::new()));
        let dispatch = Dispatch::Recorded(sent.clone());
        let due = FeedDue {
            account_id: "acct_1Shop".into(),
            feed: Feed::Product,
        };
        assert!(dispatch.send(vec![due.clone()]).await.is_empty());
        assert_eq!(*sent.lock().unwrap(), vec![due.clone()]);
        assert_eq!(Dispatch::Inline.send(vec![due]).await.len(), 1);
    }
}

//! The Catalog table: `FEED#<feed>` upload slots (optimistic versioning), `IMPORT#<key>`
//! import records, `SKU#<id>` records (`skus.rs`) and stock holds (`holds.rs`), all under
//! the account's partition.

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{AttributeValue, WriteRequest};

use super::page::{SortOrder, account_page};
use super::{classify, decode, n, s, written};
use crate::imports::{ActiveSlot, Feed, FeedSlot, ImportRecord};
use crate::store::attr::to_item;
use crate::store::page::IMPORTS;
use crate::store::{FeedSlots, ImportLog, ImportPages, Page, PageRequest, StoreError};
use futures::StreamExt;

#[derive(Debug, Clone)]
pub struct DynamoCatalog {
    pub(super) client: Client,
    pub(super) table: String,
}

/// Sparse index of slots with work, with their `dispatched_at` and `poll_after`: the
/// schedule queries it instead of scanning SKUs, and sends only feeds with no message
/// waiting and no poll deferred, without a write per feed per tick.
pub const ACTIVE_INDEX: &str = "feeds_with_work";
const ACTIVE: &str = "1";

fn slot_key(feed: Feed) -> String {
    format!("FEED#{}", feed.as_str())
}

fn import_key(key: &str) -> String {
    // Zero-padded creation time first, so a reverse query lists newest first.
    format!("IMPORT#{key}")
}

pub(super) fn sku_key(sku: &str) -> String {
    format!("SKU#{sku}")
}

pub(super) fn item_of<T: serde::Serialize>(
    value: &T,
    sk: String,
) -> Result<HashMap<String, AttributeValue>, StoreError> {
    let json = serde_json::to_value(value).map_err(|e| StoreError::Permanent(e.to_string()))?;
    let mut item = to_item(&json)?;
    item.insert("sk".into(), s(&sk));
    Ok(item)
}

impl DynamoCatalog {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    pub(super) async fn get(
        &self,
        account_id: &str,
        sk: String,
    ) -> Result<Option<HashMap<String, AttributeValue>>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("account_id", s(account_id))
            .key("sk", s(&sk))
            .consistent_read(true)
            .send()
            .await
            .map_err(classify)?;
        Ok(output.item().cloned())
    }

    /// Writes in batches of 25 (DynamoDB's limit), a few batches at a time: a full catalog
    /// is hundreds of thousands of SKUs.
    pub(super) async fn batch_write(&self, requests: Vec<WriteRequest>) -> Result<(), StoreError> {
        let batches: Vec<Vec<WriteRequest>> =
            requests.chunks(25).map(<[WriteRequest]>::to_vec).collect();
        let results: Vec<Result<(), StoreError>> = futures::stream::iter(batches)
            .map(|batch| self.write_batch(batch))
            .buffer_unordered(8)
            .collect()
            .await;
        results.into_iter().collect()
    }

    async fn write_batch(&self, batch: Vec<WriteRequest>) -> Result<(), StoreError> {
        let mut pending = HashMap::from([(self.table.clone(), batch)]);
        // Unprocessed items come back under throttling: resend them with a short backoff.
        for attempt in 0..8u32 {
            let output = self
                .client
                .batch_write_item()
                .set_request_items(Some(pending))
                .send()
                .await
                .map_err(classify)?;
            match output.unprocessed_items() {
                Some(left) if !left.is_empty() => {
                    pending = left.clone();
                    tokio::time::sleep(std::time::Duration::from_millis(25 << attempt.min(5)))
                        .await;
                }
                _ => return Ok(()),
            }
        }
        Err(StoreError::Transient(
            "DynamoDB kept items unprocessed".into(),
        ))
    }
}

impl FeedSlots for DynamoCatalog {
    async fn slot(&self, account_id: &str, feed: Feed) -> Result<Option<FeedSlot>, StoreError> {
        self.get(account_id, slot_key(feed))
            .await?
            .as_ref()
            .map(decode)
            .transpose()
    }

    async fn save_slot(&self, slot: &FeedSlot) -> Result<bool, StoreError> {
        let mut next = slot.clone();
        next.version = slot.version + 1;
        let mut item = item_of(&next, slot_key(slot.feed))?;
        if slot.is_active() {
            item.insert("active".into(), s(ACTIVE));
        }
        let request = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item));
        let request = if slot.version == 0 {
            request.condition_expression("attribute_not_exists(account_id)")
        } else {
            request
                .condition_expression("version = :expected")
                .expression_attribute_values(":expected", n(slot.version))
        };
        written(request.send().await)
    }

    async fn active_slots(&self) -> Result<Vec<ActiveSlot>, StoreError> {
        let mut slots = Vec::new();
        let mut start = None;
        loop {
            let output = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(ACTIVE_INDEX)
                .key_condition_expression("active = :one")
                .expression_attribute_values(":one", s(ACTIVE))
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(classify)?;
            for item in output.items() {
                let account = item.get("account_id").and_then(|v| v.as_s().ok());
                let feed = item
                    .get("sk")
                    .and_then(|v| v.as_s().ok())
                    .and_then(|sk| sk.strip_prefix("FEED#"))
                    .and_then(Feed::parse);
                let number = |name: &str| {
                    item.get(name)
                        .and_then(|v| v.as_n().ok())
                        .and_then(|n| n.parse().ok())
                };
                if let (Some(account), Some(feed)) = (account, feed) {
                    slots.push(ActiveSlot {
                        account_id: account.clone(),
                        feed,
                        dispatched_at: number("dispatched_at"),
                        poll_after: number("poll_after"),
                    });
                }
            }
            start = output.last_evaluated_key().cloned();
            if start.is_none() {
                return Ok(slots);
            }
        }
    }

    async fn claim_dispatch(
        &self,
        account_id: &str,
        feed: Feed,
        now: i64,
        stale_before: i64,
    ) -> Result<bool, StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("account_id", s(account_id))
            .key("sk", s(&slot_key(feed)))
            .update_expression("SET dispatched_at = :now")
            .condition_expression(
                "attribute_exists(account_id) AND (attribute_not_exists(dispatched_at) OR dispatched_at < :stale)",
            )
            .expression_attribute_values(":now", n(now))
            .expression_attribute_values(":stale", n(stale_before))
            .send()
            .await;
        written(result)
    }

    async fn clear_dispatch(&self, account_id: &str, feed: Feed) -> Result<(), StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("account_id", s(account_id))
            .key("sk", s(&slot_key(feed)))
            .update_expression("REMOVE dispatched_at")
            .condition_expression("attribute_exists(account_id)")
            .send()
            .await;
        // A slot that is gone has no claim to clear.
        written(result).map(|_| ())
    }
}

impl ImportLog for DynamoCatalog {
    async fn put_import(&self, record: &ImportRecord) -> Result<(), StoreError> {
        let item = item_of(record, import_key(&record.import_key))?;
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(classify)?;
        Ok(())
    }

    async fn import(
        &self,
        account_id: &str,
        key: &str,
    ) -> Result<Option<ImportRecord>, StoreError> {
        self.get(account_id, import_key(key))
            .await?
            .as_ref()
            .map(decode)
            .transpose()
    }

    async fn imports(
        &self,
        account_id: &str,
        limit: usize,
    ) -> Result<Vec<ImportRecord>, StoreError> {
        let page = self
            .import_page(account_id, &PageRequest::first(limit))
            .await?;
        Ok(page.items)
    }
}

impl ImportPages for DynamoCatalog {
    async fn import_page(
        &self,
        account_id: &str,
        request: &PageRequest,
    ) -> Result<Page<ImportRecord>, StoreError> {
        account_page(
            &self.client,
            &self.table,
            &IMPORTS,
            account_id,
            request,
            SortOrder::Reversed,
        )
        .await
    }
}

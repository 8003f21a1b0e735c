//! The Catalog table: `FEED#<feed>` upload slots (optimistic versioning), `IMPORT#<key>`
//! import records and `SKU#<id>` records, all under the account's partition.

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{
    AttributeValue, DeleteRequest, KeysAndAttributes, Put, PutRequest, ReturnValue,
    TransactWriteItem, Update, WriteRequest,
};

use super::{classify, decode, n, s};
use crate::imports::{Feed, FeedSlot, ImportRecord};
use crate::skus::{Availability, SkuChange, SkuRecord};
use crate::store::attr::to_item;
use crate::store::{
    FeedSlots, ImportLog, Reservation, SkuRecords, StockLine, StockReservations, StoreError,
};
use futures::StreamExt;

#[derive(Debug, Clone)]
pub struct DynamoCatalog {
    client: Client,
    table: String,
}

/// Sparse index of slots with work; the schedule queries it instead of scanning SKUs.
pub const ACTIVE_INDEX: &str = "active_feeds";
const ACTIVE: &str = "1";

fn slot_key(feed: Feed) -> String {
    format!("FEED#{}", feed.as_str())
}

fn import_key(key: &str) -> String {
    // Zero-padded creation time first, so a reverse query lists newest first.
    format!("IMPORT#{key}")
}

fn sku_key(sku: &str) -> String {
    format!("SKU#{sku}")
}

fn item_of<T: serde::Serialize>(
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

    async fn get(
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
    async fn batch_write(&self, requests: Vec<WriteRequest>) -> Result<(), StoreError> {
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
        match request.send().await {
            Ok(_) => Ok(true),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_conditional_check_failed_exception()) =>
            {
                Ok(false)
            }
            Err(e) => Err(classify(e)),
        }
    }

    async fn active_slots(&self) -> Result<Vec<(String, Feed)>, StoreError> {
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
                if let (Some(account), Some(feed)) = (account, feed) {
                    slots.push((account.clone(), feed));
                }
            }
            start = output.last_evaluated_key().cloned();
            if start.is_none() {
                return Ok(slots);
            }
        }
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
        let output = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("account_id = :a AND begins_with(sk, :p)")
            .expression_attribute_values(":a", s(account_id))
            .expression_attribute_values(":p", s("IMPORT#"))
            .scan_index_forward(false)
            .limit(limit.clamp(1, 1000) as i32)
            .send()
            .await
            .map_err(classify)?;
        output.items().iter().map(decode).collect()
    }
}

impl SkuRecords for DynamoCatalog {
    async fn sku(&self, account_id: &str, sku: &str) -> Result<Option<SkuRecord>, StoreError> {
        self.get(account_id, sku_key(sku))
            .await?
            .as_ref()
            .map(decode)
            .transpose()
    }

    async fn skus(
        &self,
        account_id: &str,
        skus: &[String],
    ) -> Result<HashMap<String, SkuRecord>, StoreError> {
        let mut found = HashMap::new();
        let mut unique: Vec<&String> = skus.iter().collect();
        unique.sort();
        unique.dedup();
        for chunk in unique.chunks(100) {
            let mut keys = KeysAndAttributes::builder().consistent_read(true);
            for sku in chunk {
                keys = keys.keys(HashMap::from([
                    ("account_id".to_string(), s(account_id)),
                    ("sk".to_string(), s(&sku_key(sku))),
                ]));
            }
            let mut pending = HashMap::from([(
                self.table.clone(),
                keys.build()
                    .map_err(|e| StoreError::Permanent(e.to_string()))?,
            )]);
            for attempt in 0..8u32 {
                let output = self
                    .client
                    .batch_get_item()
                    .set_request_items(Some(pending))
                    .send()
                    .await
                    .map_err(classify)?;
                for item in output
                    .responses()
                    .and_then(|r| r.get(&self.table))
                    .into_iter()
                    .flatten()
                {
                    let record: SkuRecord = decode(item)?;
                    found.insert(record.sku.clone(), record);
                }
                match output.unprocessed_keys() {
                    Some(left) if !left.is_empty() => {
                        pending = left.clone();
                        tokio::time::sleep(std::time::Duration::from_millis(5 << attempt.min(5)))
                            .await;
                    }
                    _ => break,
                }
            }
        }
        Ok(found)
    }

    async fn apply_sku_changes(
        &self,
        account_id: &str,
        source_import: &str,
        now: i64,
        changes: &[SkuChange],
    ) -> Result<(), StoreError> {
        let mut batch = Vec::new();
        let mut updates = Vec::new();
        for change in changes {
            match change {
                SkuChange::Replace(record) => {
                    let item = item_of(record, sku_key(&record.sku))?;
                    let put = PutRequest::builder()
                        .set_item(Some(item))
                        .build()
                        .map_err(|e| StoreError::Permanent(e.to_string()))?;
                    batch.push(WriteRequest::builder().put_request(put).build());
                }
                SkuChange::Delete { sku } => {
                    let delete = DeleteRequest::builder()
                        .key("account_id", s(account_id))
                        .key("sk", s(&sku_key(sku)))
                        .build()
                        .map_err(|e| StoreError::Permanent(e.to_string()))?;
                    batch.push(WriteRequest::builder().delete_request(delete).build());
                }
                partial => updates.push(partial.clone()),
            }
        }
        self.batch_write(batch).await?;
        // Partial rows: one update each, a few at a time.
        let results: Vec<Result<(), StoreError>> = futures::stream::iter(updates)
            .map(|change: SkuChange| async move {
                self.update_partial(account_id, source_import, now, &change)
                    .await
            })
            .buffer_unordered(8)
            .collect()
            .await;
        results.into_iter().collect()
    }
}

impl DynamoCatalog {
    async fn update_partial(
        &self,
        account_id: &str,
        source_import: &str,
        now: i64,
        change: &SkuChange,
    ) -> Result<(), StoreError> {
        let request = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("account_id", s(account_id))
            .expression_attribute_values(":source", s(source_import))
            .expression_attribute_values(":now", n(now));
        let request = match change {
            SkuChange::Stock {
                sku,
                availability,
                quantity,
            } => {
                let request = request
                    .key("sk", s(&sku_key(sku)))
                    .expression_attribute_values(":sku", s(sku))
                    .expression_attribute_values(":availability", s(availability.as_str()));
                match quantity {
                    Some(q) => request
                        .update_expression("SET sku = :sku, availability = :availability, quantity = :quantity, available = :quantity, source_import = :source, updated_at = :now")
                        .expression_attribute_values(":quantity", n(*q)),
                    None => request.update_expression(
                        "SET sku = :sku, availability = :availability, source_import = :source, updated_at = :now REMOVE quantity, available",
                    ),
                }
            }
            SkuChange::Price { sku, price } => {
                let request = request
                    .key("sk", s(&sku_key(sku)))
                    .expression_attribute_values(":sku", s(sku));
                match price {
                    Some(price) => request
                        .update_expression("SET sku = :sku, price = :price, source_import = :source, updated_at = :now, availability = if_not_exists(availability, :in_stock)")
                        .expression_attribute_values(":price", super::encode_attr(price)?)
                        .expression_attribute_values(":in_stock", s(Availability::InStock.as_str())),
                    None => request.update_expression("SET sku = :sku, source_import = :source, updated_at = :now REMOVE price"),
                }
            }
            _ => return Ok(()),
        };
        request.send().await.map_err(classify)?;
        Ok(())
    }
}

fn reservation_key(id: &str) -> String {
    format!("RES#{id}")
}

#[derive(serde::Serialize, serde::Deserialize)]
struct ReservationRecord {
    account_id: String,
    reservation_id: String,
    lines: Vec<StockLine>,
    released: bool,
    created_at: i64,
}

impl StockReservations for DynamoCatalog {
    async fn reserve(
        &self,
        account_id: &str,
        reservation_id: &str,
        lines: &[StockLine],
    ) -> Result<Reservation, StoreError> {
        if lines.len() > 99 {
            return Err(StoreError::Permanent(
                "a reservation holds at most 99 SKUs".into(),
            ));
        }
        let permanent =
            |e: aws_sdk_dynamodb::error::BuildError| StoreError::Permanent(e.to_string());
        let mut items = Vec::with_capacity(lines.len() + 1);
        for line in lines {
            let update = Update::builder()
                .table_name(&self.table)
                .key("account_id", s(account_id))
                .key("sk", s(&sku_key(&line.sku)))
                .update_expression("SET available = available - :q")
                .condition_expression("available >= :q")
                .expression_attribute_values(":q", n(line.quantity))
                .build()
                .map_err(permanent)?;
            items.push(TransactWriteItem::builder().update(update).build());
        }
        let record = ReservationRecord {
            account_id: account_id.to_string(),
            reservation_id: reservation_id.to_string(),
            lines: lines.to_vec(),
            released: false,
            created_at: crate::clock::Clock::now_millis(&crate::clock::SystemClock),
        };
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item_of(&record, reservation_key(reservation_id))?))
            // A released reservation (the payment failed) may be taken again by the
            // checkout's next finalize; a live one is not taken twice.
            .condition_expression("attribute_not_exists(sk) OR released = :released")
            .expression_attribute_values(":released", AttributeValue::Bool(true))
            .build()
            .map_err(permanent)?;
        items.push(TransactWriteItem::builder().put(put).build());
        let error = match self
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await
        {
            Ok(_) => return Ok(Reservation::Reserved),
            Err(e) => e,
        };
        let reasons: Vec<Option<String>> = match error.as_service_error() {
            Some(aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError::TransactionCanceledException(c)) => {
                c.cancellation_reasons().iter().map(|r| r.code().map(str::to_string)).collect()
            }
            _ => return Err(classify(error)),
        };
        let failed =
            |i: usize| reasons.get(i).and_then(|r| r.as_deref()) == Some("ConditionalCheckFailed");
        if failed(lines.len()) {
            return Ok(Reservation::AlreadyReserved);
        }
        match (0..lines.len()).find(|&i| failed(i)) {
            Some(i) => Ok(Reservation::Short {
                sku: lines[i].sku.clone(),
            }),
            // Cancelled for another reason (a conflicting transaction): worth retrying.
            None => Err(StoreError::Transient(format!(
                "reservation cancelled: {reasons:?}"
            ))),
        }
    }

    async fn release(&self, account_id: &str, reservation_id: &str) -> Result<bool, StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("account_id", s(account_id))
            .key("sk", s(&reservation_key(reservation_id)))
            .update_expression("SET released = :yes")
            .condition_expression("released = :no")
            .expression_attribute_values(":yes", AttributeValue::Bool(true))
            .expression_attribute_values(":no", AttributeValue::Bool(false))
            .return_values(ReturnValue::AllOld)
            .send()
            .await;
        let old = match result {
            Ok(output) => output.attributes().cloned().unwrap_or_default(),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_conditional_check_failed_exception()) =>
            {
                return Ok(false);
            }
            Err(e) => return Err(classify(e)),
        };
        let record: ReservationRecord = decode(&old)?;
        for line in &record.lines {
            // Only into the record the stock was taken from: a newer feed superseded it.
            let result = self
                .client
                .update_item()
                .table_name(&self.table)
                .key("account_id", s(account_id))
                .key("sk", s(&sku_key(&line.sku)))
                .update_expression("SET available = available + :q")
                .condition_expression("source_import = :gen AND attribute_exists(available)")
                .expression_attribute_values(":q", n(line.quantity))
                .expression_attribute_values(":gen", s(&line.source_import))
                .send()
                .await;
            match result {
                Ok(_) => {}
                Err(e)
                    if e.as_service_error()
                        .is_some_and(|s| s.is_conditional_check_failed_exception()) => {}
                Err(e) => return Err(classify(e)),
            }
        }
        Ok(true)
    }
}

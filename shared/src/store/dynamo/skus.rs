//! `SKU#<id>` records in the Catalog table. A feed row that sets a quantity sets
//! `available` to that quantity less what open holds keep (`held`), in the same update, so
//! neither a new feed nor the same import applied again ever gives away held stock.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{AttributeValue, DeleteRequest, KeysAndAttributes, WriteRequest};
use futures::StreamExt;

use super::catalog::{DynamoCatalog, sku_key};
use super::{classify, decode, n, s, written};
use crate::skus::{Availability, SkuChange, SkuRecord};
use crate::store::attr::to_item;
use crate::store::{SkuRecords, SkuRetirement, SkusRetired, StoreError};

/// Attributes a feed never writes: the keys, and the stock the holds account for.
const KEPT: [&str; 4] = ["account_id", "sk", "available", "held"];

/// Optional fields of a [`SkuRecord`] a new full row removes when it leaves them out.
const OPTIONAL: [&str; 4] = ["title", "quantity", "price", "shipping_cost_basis"];

/// Updates in flight at once while applying a feed.
const CONCURRENCY: usize = 16;

/// The quantity a row sets becomes what is available, less what open holds keep.
const AVAILABLE_FROM_QUANTITY: &str = "available = :quantity - if_not_exists(held, :zero)";

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
        let mut deletes = Vec::new();
        let mut updates = Vec::new();
        for change in changes {
            match change {
                SkuChange::Delete { sku } => {
                    let delete = DeleteRequest::builder()
                        .key("account_id", s(account_id))
                        .key("sk", s(&sku_key(sku)))
                        .build()
                        .map_err(|e| StoreError::Permanent(e.to_string()))?;
                    deletes.push(WriteRequest::builder().delete_request(delete).build());
                }
                other => updates.push(other.clone()),
            }
        }
        self.batch_write(deletes).await?;
        // One update per row: only an update can keep `held` and compute `available` from
        // it atomically, whatever holds are placed meanwhile.
        let results: Vec<Result<(), StoreError>> = futures::stream::iter(updates)
            .map(|change: SkuChange| async move {
                self.update_sku(account_id, source_import, now, &change)
                    .await
            })
            .buffer_unordered(CONCURRENCY)
            .collect()
            .await;
        results.into_iter().collect()
    }
}

/// A record no row of the import (`:import`) wrote. Records from before `product_import`
/// existed lack it, and a replace file's own rows all set it.
const NOT_FROM_IMPORT: &str = "(attribute_not_exists(product_import) OR product_import <> :import)";

impl SkuRetirement for DynamoCatalog {
    async fn retire_skus_not_in(
        &self,
        account_id: &str,
        product_import: &str,
        now: i64,
    ) -> Result<SkusRetired, StoreError> {
        let mut retired = SkusRetired::default();
        let mut start = None;
        loop {
            // Only the key comes back: the decision is made again, conditionally, per item.
            let page = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("account_id = :a AND begins_with(sk, :p)")
                .filter_expression(NOT_FROM_IMPORT)
                .projection_expression("sk")
                .expression_attribute_values(":a", s(account_id))
                .expression_attribute_values(":p", s(&sku_key("")))
                .expression_attribute_values(":import", s(product_import))
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(classify)?;
            let keys: Vec<String> = page
                .items()
                .iter()
                .filter_map(|item| item.get("sk").and_then(|v| v.as_s().ok()).cloned())
                .collect();
            let outcomes: Vec<Result<Retired, StoreError>> = futures::stream::iter(keys)
                .map(|sk| self.retire_sku(account_id, sk, product_import, now))
                .buffer_unordered(CONCURRENCY)
                .collect()
                .await;
            for outcome in outcomes {
                match outcome? {
                    Retired::Deleted => retired.deleted += 1,
                    Retired::OutOfStock => retired.out_of_stock += 1,
                    Retired::Kept => {}
                }
            }
            start = page.last_evaluated_key().cloned();
            if start.is_none() {
                return Ok(retired);
            }
        }
    }
}

enum Retired {
    Deleted,
    OutOfStock,
    /// Written by the import after all, or its holds settled between the two writes (the
    /// next replace import removes it).
    Kept,
}

impl DynamoCatalog {
    /// Deletes one record left out of the import, or, while holds keep stock in it, stops
    /// it selling. Both writes are conditional, so a row written meanwhile is never lost.
    async fn retire_sku(
        &self,
        account_id: &str,
        sk: String,
        product_import: &str,
        now: i64,
    ) -> Result<Retired, StoreError> {
        let deleted = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key("account_id", s(account_id))
            .key("sk", s(&sk))
            .condition_expression(format!(
                "{NOT_FROM_IMPORT} AND (attribute_not_exists(held) OR held <= :zero)"
            ))
            .expression_attribute_values(":import", s(product_import))
            .expression_attribute_values(":zero", n(0))
            .send()
            .await;
        if written(deleted)? {
            return Ok(Retired::Deleted);
        }
        let stopped = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("account_id", s(account_id))
            .key("sk", s(&sk))
            .update_expression("SET availability = :out, updated_at = :now")
            .condition_expression(format!("{NOT_FROM_IMPORT} AND held > :zero"))
            .expression_attribute_values(":import", s(product_import))
            .expression_attribute_values(":zero", n(0))
            .expression_attribute_values(":out", s(Availability::OutOfStock.as_str()))
            .expression_attribute_values(":now", n(now))
            .send()
            .await;
        Ok(if written(stopped)? {
            Retired::OutOfStock
        } else {
            Retired::Kept
        })
    }
}

/// One UpdateItem's expression and values.
#[derive(Default)]
struct Update {
    set: Vec<String>,
    remove: Vec<String>,
    names: HashMap<String, String>,
    values: HashMap<String, AttributeValue>,
}

impl Update {
    fn set_value(&mut self, attribute: &str, value: AttributeValue) {
        let name = format!("#{attribute}");
        let placeholder = format!(":{attribute}");
        self.set.push(format!("{name} = {placeholder}"));
        self.names.insert(name, attribute.to_string());
        self.values.insert(placeholder, value);
    }

    fn remove(&mut self, attribute: &str) {
        let name = format!("#{attribute}");
        self.remove.push(name.clone());
        self.names.insert(name, attribute.to_string());
    }

    /// `available` follows the row's quantity (less `held`), or goes with it.
    fn quantity(&mut self, quantity: Option<i64>) {
        match quantity {
            Some(q) => {
                self.set.push(AVAILABLE_FROM_QUANTITY.into());
                self.values.insert(":quantity".into(), n(q));
                self.values.insert(":zero".into(), n(0));
            }
            None => self.remove("available"),
        }
    }

    fn expression(&self) -> String {
        let mut expression = format!("SET {}", self.set.join(", "));
        if !self.remove.is_empty() {
            expression.push_str(&format!(" REMOVE {}", self.remove.join(", ")));
        }
        expression
    }
}

impl DynamoCatalog {
    async fn update_sku(
        &self,
        account_id: &str,
        source_import: &str,
        now: i64,
        change: &SkuChange,
    ) -> Result<(), StoreError> {
        let mut update = Update::default();
        let sku = match change {
            SkuChange::Replace(record) => {
                let json = serde_json::to_value(record)
                    .map_err(|e| StoreError::Permanent(e.to_string()))?;
                let item = to_item(&json)?;
                for (attribute, value) in item {
                    if !KEPT.contains(&attribute.as_str()) {
                        update.set_value(&attribute, value);
                    }
                }
                for attribute in OPTIONAL {
                    if json.get(attribute).is_none_or(|v| v.is_null()) {
                        update.remove(attribute);
                    }
                }
                update.quantity(record.quantity);
                &record.sku
            }
            SkuChange::Stock {
                sku,
                availability,
                quantity,
            } => {
                update.set_value("sku", s(sku));
                update.set_value("availability", s(availability.as_str()));
                update.set_value("source_import", s(source_import));
                update.set_value("updated_at", n(now));
                match quantity {
                    Some(q) => update.set_value("quantity", n(*q)),
                    None => update.remove("quantity"),
                }
                update.quantity(*quantity);
                sku
            }
            SkuChange::Price { sku, price } => {
                update.set_value("sku", s(sku));
                update.set_value("source_import", s(source_import));
                update.set_value("updated_at", n(now));
                match price {
                    Some(price) => update.set_value("price", super::encode_attr(price)?),
                    None => update.remove("price"),
                }
                // A price row for a SKU no product row has named yet starts it in stock.
                update
                    .set
                    .push("#availability = if_not_exists(#availability, :in_stock)".into());
                update
                    .names
                    .insert("#availability".into(), "availability".into());
                update
                    .values
                    .insert(":in_stock".into(), s(Availability::InStock.as_str()));
                sku
            }
            SkuChange::Delete { .. } => return Ok(()),
        };
        self.client
            .update_item()
            .table_name(&self.table)
            .key("account_id", s(account_id))
            .key("sk", s(&sku_key(sku)))
            .update_expression(update.expression())
            .set_expression_attribute_names(Some(update.names))
            .set_expression_attribute_values(Some(update.values))
            .send()
            .await
            .map_err(classify)?;
        Ok(())
    }
}

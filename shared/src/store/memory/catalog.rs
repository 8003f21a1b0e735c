//! The Catalog table in memory: versioned feed slots, import records, SKU records and stock
//! reservations, with the DynamoDB adapter's conditions (a slot write needs the version it
//! read; a reservation takes every line or none; a release gives stock back once, and only
//! to the record the stock was taken from).

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use super::lock;
use crate::imports::{Feed, FeedSlot, ImportRecord};
use crate::skus::{Availability, SkuChange, SkuRecord};
use crate::store::{
    FeedSlots, ImportLog, Reservation, SkuRecords, StockLine, StockReservations, StoreError,
};

#[derive(Debug, Clone)]
struct Held {
    lines: Vec<StockLine>,
    released: bool,
}

#[derive(Debug, Default)]
struct Tables {
    slots: BTreeMap<(String, &'static str), FeedSlot>,
    imports: BTreeMap<(String, String), ImportRecord>,
    skus: BTreeMap<(String, String), SkuRecord>,
    reservations: BTreeMap<(String, String), Held>,
}

#[derive(Debug, Default)]
pub struct MemoryCatalog {
    tables: Mutex<Tables>,
}

impl MemoryCatalog {
    /// Every SKU record of `account_id`, by SKU.
    pub fn sku_records(&self, account_id: &str) -> BTreeMap<String, SkuRecord> {
        lock(&self.tables)
            .skus
            .iter()
            .filter(|((account, _), _)| account == account_id)
            .map(|((_, sku), record)| (sku.clone(), record.clone()))
            .collect()
    }
}

impl FeedSlots for MemoryCatalog {
    async fn slot(&self, account_id: &str, feed: Feed) -> Result<Option<FeedSlot>, StoreError> {
        Ok(lock(&self.tables)
            .slots
            .get(&(account_id.to_string(), feed.as_str()))
            .cloned())
    }

    async fn save_slot(&self, slot: &FeedSlot) -> Result<bool, StoreError> {
        let mut tables = lock(&self.tables);
        let key = (slot.account_id.clone(), slot.feed.as_str());
        let stored_version = tables.slots.get(&key).map(|s| s.version);
        let expected = if slot.version == 0 {
            None
        } else {
            Some(slot.version)
        };
        if stored_version != expected {
            return Ok(false);
        }
        let mut next = slot.clone();
        next.version = slot.version + 1;
        tables.slots.insert(key, next);
        Ok(true)
    }

    async fn active_slots(&self) -> Result<Vec<(String, Feed)>, StoreError> {
        Ok(lock(&self.tables)
            .slots
            .values()
            .filter(|s| s.is_active())
            .map(|s| (s.account_id.clone(), s.feed))
            .collect())
    }
}

impl ImportLog for MemoryCatalog {
    async fn put_import(&self, record: &ImportRecord) -> Result<(), StoreError> {
        lock(&self.tables).imports.insert(
            (record.account_id.clone(), record.import_key.clone()),
            record.clone(),
        );
        Ok(())
    }

    async fn import(
        &self,
        account_id: &str,
        import_key: &str,
    ) -> Result<Option<ImportRecord>, StoreError> {
        Ok(lock(&self.tables)
            .imports
            .get(&(account_id.to_string(), import_key.to_string()))
            .cloned())
    }

    async fn imports(
        &self,
        account_id: &str,
        limit: usize,
    ) -> Result<Vec<ImportRecord>, StoreError> {
        // Import keys start with the zero-padded arrival time: reverse key order is newest first.
        Ok(lock(&self.tables)
            .imports
            .iter()
            .rev()
            .filter(|((account, _), _)| account == account_id)
            .take(limit.clamp(1, 1000))
            .map(|(_, record)| record.clone())
            .collect())
    }
}

impl SkuRecords for MemoryCatalog {
    async fn sku(&self, account_id: &str, sku: &str) -> Result<Option<SkuRecord>, StoreError> {
        Ok(lock(&self.tables)
            .skus
            .get(&(account_id.to_string(), sku.to_string()))
            .cloned())
    }

    async fn skus(
        &self,
        account_id: &str,
        skus: &[String],
    ) -> Result<HashMap<String, SkuRecord>, StoreError> {
        let tables = lock(&self.tables);
        Ok(skus
            .iter()
            .filter_map(|sku| {
                tables
                    .skus
                    .get(&(account_id.to_string(), sku.clone()))
                    .map(|r| (sku.clone(), r.clone()))
            })
            .collect())
    }

    async fn apply_sku_changes(
        &self,
        account_id: &str,
        source_import: &str,
        now_millis: i64,
        changes: &[SkuChange],
    ) -> Result<(), StoreError> {
        let mut tables = lock(&self.tables);
        for change in changes {
            match change {
                SkuChange::Replace(record) => {
                    tables
                        .skus
                        .insert((account_id.to_string(), record.sku.clone()), record.clone());
                }
                SkuChange::Delete { sku } => {
                    tables.skus.remove(&(account_id.to_string(), sku.clone()));
                }
                // Partial rows update an existing record or start a bare one, as an
                // UpdateItem does; a new stock count supersedes every reservation.
                SkuChange::Stock {
                    sku,
                    availability,
                    quantity,
                } => {
                    let record = tables
                        .skus
                        .entry((account_id.to_string(), sku.clone()))
                        .or_insert_with(|| bare(account_id, sku, *availability));
                    record.availability = *availability;
                    record.quantity = *quantity;
                    record.available = *quantity;
                    record.source_import = source_import.to_string();
                    record.updated_at = now_millis;
                }
                SkuChange::Price { sku, price } => {
                    let record = tables
                        .skus
                        .entry((account_id.to_string(), sku.clone()))
                        .or_insert_with(|| bare(account_id, sku, Availability::InStock));
                    record.price = *price;
                    record.source_import = source_import.to_string();
                    record.updated_at = now_millis;
                }
            }
        }
        Ok(())
    }
}

fn bare(account_id: &str, sku: &str, availability: Availability) -> SkuRecord {
    SkuRecord {
        account_id: account_id.to_string(),
        sku: sku.to_string(),
        title: None,
        availability,
        quantity: None,
        available: None,
        price: None,
        shipping: Vec::new(),
        shipping_cost_basis: None,
        source_import: String::new(),
        updated_at: 0,
    }
}

impl StockReservations for MemoryCatalog {
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
        let mut tables = lock(&self.tables);
        let key = (account_id.to_string(), reservation_id.to_string());
        if tables.reservations.get(&key).is_some_and(|h| !h.released) {
            return Ok(Reservation::AlreadyReserved);
        }
        for line in lines {
            let available = tables
                .skus
                .get(&(account_id.to_string(), line.sku.clone()))
                .and_then(|r| r.available);
            if available.is_none_or(|a| a < line.quantity) {
                return Ok(Reservation::Short {
                    sku: line.sku.clone(),
                });
            }
        }
        for line in lines {
            if let Some(record) = tables
                .skus
                .get_mut(&(account_id.to_string(), line.sku.clone()))
            {
                record.available = record.available.map(|a| a - line.quantity);
            }
        }
        tables.reservations.insert(
            key,
            Held {
                lines: lines.to_vec(),
                released: false,
            },
        );
        Ok(Reservation::Reserved)
    }

    async fn release(&self, account_id: &str, reservation_id: &str) -> Result<bool, StoreError> {
        let mut tables = lock(&self.tables);
        let key = (account_id.to_string(), reservation_id.to_string());
        let Some(held) = tables.reservations.get_mut(&key).filter(|h| !h.released) else {
            return Ok(false);
        };
        held.released = true;
        let lines = held.lines.clone();
        for line in lines {
            if let Some(record) = tables
                .skus
                .get_mut(&(account_id.to_string(), line.sku.clone()))
                .filter(|r| r.source_import == line.source_import)
            {
                record.available = record.available.map(|a| a + line.quantity);
            }
        }
        Ok(true)
    }
}

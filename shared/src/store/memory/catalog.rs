//! The Catalog table in memory: versioned feed slots, import records, SKU records and stock
//! holds, with the DynamoDB adapter's conditions (a slot write needs the version it read; a
//! hold takes every line or none; a feed row sets `available` to its quantity less `held`;
//! a hold ends once, converting or giving back only what is still held).

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use super::lock;
use crate::holds::{Hold, HoldStatus, hold_to_convert};
use crate::imports::{ActiveSlot, Feed, FeedSlot, ImportRecord};
use crate::skus::{Availability, SkuChange, SkuRecord};
use crate::store::page::{IMPORTS, Position, page_of};
use crate::store::{
    FeedSlots, ImportLog, ImportPages, Page, PageRequest, Placement, SkuRecords, SkuRetirement,
    SkusRetired, StockHolds, StoreError,
};

#[derive(Debug, Default)]
struct Tables {
    slots: BTreeMap<(String, &'static str), FeedSlot>,
    imports: BTreeMap<(String, String), ImportRecord>,
    skus: BTreeMap<(String, String), SkuRecord>,
    /// (account, hold id) -> hold.
    holds: BTreeMap<(String, String), Hold>,
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

    async fn active_slots(&self) -> Result<Vec<ActiveSlot>, StoreError> {
        Ok(lock(&self.tables)
            .slots
            .values()
            .filter(|s| s.is_active())
            .map(|s| ActiveSlot {
                account_id: s.account_id.clone(),
                feed: s.feed,
                dispatched_at: s.dispatched_at,
                poll_after: s.poll_after,
            })
            .collect())
    }

    async fn claim_dispatch(
        &self,
        account_id: &str,
        feed: Feed,
        now: i64,
        stale_before: i64,
    ) -> Result<bool, StoreError> {
        let mut tables = lock(&self.tables);
        let Some(slot) = tables
            .slots
            .get_mut(&(account_id.to_string(), feed.as_str()))
        else {
            return Ok(false);
        };
        if slot.dispatched_at.is_some_and(|at| at >= stale_before) {
            return Ok(false);
        }
        slot.dispatched_at = Some(now);
        Ok(true)
    }

    async fn clear_dispatch(&self, account_id: &str, feed: Feed) -> Result<(), StoreError> {
        if let Some(slot) = lock(&self.tables)
            .slots
            .get_mut(&(account_id.to_string(), feed.as_str()))
        {
            slot.dispatched_at = None;
        }
        Ok(())
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
        let page = self
            .import_page(account_id, &PageRequest::first(limit))
            .await?;
        Ok(page.items)
    }
}

impl ImportPages for MemoryCatalog {
    async fn import_page(
        &self,
        account_id: &str,
        request: &PageRequest,
    ) -> Result<Page<ImportRecord>, StoreError> {
        let tables = lock(&self.tables);
        // Import keys start with the zero-padded arrival time: reverse key order is newest
        // first, as the DynamoDB adapter's reverse query over `IMPORT#<key>`.
        let ordered = tables
            .imports
            .iter()
            .rev()
            .filter(|((account, _), _)| account == account_id)
            .map(|((account, key), record)| {
                let position = Position {
                    partition: account.clone(),
                    sort: Some(format!("{}{key}", IMPORTS.sort_prefix)),
                };
                (position, record.clone())
            });
        page_of(ordered, &IMPORTS, request, Some(account_id), |p, after| {
            p < after
        })
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
                    let key = (account_id.to_string(), record.sku.clone());
                    let held = tables.skus.get(&key).and_then(|r| r.held);
                    let mut next = record.clone();
                    next.held = held;
                    next.available = record.quantity.map(|q| q - held.unwrap_or(0));
                    tables.skus.insert(key, next);
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
                    record.available = quantity.map(|q| q - record.held.unwrap_or(0));
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

impl SkuRetirement for MemoryCatalog {
    async fn retire_skus_not_in(
        &self,
        account_id: &str,
        product_import: &str,
        now_millis: i64,
    ) -> Result<SkusRetired, StoreError> {
        let mut tables = lock(&self.tables);
        let mut retired = SkusRetired::default();
        tables.skus.retain(|(account, _), record| {
            if account != account_id || record.product_import.as_deref() == Some(product_import) {
                return true;
            }
            if record.held.unwrap_or(0) > 0 {
                record.availability = Availability::OutOfStock;
                record.updated_at = now_millis;
                retired.out_of_stock += 1;
                return true;
            }
            retired.deleted += 1;
            false
        });
        Ok(retired)
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
        held: None,
        price: None,
        shipping: Vec::new(),
        shipping_cost_basis: None,
        source_import: String::new(),
        updated_at: 0,
        product_import: None,
    }
}

impl MemoryCatalog {
    /// Ends an open hold as `to`: converted stock stays sold, other endings give it back;
    /// only what the SKU record still holds moves (a feed may have deleted or re-created it).
    fn end_hold(tables: &mut Tables, key: &(String, String), to: HoldStatus, order: Option<&str>) {
        let Some(hold) = tables
            .holds
            .get_mut(key)
            .filter(|h| h.status == HoldStatus::Open)
        else {
            return;
        };
        hold.status = to;
        if let Some(order) = order {
            hold.order_session = Some(order.to_string());
        }
        let (account, lines) = (hold.account_id.clone(), hold.lines.clone());
        for line in lines {
            let Some(record) = tables
                .skus
                .get_mut(&(account.clone(), line.sku.clone()))
                .filter(|r| r.held.is_some_and(|h| h >= line.quantity))
            else {
                continue;
            };
            record.held = record.held.map(|h| h - line.quantity);
            if to != HoldStatus::Converted {
                record.available = record.available.map(|a| a + line.quantity);
            }
        }
    }

    /// Every hold of `account_id`, oldest first (for tests).
    pub fn holds(&self, account_id: &str) -> Vec<Hold> {
        let mut holds: Vec<Hold> = lock(&self.tables)
            .holds
            .values()
            .filter(|h| h.account_id == account_id)
            .cloned()
            .collect();
        holds.sort_by_key(|h| h.created_at);
        holds
    }
}

impl StockHolds for MemoryCatalog {
    async fn place(&self, hold: &Hold) -> Result<Placement, StoreError> {
        // One lock makes a hold of any size one step: what DynamoDB does in several
        // transactions for a large cart has the same outcome here.
        let mut tables = lock(&self.tables);
        let key = (hold.account_id.clone(), hold.hold_id.clone());
        if tables
            .holds
            .get(&key)
            .is_some_and(|h| matches!(h.status, HoldStatus::Open | HoldStatus::Converted))
        {
            return Ok(Placement::AlreadyPlaced);
        }
        for line in &hold.lines {
            let available = tables
                .skus
                .get(&(hold.account_id.clone(), line.sku.clone()))
                .and_then(|r| r.available);
            if available.is_none_or(|a| a < line.quantity) {
                return Ok(Placement::Short {
                    sku: line.sku.clone(),
                });
            }
        }
        for line in &hold.lines {
            if let Some(record) = tables
                .skus
                .get_mut(&(hold.account_id.clone(), line.sku.clone()))
            {
                record.available = record.available.map(|a| a - line.quantity);
                record.held = Some(record.held.unwrap_or(0) + line.quantity);
            }
        }
        let mut open = hold.clone();
        open.status = HoldStatus::Open;
        tables.holds.insert(key, open);
        Ok(Placement::Placed)
    }

    async fn convert(
        &self,
        account_id: &str,
        fingerprint: &str,
        session_id: &str,
    ) -> Result<Option<String>, StoreError> {
        let mut tables = lock(&self.tables);
        let candidates: Vec<Hold> = tables
            .holds
            .values()
            .filter(|h| h.account_id == account_id && h.fingerprint == fingerprint)
            .cloned()
            .collect();
        let Some(hold) = hold_to_convert(&candidates, session_id) else {
            return Ok(None);
        };
        let key = (account_id.to_string(), hold.hold_id.clone());
        Self::end_hold(&mut tables, &key, HoldStatus::Converted, Some(session_id));
        Ok(Some(hold.hold_id.clone()))
    }

    async fn release_for_session(
        &self,
        account_id: &str,
        session_id: &str,
    ) -> Result<bool, StoreError> {
        let mut tables = lock(&self.tables);
        let key = tables
            .holds
            .iter()
            .find(|(_, h)| {
                h.account_id == account_id
                    && h.status == HoldStatus::Open
                    && h.session_id.as_deref() == Some(session_id)
            })
            .map(|(k, _)| k.clone());
        let Some(key) = key else {
            return Ok(false);
        };
        Self::end_hold(&mut tables, &key, HoldStatus::Released, None);
        Ok(true)
    }

    async fn expire_due(&self, now_millis: i64, limit: usize) -> Result<usize, StoreError> {
        let mut tables = lock(&self.tables);
        let mut due: Vec<(i64, (String, String))> = tables
            .holds
            .iter()
            .filter(|(_, h)| h.status == HoldStatus::Open && h.expires_at <= now_millis)
            .map(|(k, h)| (h.expires_at, k.clone()))
            .collect();
        due.sort();
        due.truncate(limit.max(1));
        for (_, key) in &due {
            Self::end_hold(&mut tables, key, HoldStatus::Expired, None);
        }
        Ok(due.len())
    }
}

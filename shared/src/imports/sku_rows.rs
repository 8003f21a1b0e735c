//! From accepted feed rows to SKU records (what the checkout hooks read).

use std::collections::HashSet;

use super::keys::Feed;
use crate::catalog::{Header, Record, RowError, RowSink, id_hash};
use crate::money::parse_price;
use crate::skus::{Availability, SkuChange, SkuRecord, parse_shipping};

/// The most failed rows remembered from one Stripe error report: 2 million 128-bit hashes
/// are about 40 MB, inside a 512 MB uploader however hostile the report.
pub const MAX_FAILED_IDS: usize = 2_000_000;

/// The ids of the rows Stripe failed, as 128-bit hashes (never the rows), up to
/// [`MAX_FAILED_IDS`]. Past that it only says it overflowed: the caller must then not
/// trust it to tell accepted rows from failed ones.
#[derive(Debug)]
pub struct FailedIds {
    hashes: HashSet<u128>,
    limit: usize,
    overflowed: bool,
}

impl Default for FailedIds {
    fn default() -> Self {
        Self::bounded(MAX_FAILED_IDS)
    }
}

impl FailedIds {
    /// Remembers at most `limit` ids.
    pub fn bounded(limit: usize) -> Self {
        Self {
            hashes: HashSet::new(),
            limit,
            overflowed: false,
        }
    }

    pub fn insert(&mut self, id: &str) {
        if self.hashes.contains(&id_hash(id)) {
            return;
        }
        if self.hashes.len() >= self.limit {
            self.overflowed = true;
            return;
        }
        self.hashes.insert(id_hash(id));
    }

    pub fn contains(&self, id: &str) -> bool {
        self.hashes.contains(&id_hash(id))
    }

    pub fn len(&self) -> usize {
        self.hashes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.hashes.is_empty()
    }

    /// More failed rows than [`MAX_FAILED_IDS`]: some are not remembered.
    pub fn overflowed(&self) -> bool {
        self.overflowed
    }
}

impl<'a> FromIterator<&'a str> for FailedIds {
    fn from_iter<T: IntoIterator<Item = &'a str>>(iter: T) -> Self {
        let mut ids = FailedIds::default();
        for id in iter {
            ids.insert(id);
        }
        ids
    }
}

/// Turns rows into SKU record writes, skipping rows Stripe failed. Inventory and pricing rows
/// carry only part of a record; they are merged over the product row's fields by the
/// caller's store (a full put here keeps the latest full picture per SKU).
pub struct SkuRowSink<'a> {
    account_id: String,
    feed: Feed,
    import_key: String,
    now: i64,
    failed: &'a FailedIds,
    changes: Vec<SkuChange>,
    /// Rows seen so far, every row counted, so the count means the same on every pass.
    rows: u64,
    /// Rows an earlier pass already applied: seen again, not applied again.
    skip: u64,
}

impl<'a> SkuRowSink<'a> {
    pub fn new(
        account_id: &str,
        feed: Feed,
        import_key: &str,
        now: i64,
        failed: &'a FailedIds,
    ) -> Self {
        Self {
            account_id: account_id.to_string(),
            feed,
            import_key: import_key.to_string(),
            now,
            failed,
            changes: Vec::new(),
            rows: 0,
            skip: 0,
        }
    }

    /// Goes on from an earlier pass over the same file that applied its first `rows`.
    pub fn resuming_after(mut self, rows: u64) -> Self {
        self.skip = rows;
        self
    }

    /// Rows seen, including those skipped: once [`take`](Self::take)n changes are written,
    /// the rows a later pass may resume after.
    pub fn rows_seen(&self) -> u64 {
        self.rows
    }

    pub fn account_id(&self) -> &str {
        &self.account_id
    }

    pub fn pending(&self) -> usize {
        self.changes.len()
    }

    pub fn take(&mut self) -> Vec<SkuChange> {
        std::mem::take(&mut self.changes)
    }

    pub fn source_import(&self) -> &str {
        &self.import_key
    }
}

fn non_empty(value: Option<&str>) -> Option<&str> {
    value.map(str::trim).filter(|v| !v.is_empty())
}

impl RowSink for SkuRowSink<'_> {
    type Error = std::convert::Infallible;

    fn header(&mut self, _: &Header) -> Result<(), Self::Error> {
        Ok(())
    }

    fn row(
        &mut self,
        record: &Record<'_>,
        header: &Header,
        _: &[RowError],
    ) -> Result<(), Self::Error> {
        self.rows += 1;
        // Promotions say nothing about a SKU's stock, price or shipping.
        if self.rows <= self.skip || self.feed == Feed::Promotion {
            return Ok(());
        }
        let Some(id) = non_empty(record.id()) else {
            return Ok(());
        };
        if self.failed.contains(id) {
            return Ok(());
        }
        let field = |name: &str| non_empty(record.field(header, name));
        let sku = id.to_string();
        if field("delete") == Some("true") {
            self.changes.push(SkuChange::Delete { sku });
            return Ok(());
        }
        let not_tracked = field("inventory_not_tracked") == Some("true");
        let quantity = if not_tracked {
            None
        } else {
            field("inventory_quantity").and_then(|q| q.parse().ok())
        };
        // A value outside the spec was reported by validation and Stripe refuses the row:
        // guessing would let an item sell without its stock being counted.
        let Some(availability) = Availability::parse(field("availability").unwrap_or("in_stock"))
        else {
            return Ok(());
        };
        self.changes.push(match self.feed {
            Feed::Inventory => SkuChange::Stock {
                sku,
                availability,
                quantity,
            },
            Feed::Pricing => SkuChange::Price {
                sku,
                price: field("price").and_then(parse_price),
            },
            _ => SkuChange::Replace(SkuRecord {
                account_id: self.account_id.clone(),
                sku,
                title: field("title").map(str::to_string),
                availability,
                quantity,
                available: quantity,
                held: None,
                price: field("price").and_then(parse_price),
                shipping: field("shipping").map(parse_shipping).unwrap_or_default(),
                shipping_cost_basis: field("shipping_cost_basis").map(str::to_string),
                source_import: self.import_key.clone(),
                updated_at: self.now,
                product_import: Some(self.import_key.clone()),
            }),
        });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{Limits, Validator};

    fn changes(feed: Feed, csv: &str, failed: &[&str]) -> Vec<SkuChange> {
        let failed: FailedIds = failed.iter().copied().collect();
        let mut sink = SkuRowSink::new("acct_1Unit", feed, "import-7", 42, &failed);
        let mut validator = Validator::new(feed, Limits::v2());
        validator.push(csv.as_bytes(), &mut sink).unwrap();
        validator.finish(&mut sink).unwrap();
        sink.take()
    }

    #[test]
    fn failed_ids_are_remembered_up_to_their_bound_and_then_say_so() {
        let mut ids = FailedIds::bounded(2);
        ids.insert("A");
        ids.insert("A");
        ids.insert("B");
        assert!(!ids.overflowed(), "a repeated id takes no room");
        assert!(ids.contains("A") && ids.contains("B") && !ids.contains("C"));
        ids.insert("C");
        assert!(ids.overflowed());
        assert_eq!(ids.len(), 2);
        assert!(!ids.contains("C"), "past the bound nothing more is kept");
    }

    #[test]
    fn inventory_and_pricing_rows_change_only_their_fields() {
        let stock = changes(
            Feed::Inventory,
            "id,availability,inventory_quantity\nA,out_of_stock,0\nB,backorder,\n",
            &[],
        );
        assert_eq!(
            stock,
            [
                SkuChange::Stock {
                    sku: "A".into(),
                    availability: Availability::OutOfStock,
                    quantity: Some(0)
                },
                SkuChange::Stock {
                    sku: "B".into(),
                    availability: Availability::Backorder,
                    quantity: None
                },
            ]
        );
        let prices = changes(Feed::Pricing, "id,price\nA,12.50 USD\n", &[]);
        assert!(
            matches!(&prices[..], [SkuChange::Price { sku, price: Some(p) }] if sku == "A" && p.amount == 1250)
        );
    }

    #[test]
    fn rows_stripe_refused_or_that_break_the_spec_leave_the_sku_alone() {
        let rows = "id,availability,inventory_quantity\nA,in_stock,3\nB,in_stock,4\nC,in stock,5\nD,in_stock,6\n";
        let kept: Vec<String> = changes(Feed::Inventory, rows, &["B"])
            .into_iter()
            .map(|c| match c {
                SkuChange::Stock { sku, .. } => sku,
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(kept, ["A", "D"]);
        let promotions = "promotion_id,title,benefit_type,active_period,target_selection,application_type,percent_off\nP1,Spring,percent_off,2026-03-01T00:00:00Z/2026-03-31T00:00:00Z,all_products,automatic,20\n";
        assert!(changes(Feed::Promotion, promotions, &[]).is_empty());
    }

    #[test]
    fn delete_rows_remove_the_sku() {
        let deleted = changes(Feed::Product, "id,delete\nA,true\n", &[]);
        assert_eq!(deleted, [SkuChange::Delete { sku: "A".into() }]);
    }
}

//! From accepted feed rows to SKU records (what the checkout hooks read).

use std::collections::HashSet;

use super::keys::Feed;
use crate::catalog::{Header, Record, RowError, RowSink};
use crate::money::parse_price;
use crate::skus::{Availability, SkuChange, SkuRecord, parse_shipping};

/// Turns rows into SKU record writes, skipping rows Stripe failed. Inventory and pricing rows
/// carry only part of a record; they are merged over the product row's fields by the
/// caller's store (a full put here keeps the latest full picture per SKU).
pub struct SkuRowSink<'a> {
    account_id: String,
    feed: Feed,
    import_key: String,
    now: i64,
    failed: &'a HashSet<String>,
    changes: Vec<SkuChange>,
}

impl<'a> SkuRowSink<'a> {
    pub fn new(
        account_id: &str,
        feed: Feed,
        import_key: &str,
        now: i64,
        failed: &'a HashSet<String>,
    ) -> Self {
        Self {
            account_id: account_id.to_string(),
            feed,
            import_key: import_key.to_string(),
            now,
            failed,
            changes: Vec::new(),
        }
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
        // Promotions say nothing about a SKU's stock, price or shipping.
        if self.feed == Feed::Promotion {
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
                price: field("price").and_then(parse_price),
                shipping: field("shipping").map(parse_shipping).unwrap_or_default(),
                shipping_cost_basis: field("shipping_cost_basis").map(str::to_string),
                source_import: self.import_key.clone(),
                updated_at: self.now,
            }),
        });
        Ok(())
    }
}

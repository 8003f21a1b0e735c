//! Row rules of the four feeds (docs/stripe.md §2). A [`Checker`] takes the rows of one file in
//! order and hands each to its feed's rules, with the state across rows they need.
//!
//! - `row`: one row under check, and the value checks every rule is written with.
//! - `product`, `inventory`, `pricing`, `promotion`: the rules of each feed. `offer` holds
//!   the availability and price rules three feeds share; the product feed's list-valued
//!   columns are in `shipping` and `product_lists`.
//! - `ids` and `variants`: the state across rows, keys already seen (duplicates) and the
//!   variant attributes of each item group (consistency).
//!
//! Values are trimmed (ASCII whitespace) before any check, so `" 15.00 USD "` passes; enum
//! values and booleans are case-sensitive because the spec spells them exactly
//! (`in_stock`, `true`).
//!
//! Speed: the rules run on every row, and they were tuned when they were one module. The
//! release profile compiles the crate in 4 codegen units, so a function in another module
//! may land in another unit, across which only small functions get inlined. Hence
//! `#[inline]` on `Row`'s methods and on the functions each feed calls once per row:
//! without it validation lost about 6% of its throughput (`benches/catalog_validation.rs`).

mod ids;
mod inventory;
mod offer;
mod pricing;
mod product;
mod product_lists;
mod promotion;
mod row;
mod shipping;
mod variants;

use self::ids::SeenIds;
use self::row::Row;
use self::variants::VariantGroups;
use super::formats::LinkFinder;
use super::record::{Header, Record};
use super::{FeedKind, RowError};

/// Checks the rows of one file, in file order.
pub(crate) struct Checker {
    feed: FeedKind,
    links: LinkFinder,
    ids: SeenIds,
    groups: VariantGroups,
}

impl Checker {
    pub(crate) fn new(feed: FeedKind) -> Self {
        Checker {
            feed,
            links: LinkFinder::new(),
            ids: SeenIds::default(),
            groups: VariantGroups::default(),
        }
    }

    /// Appends the row's errors to `errors` (which the caller clears between rows).
    pub(crate) fn check(
        &mut self,
        record: &Record<'_>,
        header: &Header,
        errors: &mut Vec<RowError>,
    ) {
        if record.len() != header.len() {
            // Every value after a misplaced delimiter is in the wrong column, so checking
            // them would only bury this one error under consequences.
            errors.push(RowError::new(
                None,
                format!(
                    "has {} fields but the header has {}: a value containing the delimiter must be quoted",
                    record.len(),
                    header.len()
                ),
            ));
            return;
        }
        let mut row = Row::new(record, header, errors);
        match self.feed {
            FeedKind::Product => {
                product::check(&mut row, &mut self.ids, &mut self.groups, &self.links)
            }
            FeedKind::Inventory => inventory::check(&mut row, &mut self.ids),
            FeedKind::Pricing => pricing::check(&mut row, &mut self.ids),
            FeedKind::Promotion => promotion::check(&mut row, &mut self.ids),
        }
    }
}

//! Row rules of the inventory feed: the key, availability and the quantity on hand.

use super::ids::SeenIds;
use super::offer::availability;
use super::row::Row;
use crate::catalog::columns::Col::*;

/// Checks one inventory row.
#[inline]
pub(super) fn check(row: &mut Row<'_, '_>, ids: &mut SeenIds) {
    ids.check_key(row, Id, true);
    availability(row);
    if !row.required(InventoryQuantity).is_empty() {
        row.uint_col(InventoryQuantity);
    }
}

//! Row rules of the pricing feed: the key, the price and the sale price.

use super::ids::SeenIds;
use super::offer::price_and_sale;
use super::row::Row;
use crate::catalog::columns::Col::*;

/// Checks one pricing row.
#[inline]
pub(super) fn check(row: &mut Row<'_, '_>, ids: &mut SeenIds) {
    ids.check_key(row, Id, true);
    price_and_sale(row);
}

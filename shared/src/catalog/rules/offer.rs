//! The offer part of a row, shared by three feeds: availability (with its date) and the
//! price with its sale price. The inventory and pricing feeds are little more than these;
//! the product feed checks them among everything else.

use super::row::Row;
use crate::catalog::columns::Col::*;

const AVAILABILITY: &[&str] = &["in_stock", "out_of_stock", "preorder", "backorder"];

/// `availability` (required), and `availability_date`, required for a preorder.
#[inline]
pub(super) fn availability(row: &mut Row<'_, '_>) {
    let availability = row.required(Availability);
    row.one_of(Availability, availability, AVAILABILITY);
    let date = row.date_col(AvailabilityDate);
    if availability == "preorder" && date.is_none() && row.v(AvailabilityDate).is_empty() {
        row.missing(AvailabilityDate, " when availability is preorder");
    }
}

/// `price` (required), then the sale price in the same currency.
#[inline]
pub(super) fn price_and_sale(row: &mut Row<'_, '_>) {
    let currency = if row.required(Price).is_empty() {
        None
    } else {
        row.price_col(Price)
    };
    sale(row, currency);
}

fn sale(row: &mut Row<'_, '_>, currency: Option<&str>) {
    let sale_currency = row.price_col(SalePrice);
    if let (Some(price), Some(sale)) = (currency, sale_currency) {
        if price != sale {
            row.err(
                SalePrice,
                format!("is in {sale} but price is in {price}: use one currency"),
            );
        }
    }
    let dates = row.v(SalePriceEffectiveDate);
    if dates.is_empty() {
        if !row.v(SalePrice).is_empty() {
            row.missing(SalePriceEffectiveDate, " when sale_price is set");
        }
    } else {
        row.period(SalePriceEffectiveDate, dates, true, "YYYY-MM-DD/YYYY-MM-DD");
    }
}

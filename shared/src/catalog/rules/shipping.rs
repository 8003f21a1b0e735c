//! The product feed's lists of country-keyed entries: `shipping`, `applicable_fees` and
//! `free_shipping_threshold` (whose services must be among the row's shipping services).

use super::row::{Row, entries, split_parts};
use crate::catalog::columns::Col::{self, *};
use crate::catalog::formats::{self, show, split_once_byte};

/// `country:area:service:speed:price, …`; speed may be empty or left out.
#[inline]
pub(super) fn check_shipping(row: &mut Row<'_, '_>, shipping: &str) {
    for entry in entries(shipping) {
        if entry.is_empty() {
            row.err(Shipping, "has an empty entry (a stray comma)");
            continue;
        }
        let (parts, n) = split_parts::<5>(entry);
        let [country_code, area, service, speed, price] = match n {
            5 => parts,
            4 => [parts[0], parts[1], parts[2], "", parts[3]],
            _ => {
                row.err(
                    Shipping,
                    format!(
                        "{} is not `country:area:service:speed:price` (speed may be empty)",
                        show(entry)
                    ),
                );
                continue;
            }
        };
        let us = country(row, Shipping, country_code, entry) && country_code == "US";
        if area != "ALL" && !formats::is_region(area) {
            match formats::UsPostalArea::parse(area) {
                Ok(_) if us => {}
                // Postal codes are for the US only (docs/stripe.md §2.2).
                Ok(_) => row.err(
                    Shipping,
                    format!(
                        "{}: area {} is a postal code, which only US entries may use; elsewhere use a region code like `BY` or `ALL`",
                        show(entry),
                        show(area)
                    ),
                ),
                // Something postal-looking: say what is wrong with it.
                Err(why) if us && looks_postal(area) => row.err(
                    Shipping,
                    format!("{}: area {}: {why}", show(entry), show(area)),
                ),
                Err(_) => row.err(
                    Shipping,
                    format!(
                        "{}: area {} must be a region code like `CA`, `ALL`, or in the US a postal code (`94012`), range (`73114-74547`), prefix (`94*`) or wildcard range (`94*-95*`)",
                        show(entry),
                        show(area)
                    ),
                ),
            }
        }
        if service.is_empty() {
            row.err(
                Shipping,
                format!("{}: the service name is empty", show(entry)),
            );
        }
        if !speed.is_empty() && !is_speed(speed) {
            row.err(
                Shipping,
                format!(
                    "{}: speed {} must be days like `3` or `3-5`",
                    show(entry),
                    show(speed)
                ),
            );
        }
        entry_price(row, Shipping, price, entry);
    }
}

/// Letters, digits, `*` and `-`, with a digit or `*`: meant as a postal area, not a region
/// name, so the error can say what is wrong with it.
fn looks_postal(s: &str) -> bool {
    s.bytes().any(|b| b.is_ascii_digit() || b == b'*')
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'*' || b == b'-')
}

fn is_speed(s: &str) -> bool {
    match split_once_byte(s, b'-') {
        Some((lo, hi)) => match (
            formats::uint(lo.trim_ascii()),
            formats::uint(hi.trim_ascii()),
        ) {
            (Some(lo), Some(hi)) => lo <= hi,
            _ => false,
        },
        None => formats::uint(s).is_some(),
    }
}

/// `country:region:label:amount, …`
#[inline]
pub(super) fn applicable_fees(row: &mut Row<'_, '_>) {
    let fees = row.v(ApplicableFees);
    if fees.is_empty() {
        return;
    }
    for entry in entries(fees) {
        let (parts, n) = split_parts::<4>(entry);
        if n != 4 {
            row.err(
                ApplicableFees,
                format!("{} is not `country:region:label:amount`", show(entry)),
            );
            continue;
        }
        let [country_code, region_code, label, amount] = parts;
        country(row, ApplicableFees, country_code, entry);
        region(row, ApplicableFees, region_code, entry);
        if label.is_empty() {
            row.err(
                ApplicableFees,
                format!("{}: the fee label is empty", show(entry)),
            );
        }
        entry_price(row, ApplicableFees, amount, entry);
    }
}

/// `country:region:service:threshold, …`, each naming a service this row ships with to
/// that country.
#[inline]
pub(super) fn free_shipping_threshold(row: &mut Row<'_, '_>, shipping: &str) {
    let thresholds = row.v(FreeShippingThreshold);
    if thresholds.is_empty() {
        return;
    }
    for entry in entries(thresholds) {
        let (parts, n) = split_parts::<4>(entry);
        if n != 4 {
            row.err(
                FreeShippingThreshold,
                format!("{} is not `country:region:service:threshold`", show(entry)),
            );
            continue;
        }
        let [country_code, region_code, service, threshold] = parts;
        country(row, FreeShippingThreshold, country_code, entry);
        region(row, FreeShippingThreshold, region_code, entry);
        let shipped = entries(shipping).any(|s| {
            let (p, n) = split_parts::<3>(s);
            n >= 3 && p[0] == country_code && p[2] == service
        });
        if !shipped {
            row.err(
                FreeShippingThreshold,
                format!(
                    "{}: service {} is not one of this row's shipping services to {}",
                    show(entry),
                    show(service),
                    country_code
                ),
            );
        }
        entry_price(row, FreeShippingThreshold, threshold, entry);
    }
}

fn country(row: &mut Row<'_, '_>, col: Col, code: &str, entry: &str) -> bool {
    if formats::is_country(code) {
        return true;
    }
    row.err(
        col,
        format!(
            "{}: {} is not an ISO 3166 alpha-2 country code like `US`",
            show(entry),
            show(code)
        ),
    );
    false
}

fn region(row: &mut Row<'_, '_>, col: Col, code: &str, entry: &str) {
    if code == "ALL" || formats::is_region(code) {
        return;
    }
    row.err(
        col,
        format!(
            "{}: region {} must be a region code like `CA` or `ALL`",
            show(entry),
            show(code)
        ),
    );
}

fn entry_price(row: &mut Row<'_, '_>, col: Col, v: &str, entry: &str) {
    if let Err(message) = formats::price(v) {
        row.err(col, format!("{}: {message}", show(entry)));
    }
}

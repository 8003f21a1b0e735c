//! Shipping, fees and free-shipping thresholds (`rules::shipping`).

use super::*;

#[test]
fn product_fees() {
    ok(
        Product,
        &[(
            "applicable_fees",
            "US:ALL:Battery Fee:1.00 USD,CA:ON:Eco Fee:0.50 CAD",
        )],
    );
    bad(
        Product,
        &[("applicable_fees", "USA:CA:Fee:0.25 USD")],
        "applicable_fees",
    );
    bad(
        Product,
        &[("applicable_fees", "US:CA:Fee")],
        "applicable_fees",
    );
    bad(
        Product,
        &[("applicable_fees", "US:California:Fee:0.25 USD")],
        "applicable_fees",
    );
    bad(
        Product,
        &[("applicable_fees", "US:CA::0.25 USD")],
        "applicable_fees",
    );
    bad(
        Product,
        &[("applicable_fees", "US:CA:Fee:0.25")],
        "applicable_fees",
    );
}

#[test]
fn product_shipping() {
    for good in [
        "US:CA:Standard:3-5:5.00 USD",
        "US:ALL:Express::15.00 USD",
        "US:94*:Ground:2:4.00 USD,US:73114-74547:Ground:5.00 USD",
        "US:94012:Ground:1-2:4.00 USD",
        "DE:ALL:Standard:2-4:4.90 EUR",
    ] {
        ok(
            Product,
            &[("shipping", good), ("free_shipping_threshold", "")],
        );
    }
    for wrong in [
        "US:CA:Standard:5-3:5.00 USD",
        "US:CA:Standard:fast:5.00 USD",
        "DE:94012:Standard::4.90 EUR",
        "US:74547-73114:Ground::4.00 USD",
        "XX:ALL:Standard::4.90 EUR",
        "US:CA:Standard:3-5:5 dollars",
        "US:CA:Standard",
        "US:CA:::5.00 USD",
        "US:CA:Standard:3-5:5.00 USD,",
    ] {
        bad(
            Product,
            &[("shipping", wrong), ("free_shipping_threshold", "")],
            "shipping",
        );
    }
}

/// FEED lists a wildcard range (`94*-95*`) among the US postal areas of `shipping`; both
/// ends are prefixes of the same length, the low one not above the high one
/// (docs/stripe.md §2.2).
#[test]
fn product_shipping_wildcard_ranges() {
    for good in [
        "US:94*-95*:Standard Shipping:2-5:0.00 USD",
        "US:9*-9*:Ground::1.00 USD",
        "US:0*-1*:Ground:1.00 USD",
        "US:940*-941*:Ground:1-2:1.00 USD,US:94*:Express:1:9.99 USD",
    ] {
        ok(
            Product,
            &[("shipping", good), ("free_shipping_threshold", "")],
        );
    }
    for wrong in [
        "US:94*-9x*:Ground::1.00 USD",
        "US:94*-95123:Ground::1.00 USD",
        "US:94123-95*:Ground::1.00 USD",
        "US:95*-94*:Ground::1.00 USD",
        "US:94*-955*:Ground::1.00 USD",
        "US:*-95*:Ground::1.00 USD",
        "US:94*-*:Ground::1.00 USD",
        "US:94*-95*-96*:Ground::1.00 USD",
        "US:94**-95*:Ground::1.00 USD",
        "US:94012*-95012*:Ground::1.00 USD",
        "US:94*-:Ground::1.00 USD",
        "DE:94*-95*:Standard::4.90 EUR",
    ] {
        bad(
            Product,
            &[("shipping", wrong), ("free_shipping_threshold", "")],
            "shipping",
        );
    }
}

#[test]
fn product_free_shipping_threshold() {
    ok(
        Product,
        &[("free_shipping_threshold", "US:ALL:Express:100.00 USD")],
    );
    bad(
        Product,
        &[("free_shipping_threshold", "US:ALL:Overnight:100.00 USD")],
        "free_shipping_threshold",
    );
    bad(
        Product,
        &[("free_shipping_threshold", "DE:ALL:Standard:100.00 EUR")],
        "free_shipping_threshold",
    );
    bad(
        Product,
        &[("free_shipping_threshold", "US:ALL:Standard")],
        "free_shipping_threshold",
    );
    bad(
        Product,
        &[("free_shipping_threshold", "US:ALL:Standard:100")],
        "free_shipping_threshold",
    );
    bad(
        Product,
        &[
            ("shipping", ""),
            ("free_shipping_threshold", "US:ALL:Standard:50.00 USD"),
        ],
        "free_shipping_threshold",
    );
}

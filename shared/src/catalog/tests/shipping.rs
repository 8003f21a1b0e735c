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

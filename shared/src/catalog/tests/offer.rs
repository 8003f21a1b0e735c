//! Availability and prices as the product feed checks them (`rules::offer`).

use super::*;

#[test]
fn product_availability_and_dates() {
    bad(
        Product,
        &[("availability", "preorder")],
        "availability_date",
    );
    ok(
        Product,
        &[
            ("availability", "preorder"),
            ("availability_date", "2026-01-15"),
        ],
    );
    ok(
        Product,
        &[
            ("availability", "preorder"),
            ("availability_date", "2026-01-15T09:00:00+01:00"),
        ],
    );
    bad(
        Product,
        &[("availability_date", "2026/01/15")],
        "availability_date",
    );
    bad(
        Product,
        &[("availability_date", "2026-02-30")],
        "availability_date",
    );
    bad(
        Product,
        &[("expiration_date", "tomorrow")],
        "expiration_date",
    );
    ok(Product, &[("expiration_date", "2027-12-31")]);
}

#[test]
fn product_prices() {
    bad(Product, &[("price", "")], "price");
    bad(Product, &[("price", "89 dollars")], "price");
    bad(Product, &[("price", "89,00 EUR")], "price");
    bad(
        Product,
        &[("price", "89.00USD"), ("sale_price", "")],
        "price",
    );
    ok(
        Product,
        &[
            ("price", "89 USD"),
            ("sale_price", ""),
            ("sale_price_effective_date", ""),
        ],
    );
    bad(Product, &[("sale_price", "79.00 usd")], "sale_price");
    bad(Product, &[("sale_price", "79.00 EUR")], "sale_price");
    bad(
        Product,
        &[("sale_price_effective_date", "")],
        "sale_price_effective_date",
    );
    bad(
        Product,
        &[("sale_price_effective_date", "2025-12-01/2025-11-28")],
        "sale_price_effective_date",
    );
    bad(
        Product,
        &[("sale_price_effective_date", "2025-11-28")],
        "sale_price_effective_date",
    );
    ok(
        Product,
        &[("sale_price_effective_date", "2025-11-28/2025-11-28")],
    );
    ok(
        Product,
        &[(
            "sale_price_effective_date",
            "2025-11-28T00:00Z/2025-12-01T00:00Z",
        )],
    );
}

//! The inventory, pricing and promotion feeds.

use super::*;

#[test]
fn inventory_rules() {
    bad(Inventory, &[("id", "")], "id");
    bad(Inventory, &[("availability", "sold_out")], "availability");
    bad(
        Inventory,
        &[("availability", "preorder")],
        "availability_date",
    );
    ok(
        Inventory,
        &[
            ("availability", "preorder"),
            ("availability_date", "2026-03-01"),
        ],
    );
    bad(
        Inventory,
        &[("inventory_quantity", "")],
        "inventory_quantity",
    );
    bad(
        Inventory,
        &[("inventory_quantity", "lots")],
        "inventory_quantity",
    );
    ok(Inventory, &[("inventory_quantity", "0")]);
    let report = run(Inventory, "id,availability\nSKU-1,in_stock\n");
    assert_eq!(
        report.fatal,
        Some(Fatal::MissingColumns(vec!["inventory_quantity".into()]).to_string())
    );
}

#[test]
fn pricing_rules() {
    bad(Pricing, &[("price", "")], "price");
    bad(Pricing, &[("price", "EUR 19.99")], "price");
    bad(
        Pricing,
        &[("sale_price", "9.99 EUR")],
        "sale_price_effective_date",
    );
    ok(
        Pricing,
        &[
            ("sale_price", "9.99 EUR"),
            ("sale_price_effective_date", "2025-01-01/2025-01-31"),
        ],
    );
    bad(
        Pricing,
        &[
            ("sale_price", "9.99 EUR"),
            ("sale_price_effective_date", "2025-01-31/2025-01-01"),
        ],
        "sale_price_effective_date",
    );
    let report = run(Pricing, "id,price\nA,1.00 USD\nA,2.00 USD\n");
    assert_eq!(report.errors.len(), 1);
    assert_eq!(report.errors[0].line, 3);
}

#[test]
fn promotion_rules() {
    bad(Promotion, &[("promotion_id", "")], "promotion_id");
    bad(
        Promotion,
        &[("promotion_id", &"p".repeat(101))],
        "promotion_id",
    );
    ok(Promotion, &[("promotion_id", "Black Friday 2025!")]);
    bad(Promotion, &[("title", &"t".repeat(151))], "title");
    bad(Promotion, &[("link", "shop.example")], "link");
    bad(Promotion, &[("active_period", "")], "active_period");
    bad(
        Promotion,
        &[("active_period", "2025-12-01T00:00:00Z/2025-11-28T00:00:00Z")],
        "active_period",
    );
    bad(
        Promotion,
        &[("active_period", "2025-12-01T00:00:00Z/2025-12-01T00:00:00Z")],
        "active_period",
    );
    bad(
        Promotion,
        &[("active_period", "2025-11-28T00:00:00/2025-12-01T00:00:00")],
        "active_period",
    );
    // The same instant written in two zones: not a period.
    bad(
        Promotion,
        &[(
            "active_period",
            "2025-11-28T01:00:00+01:00/2025-11-28T00:00:00Z",
        )],
        "active_period",
    );
    ok(Promotion, &[("active_period", "2025-11-28/2025-12-01")]);
    bad(Promotion, &[("benefit_type", "bogo")], "benefit_type");
    bad(Promotion, &[("percent_off", "")], "percent_off");
    bad(Promotion, &[("percent_off", "101")], "percent_off");
    bad(Promotion, &[("percent_off", "12.5")], "percent_off");
    bad(Promotion, &[("benefit_type", "amount_off")], "amount_off");
    bad(
        Promotion,
        &[("benefit_type", "amount_off"), ("amount_off", "10")],
        "amount_off",
    );
    ok(
        Promotion,
        &[("benefit_type", "amount_off"), ("amount_off", "10.00 USD")],
    );
    ok(
        Promotion,
        &[("benefit_type", "free_shipping"), ("percent_off", "")],
    );
    bad(
        Promotion,
        &[("minimum_order_amount", "50")],
        "minimum_order_amount",
    );
    bad(
        Promotion,
        &[("target_selection", "some")],
        "target_selection",
    );
    bad(
        Promotion,
        &[
            ("target_selection", "specific_products"),
            ("excluded_ids", ""),
        ],
        "target_ids",
    );
    ok(
        Promotion,
        &[
            ("target_selection", "specific_products"),
            ("target_item_group_ids", "G1,G2"),
        ],
    );
    bad(
        Promotion,
        &[("excluded_ids", "SKU-1,,SKU-2")],
        "excluded_ids",
    );
    bad(
        Promotion,
        &[("application_type", "manual")],
        "application_type",
    );
    bad(
        Promotion,
        &[("application_type", "promotion_code")],
        "promotion_code",
    );
    ok(
        Promotion,
        &[
            ("application_type", "promotion_code"),
            ("promotion_code", "BF_2025-20"),
        ],
    );
    bad(
        Promotion,
        &[
            ("application_type", "promotion_code"),
            ("promotion_code", "BF 2025"),
        ],
        "promotion_code",
    );
    bad(
        Promotion,
        &[
            ("application_type", "promotion_code"),
            ("promotion_code", &"C".repeat(21)),
        ],
        "promotion_code",
    );
    let mut deletion: Vec<(&str, &str)> = PROMOTION.iter().map(|(c, _)| (*c, "")).collect();
    deletion.push(("promotion_id", "BF-2025"));
    deletion.push(("delete", "true"));
    ok(Promotion, &deletion);
}

/// FEED: `percent_off` is an integer from 0 to 100, and `specific_products` needs at least
/// one of the four lists, exclusions alone included (docs/stripe.md §2.3.3).
#[test]
fn promotion_percent_off_and_target_lists_as_feed_documents() {
    for percent in ["0", "100"] {
        ok(Promotion, &[("percent_off", percent)]);
    }
    bad(Promotion, &[("percent_off", "-1")], "percent_off");
    let lists = [
        "target_ids",
        "target_item_group_ids",
        "excluded_ids",
        "excluded_item_group_ids",
    ];
    let specific = |filled: Option<&'static str>| -> Vec<(&'static str, &'static str)> {
        let mut row = vec![("target_selection", "specific_products")];
        row.extend(lists.map(|c| (c, if Some(c) == filled { "X-1,X-2" } else { "" })));
        row
    };
    for list in lists {
        ok(Promotion, &specific(Some(list)));
    }
    let errors = row_errors(Promotion, &specific(None));
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert_eq!(errors[0].column, Some("target_ids"));
    let message = &errors[0].message;
    for list in &lists[1..] {
        assert!(message.contains(list), "{message}");
    }
}

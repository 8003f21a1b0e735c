//! One passing and at least one failing example per rule family of each feed, by topic in
//! the submodules; this file holds the valid base rows and the helpers that run them.

mod cross_row;
mod feeds;
mod file;
mod offer;
mod product;
mod product_lists;
mod shipping;

use super::*;
use FeedKind::{Inventory, Pricing, Product, Promotion};

/// A complete, valid product row; tests override single columns.
const PRODUCT: &[(&str, &str)] = &[
    ("id", "SKU-1"),
    ("title", "Trail Running Shoe"),
    (
        "description",
        "Light, grippy and durable: a \"daily\" trainer.",
    ),
    ("link", "https://shop.example/p/sku-1"),
    ("image_link", "https://cdn.example/img/sku-1.jpg"),
    ("additional_image_link", ""),
    ("video_link", ""),
    ("model_3d_link", ""),
    ("brand", "Acme"),
    ("gtin", "00012345600012"),
    ("mpn", ""),
    ("condition", "new"),
    ("google_product_category", "187"),
    ("product_category", "Apparel & Accessories > Shoes"),
    ("age_group", "adult"),
    ("material", ""),
    ("length", "30 cm"),
    ("width", "12 cm"),
    ("height", "10 cm"),
    ("weight", "0.8 kg"),
    ("item_group_id", ""),
    ("item_group_title", ""),
    ("color", "Blue"),
    ("size", "42"),
    ("size_system", "EU"),
    ("gender", "unisex"),
    ("custom_variant_option_name_1", ""),
    ("custom_variant_option_value_1", ""),
    ("availability", "in_stock"),
    ("availability_date", ""),
    ("expiration_date", ""),
    ("inventory_not_tracked", "false"),
    ("inventory_quantity", "12"),
    ("price", "89.00 USD"),
    ("sale_price", "79.00 USD"),
    ("sale_price_effective_date", "2025-11-28/2025-12-01"),
    ("stripe_product_tax_code", "txcd_99999999"),
    ("third_party_tax_code", ""),
    ("tax_behavior", "exclusive"),
    ("applicable_fees", "US:CA:Recycling Fee:0.25 USD"),
    (
        "shipping",
        "US:CA:Standard:3-5:5.00 USD,US:ALL:Express::15.00 USD",
    ),
    ("shipping_cost_basis", "per_order"),
    ("free_shipping_threshold", "US:ALL:Standard:50.00 USD"),
    ("popularity_score", "4.5"),
    ("return_rate", "2.5"),
    ("product_review_count", "10"),
    ("product_review_rating", "4.2"),
    ("related_products", "upsell:SKU-2,accessory:SKU-3"),
    ("product_warning", ""),
    ("age_restriction", ""),
    ("custom_label_0", "summer"),
    ("delete", ""),
    ("disable_checkout", "false"),
];

const INVENTORY: &[(&str, &str)] = &[
    ("id", "SKU-1"),
    ("availability", "in_stock"),
    ("availability_date", ""),
    ("inventory_quantity", "4"),
];

const PRICING: &[(&str, &str)] = &[
    ("id", "SKU-1"),
    ("price", "19.99 EUR"),
    ("sale_price", ""),
    ("sale_price_effective_date", ""),
];

const PROMOTION: &[(&str, &str)] = &[
    ("promotion_id", "BF-2025"),
    ("title", "Black Friday"),
    ("link", "https://shop.example/bf"),
    (
        "active_period",
        "2025-11-28T00:00:00Z/2025-12-01T23:59:59-05:00",
    ),
    ("benefit_type", "percent_off"),
    ("percent_off", "20"),
    ("amount_off", ""),
    ("minimum_order_amount", "50.00 USD"),
    ("target_selection", "all_products"),
    ("target_ids", ""),
    ("target_item_group_ids", ""),
    ("excluded_ids", "SKU-9"),
    ("excluded_item_group_ids", ""),
    ("application_type", "automatic"),
    ("promotion_code", ""),
    ("delete", ""),
];

fn quote(v: &str) -> String {
    format!("\"{}\"", v.replace('"', "\"\""))
}

/// A header plus one row per entry of `rows`, each the base with the overrides applied
/// (overriding a column the base lacks appends it).
fn csv(base: &[(&str, &str)], rows: &[&[(&str, &str)]]) -> String {
    let mut columns: Vec<&str> = base.iter().map(|(c, _)| *c).collect();
    for row in rows {
        for (c, _) in *row {
            if !columns.contains(c) {
                columns.push(c);
            }
        }
    }
    let mut out = columns.join(",") + "\n";
    for row in rows {
        let values: Vec<String> = columns
            .iter()
            .map(|c| {
                let v = row
                    .iter()
                    .rev()
                    .find(|(k, _)| k == c)
                    .or_else(|| base.iter().find(|(k, _)| k == c))
                    .map(|(_, v)| *v)
                    .unwrap_or("");
                quote(v)
            })
            .collect();
        out += &values.join(",");
        out += "\n";
    }
    out
}

fn run(feed: FeedKind, text: &str) -> ValidationReport {
    let mut report = ValidationReport::new();
    let outcome = validate_reader(feed, Limits::v1(), text.as_bytes(), &mut report);
    report.set_outcome(&outcome);
    report
}

fn base(feed: FeedKind) -> &'static [(&'static str, &'static str)] {
    match feed {
        FeedKind::Product => PRODUCT,
        FeedKind::Inventory => INVENTORY,
        FeedKind::Pricing => PRICING,
        FeedKind::Promotion => PROMOTION,
    }
}

fn row_errors(feed: FeedKind, overrides: &[(&str, &str)]) -> Vec<ReportedError> {
    let report = run(feed, &csv(base(feed), &[overrides]));
    assert_eq!(report.fatal, None);
    assert_eq!(report.rows, 1);
    report.errors
}

#[track_caller]
fn ok(feed: FeedKind, overrides: &[(&str, &str)]) {
    let errors = row_errors(feed, overrides);
    assert!(errors.is_empty(), "{overrides:?} should pass: {errors:#?}");
}

#[track_caller]
fn bad(feed: FeedKind, overrides: &[(&str, &str)], column: &str) {
    let errors = row_errors(feed, overrides);
    assert!(
        errors.iter().any(|e| e.column == Some(column)),
        "{overrides:?} should fail on {column}: {errors:#?}"
    );
    // A broken value must not drag unrelated columns down with it.
    for e in &errors {
        assert_eq!(e.column, Some(column), "{overrides:?}: unexpected {e:?}");
    }
}

//! One passing and at least one failing example per rule family of each feed.

use super::*;

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

use FeedKind::{Inventory, Pricing, Product, Promotion};

#[test]
fn the_base_rows_are_valid() {
    for feed in FeedKind::ALL {
        ok(feed, &[]);
    }
}

#[test]
fn product_ids() {
    bad(Product, &[("id", "")], "id");
    bad(Product, &[("id", &"x".repeat(101))], "id");
    bad(Product, &[("id", "SKU 1")], "id");
    bad(Product, &[("id", "SKU,1")], "id");
    ok(Product, &[("id", &"x".repeat(100))]);
    ok(Product, &[("id", "Sku_1.b-2")]);
}

#[test]
fn duplicate_ids_fail_on_the_later_rows() {
    let text = csv(
        PRODUCT,
        &[&[], &[("id", "SKU-7")], &[], &[("id", " SKU-1 ")]],
    );
    let report = run(Product, &text);
    let lines: Vec<u64> = report.errors.iter().map(|e| e.line).collect();
    assert_eq!(lines, [4, 5]);
    assert!(report.errors.iter().all(|e| e.column == Some("id")));
    assert!(report.errors[0].message.contains("earlier row"));
}

#[test]
fn product_title_and_description() {
    bad(Product, &[("title", "")], "title");
    bad(Product, &[("title", &"t".repeat(151))], "title");
    ok(Product, &[("title", &"é".repeat(150))]);
    bad(Product, &[("title", "TRAIL RUNNING SHOE")], "title");
    ok(Product, &[("title", "USB-C HUB 4K")]);
    bad(Product, &[("description", "")], "description");
    bad(
        Product,
        &[("description", &"d".repeat(5001))],
        "description",
    );
    ok(Product, &[("description", &"ü".repeat(5000))]);
    bad(
        Product,
        &[("description", "More at www.shop.example")],
        "description",
    );
    bad(
        Product,
        &[("description", "See https://shop.example/x")],
        "description",
    );
}

#[test]
fn product_links_and_images() {
    bad(Product, &[("link", "")], "link");
    bad(Product, &[("link", "shop.example/p")], "link");
    bad(Product, &[("link", "ftp://shop.example/p")], "link");
    bad(
        Product,
        &[("image_link", "https://cdn.example/a.webp")],
        "image_link",
    );
    ok(
        Product,
        &[("image_link", "https://cdn.example/a.PNG?w=400")],
    );
    ok(Product, &[("image_link", "https://cdn.example/img/12345")]);
    bad(Product, &[("video_link", "youtube.com/x")], "video_link");
    bad(Product, &[("model_3d_link", "https://")], "model_3d_link");
    let ten: Vec<String> = (0..10)
        .map(|i| format!("https://cdn.example/{i}.jpg"))
        .collect();
    ok(Product, &[("additional_image_link", &ten.join(","))]);
    let eleven = ten.join(",") + ",https://cdn.example/10.jpg";
    bad(
        Product,
        &[("additional_image_link", &eleven)],
        "additional_image_link",
    );
    bad(
        Product,
        &[(
            "additional_image_link",
            "https://cdn.example/1.jpg,,https://cdn.example/2.jpg",
        )],
        "additional_image_link",
    );
    bad(
        Product,
        &[("additional_image_link", "https://a.example/1.jpg,b.jpg")],
        "additional_image_link",
    );
}

#[test]
fn product_brand_gtin_mpn() {
    bad(Product, &[("brand", "")], "brand");
    bad(Product, &[("brand", &"b".repeat(71))], "brand");
    ok(
        Product,
        &[
            ("brand", ""),
            ("product_category", "Media > Books > Fiction"),
        ],
    );
    ok(
        Product,
        &[("brand", ""), ("google_product_category", "784")],
    );
    ok(
        Product,
        &[
            ("brand", ""),
            (
                "google_product_category",
                "Media > Music & Sound Recordings",
            ),
        ],
    );
    ok(Product, &[("brand", ""), ("product_category", "Movies")]);
    bad(Product, &[("gtin", "0001-2345")], "gtin");
    bad(Product, &[("gtin", &"1".repeat(51))], "gtin");
    bad(Product, &[("gtin", ""), ("mpn", "")], "mpn");
    ok(Product, &[("gtin", ""), ("mpn", "TR-2025-B")]);
    bad(Product, &[("gtin", ""), ("mpn", &"m".repeat(71))], "mpn");
}

#[test]
fn product_enums() {
    bad(Product, &[("condition", "mint")], "condition");
    ok(Product, &[("condition", "")]);
    ok(Product, &[("condition", "refurbished")]);
    bad(Product, &[("age_group", "teen")], "age_group");
    bad(Product, &[("gender", "men")], "gender");
    bad(Product, &[("tax_behavior", "incl")], "tax_behavior");
    bad(
        Product,
        &[("shipping_cost_basis", "per_box")],
        "shipping_cost_basis",
    );
    bad(Product, &[("availability", "In Stock")], "availability");
    bad(Product, &[("availability", "")], "availability");
}

#[test]
fn product_categories() {
    bad(
        Product,
        &[("google_product_category", ""), ("product_category", "")],
        "product_category",
    );
    ok(Product, &[("google_product_category", "")]);
    ok(Product, &[("product_category", "")]);
    bad(
        Product,
        &[("product_category", "Apparel > > Shoes")],
        "product_category",
    );
    bad(
        Product,
        &[("product_category", "Apparel >")],
        "product_category",
    );
}

#[test]
fn product_measures() {
    bad(Product, &[("width", "5 in")], "width");
    bad(Product, &[("length", "30cm")], "length");
    bad(Product, &[("height", "10 mm")], "height");
    ok(
        Product,
        &[("length", "12 in"), ("width", "5 in"), ("height", "")],
    );
    bad(Product, &[("weight", "2.5 pounds")], "weight");
    ok(Product, &[("weight", "2.5 lb")]);
    ok(Product, &[("weight", "300 g")]);
}

#[test]
fn product_variant_columns() {
    bad(
        Product,
        &[("item_group_id", &"g".repeat(71))],
        "item_group_id",
    );
    bad(
        Product,
        &[("item_group_title", &"g".repeat(151))],
        "item_group_title",
    );
    bad(Product, &[("color", &"c".repeat(101))], "color");
    bad(Product, &[("material", &"c".repeat(101))], "material");
    bad(Product, &[("size", &"s".repeat(21))], "size");
    bad(Product, &[("size_system", "USA")], "size_system");
    ok(Product, &[("size_system", "UK")]);
    ok(Product, &[("size_system", "JP")]);
    bad(
        Product,
        &[("custom_variant_option_name_1", "Engraving")],
        "custom_variant_option_value_1",
    );
    bad(
        Product,
        &[("custom_variant_option_value_2", "Gold")],
        "custom_variant_option_name_2",
    );
    ok(
        Product,
        &[
            ("custom_variant_option_name_3", "Engraving"),
            ("custom_variant_option_value_3", "Yes"),
        ],
    );
}

#[test]
fn variant_groups_carry_the_same_attributes() {
    let text = csv(
        PRODUCT,
        &[
            &[("id", "A-S"), ("item_group_id", "A"), ("size", "S")],
            &[("id", "A-M"), ("item_group_id", "A"), ("size", "M")],
            &[("id", "A-L"), ("item_group_id", "A"), ("size", "")],
            &[
                ("id", "B-1"),
                ("item_group_id", "B"),
                ("color", ""),
                ("size", ""),
            ],
            &[
                ("id", "B-2"),
                ("item_group_id", "B"),
                ("color", ""),
                ("size", ""),
            ],
            &[
                ("id", "B-3"),
                ("item_group_id", "B"),
                ("color", ""),
                ("size", ""),
                ("material", "Wool"),
            ],
        ],
    );
    let report = run(Product, &text);
    let at: Vec<(u64, Option<&str>)> = report.errors.iter().map(|e| (e.line, e.column)).collect();
    assert_eq!(
        at,
        [(4, Some("item_group_id")), (7, Some("item_group_id"))],
        "{report:#?}"
    );
    assert!(
        report.errors[0].message.contains("line 2"),
        "{}",
        report.errors[0].message
    );
}

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
fn product_inventory() {
    bad(Product, &[("inventory_quantity", "")], "inventory_quantity");
    bad(
        Product,
        &[("inventory_quantity", "-1")],
        "inventory_quantity",
    );
    bad(
        Product,
        &[("inventory_quantity", "2.5")],
        "inventory_quantity",
    );
    bad(
        Product,
        &[("inventory_not_tracked", "true")],
        "inventory_quantity",
    );
    ok(
        Product,
        &[
            ("inventory_not_tracked", "true"),
            ("inventory_quantity", ""),
        ],
    );
    ok(
        Product,
        &[("inventory_not_tracked", ""), ("inventory_quantity", "0")],
    );
    bad(
        Product,
        &[("inventory_not_tracked", "TRUE")],
        "inventory_not_tracked",
    );
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

#[test]
fn product_tax() {
    bad(
        Product,
        &[("stripe_product_tax_code", "txcd_123")],
        "stripe_product_tax_code",
    );
    bad(
        Product,
        &[("stripe_product_tax_code", "99999999")],
        "stripe_product_tax_code",
    );
    bad(
        Product,
        &[("third_party_tax_code", "anrok")],
        "third_party_tax_code",
    );
    bad(
        Product,
        &[(
            "third_party_tax_code",
            &format!("anrok:{}", "x".repeat(120)),
        )],
        "third_party_tax_code",
    );
    ok(
        Product,
        &[("third_party_tax_code", "anrok:clothing-general")],
    );
}

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

#[test]
fn product_scores_and_reviews() {
    bad(Product, &[("popularity_score", "6")], "popularity_score");
    bad(Product, &[("popularity_score", "high")], "popularity_score");
    ok(Product, &[("popularity_score", "0")]);
    bad(Product, &[("return_rate", "5%")], "return_rate");
    bad(Product, &[("return_rate", "100.5")], "return_rate");
    ok(Product, &[("return_rate", "100")]);
    bad(
        Product,
        &[("product_review_count", "-3")],
        "product_review_count",
    );
    bad(
        Product,
        &[("product_review_rating", "")],
        "product_review_rating",
    );
    bad(
        Product,
        &[("product_review_rating", "0.5")],
        "product_review_rating",
    );
    ok(
        Product,
        &[("product_review_count", "0"), ("product_review_rating", "")],
    );
    ok(
        Product,
        &[("product_review_count", ""), ("product_review_rating", "")],
    );
    bad(Product, &[("age_restriction", "18+")], "age_restriction");
    ok(Product, &[("age_restriction", "18")]);
}

#[test]
fn product_related_products() {
    ok(
        Product,
        &[("related_products", "substitute:SKU-2, cross_sell:SKU-3")],
    );
    bad(
        Product,
        &[("related_products", "bundle:SKU-2")],
        "related_products",
    );
    bad(
        Product,
        &[("related_products", "upsell:SKU-1")],
        "related_products",
    );
    bad(
        Product,
        &[("related_products", "upsell:SKU-2,accessory:SKU-2")],
        "related_products",
    );
    bad(
        Product,
        &[("related_products", "SKU-2")],
        "related_products",
    );
    bad(
        Product,
        &[("related_products", "upsell:")],
        "related_products",
    );
    let eleven: Vec<String> = (2..13).map(|i| format!("upsell:SKU-{i}")).collect();
    bad(
        Product,
        &[("related_products", &eleven.join(","))],
        "related_products",
    );
}

#[test]
fn product_warnings() {
    ok(
        Product,
        &[(
            "product_warning",
            "prop_65:Contains lead, a chemical known to the State of California to cause cancer, safety_warning:Keep away from fire",
        )],
    );
    bad(
        Product,
        &[("product_warning", "danger_zone:Sharp")],
        "product_warning",
    );
    bad(
        Product,
        &[("product_warning", "safety_warning:Hot, legal_stuff:x")],
        "product_warning",
    );
    bad(
        Product,
        &[("product_warning", "safety_warning:")],
        "product_warning",
    );
    bad(
        Product,
        &[("product_warning", "Keep away from children")],
        "product_warning",
    );
    bad(
        Product,
        &[(
            "product_warning",
            &format!("legal_disclaimer:{}", "w".repeat(1001)),
        )],
        "product_warning",
    );
    ok(
        Product,
        &[(
            "product_warning",
            &format!("legal_disclaimer:{}", "w".repeat(1000)),
        )],
    );
}

#[test]
fn product_labels_and_flags() {
    bad(
        Product,
        &[("custom_label_0", &"l".repeat(101))],
        "custom_label_0",
    );
    bad(
        Product,
        &[("custom_label_4", &"l".repeat(101))],
        "custom_label_4",
    );
    bad(Product, &[("disable_checkout", "yes")], "disable_checkout");
    ok(Product, &[("disable_checkout", "true")]);
}

#[test]
fn deletions_need_only_the_id() {
    let mut blank: Vec<(&str, &str)> = PRODUCT.iter().map(|(c, _)| (*c, "")).collect();
    blank.push(("id", "SKU-1"));
    blank.push(("delete", "true"));
    ok(Product, &blank);
    blank.push(("id", ""));
    bad(Product, &blank, "id");
    bad(Product, &[("delete", "yes")], "delete");
    ok(Product, &[("delete", "false")]);

    // A deletions-only file: just the key and `delete`.
    let report = run(Product, "id,delete\nSKU-1,true\nSKU-2,true\nSKU-3,false\n");
    assert_eq!(report.fatal, None);
    assert_eq!(report.rows, 3);
    assert_eq!(report.rows_with_errors, 1);
    assert!(report.errors.iter().all(|e| e.line == 4));
    assert!(
        report
            .errors
            .iter()
            .any(|e| e.column == Some("title") && e.message.contains("file has no `title` column"))
    );
}

#[test]
fn field_counts_must_match_the_header() {
    let report = run(Product, "id,title\nA,b,c\nB\n");
    assert_eq!(
        report.fatal.as_deref(),
        Some(
            Fatal::MissingColumns(vec![
                "description".into(),
                "link".into(),
                "image_link".into(),
                "availability".into(),
                "price".into()
            ])
            .to_string()
            .as_str()
        )
    );
    let report = run(Pricing, "id,price\nA,1.00 USD,extra\nB\nC,2.00 USD\n");
    let at: Vec<(u64, Option<&str>)> = report.errors.iter().map(|e| (e.line, e.column)).collect();
    assert_eq!(at, [(2, None), (3, None)]);
    assert!(
        report.errors[0]
            .message
            .contains("3 fields but the header has 2")
    );
}

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
    bad(Promotion, &[("percent_off", "0")], "percent_off");
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
        &[("target_selection", "specific_products")],
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

#[test]
fn unknown_columns_and_header_case_are_tolerated() {
    let report = run(Pricing, " ID ,Price,Notes\nA,1.00 USD,anything at all\n");
    assert_eq!(report.fatal, None);
    assert!(report.errors.is_empty(), "{report:#?}");
}

#[test]
fn feed_kinds_parse_and_come_from_paths() {
    assert_eq!("catalog".parse::<FeedKind>(), Ok(Product));
    assert_eq!("Product".parse::<FeedKind>(), Ok(Product));
    assert_eq!("promotion".parse::<FeedKind>(), Ok(Promotion));
    assert!("prices".parse::<FeedKind>().is_err());
    assert_eq!(
        FeedKind::from_path("incoming/acct_1/inventory/a.csv"),
        Some(Inventory)
    );
    assert_eq!(FeedKind::from_path("/tmp/catalog/x.tsv"), Some(Product));
    assert_eq!(FeedKind::from_path("/tmp/x.csv"), None);
    for feed in FeedKind::ALL {
        assert_eq!(feed.as_str().parse::<FeedKind>(), Ok(feed));
    }
}

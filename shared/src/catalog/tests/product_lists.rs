//! Related products and product warnings (`rules::product_lists`).

use super::*;

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

//! The product feed's own columns (`rules::product`).

use super::*;

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

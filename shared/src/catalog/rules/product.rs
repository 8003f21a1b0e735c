//! Row rules of the product feed, the full catalog: identity and text, links and images,
//! category and brand, measures, variant attributes, offer, tax, and the list-valued
//! columns (checked in `shipping` and `product_lists`). Its key and item groups are
//! checked against the rows before it (`ids`, `variants`).

use super::ids::SeenIds;
use super::offer::{availability, price_and_sale};
use super::product_lists::{product_warning, related_products};
use super::row::{Row, entries};
use super::shipping::{applicable_fees, check_shipping, free_shipping_threshold};
use super::variants::VariantGroups;
use crate::catalog::columns::Col::{self, *};
use crate::catalog::formats::{self, LinkFinder, show, split_byte, split_once_byte};

/// Checks one product row. A deletion (`delete` is `true`) is checked for its key only:
/// Stripe reads nothing else from it.
#[inline]
pub(super) fn check(
    row: &mut Row<'_, '_>,
    ids: &mut SeenIds,
    groups: &mut VariantGroups,
    links: &LinkFinder,
) {
    let deleting = row.bool_col(Delete) == Some(true);
    ids.check_key(row, Id, true);
    // Stripe reads only id and delete from a deletion.
    if deleting {
        return;
    }

    let title = row.required(Title);
    row.check_len(Title, title, 150);
    if formats::is_all_caps(title) {
        row.err(Title, "is in capitals: write it in sentence or title case");
    }
    let description = row.required(Description);
    row.check_len(Description, description, 5000);
    if links.has_link(description) {
        row.err(
            Description,
            "must not contain links (`http://`, `https://`, `www.`): the product URL goes in `link`",
        );
    }
    let link = row.required(Link);
    if !link.is_empty() {
        row.url(Link, link);
    }
    let image = row.required(ImageLink);
    if !image.is_empty() && row.url(ImageLink, image) {
        image_type(row, ImageLink, image);
    }
    let more_images = row.v(AdditionalImageLink);
    if !more_images.is_empty() {
        let mut count = 0;
        for url in entries(more_images) {
            count += 1;
            if url.is_empty() {
                row.err(
                    AdditionalImageLink,
                    "has an empty entry (a stray comma; a comma inside a URL is written %2C)",
                );
            } else if row.url(AdditionalImageLink, url) {
                image_type(row, AdditionalImageLink, url);
            }
        }
        if count > 10 {
            row.err(
                AdditionalImageLink,
                format!("lists {count} images; the limit is 10"),
            );
        }
    }
    row.url_col(VideoLink);
    row.url_col(Model3dLink);

    let google_category = row.v(GoogleProductCategory);
    let category = row.v(ProductCategory);
    if google_category.is_empty() && category.is_empty() {
        row.missing(
            ProductCategory,
            " (or google_product_category): one of the two must be filled",
        );
    }
    for (col, v) in [
        (GoogleProductCategory, google_category),
        (ProductCategory, category),
    ] {
        if !v.is_empty()
            && !formats::is_digits(v)
            && split_byte(v, b'>').any(|s| s.trim_ascii().is_empty())
        {
            row.err(
                col,
                format!("{} has an empty level: separate levels with ` > `", show(v)),
            );
        }
    }
    let brand = row.max_chars(Brand, 70);
    if brand.is_empty() && !is_media(google_category, category) {
        row.missing(Brand, " (except for books, movies and music)");
    }
    let gtin = row.v(Gtin);
    if !gtin.is_empty() {
        if !formats::is_digits(gtin) {
            row.err(
                Gtin,
                format!(
                    "{} must be digits only, without dashes or spaces",
                    show(gtin)
                ),
            );
        }
        row.check_len(Gtin, gtin, 50);
    }
    let mpn = row.max_chars(Mpn, 70);
    if gtin.is_empty() && mpn.is_empty() {
        row.missing(Mpn, " when gtin is blank");
    }
    // "Required if not new" cannot be checked: a blank condition means new.
    row.enum_col(Condition, &["new", "refurbished", "used"]);
    row.enum_col(AgeGroup, &["newborn", "infant", "toddler", "kids", "adult"]);
    row.max_chars(Material, 100);

    let mut first_unit: Option<(Col, &str)> = None;
    for col in [Length, Width, Height] {
        let v = row.v(col);
        if v.is_empty() {
            continue;
        }
        match formats::measure(v, &["cm", "in"]) {
            None => row.err(col, format!("{} is not a size like `10.5 cm` or `4 in`", show(v))),
            Some(unit) => match first_unit {
                None => first_unit = Some((col, unit)),
                Some((first, first_unit)) if first_unit != unit => row.err(
                    col,
                    format!(
                        "is in {unit} but {} is in {first_unit}: length, width and height must use one unit",
                        first.name()
                    ),
                ),
                Some(_) => {}
            },
        }
    }
    let weight = row.v(Weight);
    if !weight.is_empty() && formats::measure(weight, &["lb", "oz", "g", "kg"]).is_none() {
        row.err(
            Weight,
            format!(
                "{} is not a weight like `2.5 lb` (units lb, oz, g, kg)",
                show(weight)
            ),
        );
    }

    let group = row.max_chars(ItemGroupId, 70);
    row.max_chars(ItemGroupTitle, 150);
    row.max_chars(Color, 100);
    row.max_chars(Size, 20);
    let size_system = row.v(SizeSystem);
    // UK and EU are not ISO 3166 alpha-2 codes, but they are the size systems shoppers
    // know; ISO reserves both for exactly these uses.
    if !size_system.is_empty()
        && !formats::is_country(size_system)
        && !matches!(size_system, "UK" | "EU")
    {
        row.err(
            SizeSystem,
            format!(
                "{} is not an ISO 3166 alpha-2 country code like `US`",
                show(size_system)
            ),
        );
    }
    row.enum_col(Gender, &["male", "female", "unisex"]);
    for (name, value) in [
        (CustomVariantOptionName1, CustomVariantOptionValue1),
        (CustomVariantOptionName2, CustomVariantOptionValue2),
        (CustomVariantOptionName3, CustomVariantOptionValue3),
    ] {
        match (row.v(name).is_empty(), row.v(value).is_empty()) {
            (false, true) => row.missing(value, &format!(" when {} is set", name.name())),
            (true, false) => row.missing(name, &format!(" when {} is set", value.name())),
            _ => {}
        }
    }

    availability(row);
    row.date_col(ExpirationDate);
    let untracked = row.bool_col(InventoryNotTracked) == Some(true);
    let quantity = row.v(InventoryQuantity);
    if untracked {
        if !quantity.is_empty() {
            row.err(
                InventoryQuantity,
                "must be blank when inventory_not_tracked is true",
            );
        }
    } else if quantity.is_empty() {
        row.missing(InventoryQuantity, " unless inventory_not_tracked is true");
    } else {
        row.uint_col(InventoryQuantity);
    }
    price_and_sale(row);

    let tax_code = row.v(StripeProductTaxCode);
    if !tax_code.is_empty()
        && !tax_code
            .strip_prefix("txcd_")
            .is_some_and(|d| d.len() == 8 && formats::is_digits(d))
    {
        row.err(
            StripeProductTaxCode,
            format!(
                "{} is not a Stripe tax code like `txcd_99999999`",
                show(tax_code)
            ),
        );
    }
    let third_party = row.max_chars(ThirdPartyTaxCode, 120);
    if !third_party.is_empty()
        && !split_once_byte(third_party, b':')
            .is_some_and(|(p, c)| !p.trim_ascii().is_empty() && !c.trim_ascii().is_empty())
    {
        row.err(
            ThirdPartyTaxCode,
            format!(
                "{} must be `provider:code`, e.g. `anrok:<code>`",
                show(third_party)
            ),
        );
    }
    row.enum_col(TaxBehavior, &["inclusive", "exclusive"]);
    applicable_fees(row);
    let shipping = row.v(Shipping);
    if !shipping.is_empty() {
        check_shipping(row, shipping);
    }
    row.enum_col(ShippingCostBasis, &["per_order", "per_item"]);
    free_shipping_threshold(row, shipping);
    row.number_in(PopularityScore, 0, 5);
    row.number_in(ReturnRate, 0, 100);
    let reviews = row.uint_col(ProductReviewCount);
    row.number_in(ProductReviewRating, 1, 5);
    if reviews.unwrap_or(0) > 0 && row.v(ProductReviewRating).is_empty() {
        row.missing(ProductReviewRating, " when product_review_count is above 0");
    }
    related_products(row);
    product_warning(row);
    row.uint_col(AgeRestriction);
    for col in [
        CustomLabel0,
        CustomLabel1,
        CustomLabel2,
        CustomLabel3,
        CustomLabel4,
    ] {
        row.max_chars(col, 100);
    }
    row.bool_col(DisableCheckout);

    if !group.is_empty() {
        groups.check(row, group);
    }
}

/// Image URLs whose path names a type other than JPEG or PNG. Most image URLs have no
/// extension (CDNs), and those pass: only what the URL itself says is checked.
fn image_type(row: &mut Row<'_, '_>, col: Col, url: &str) {
    const OTHER: [&str; 10] = [
        "gif", "webp", "svg", "bmp", "tif", "tiff", "heic", "heif", "avif", "ico",
    ];
    if let Some(ext) = formats::url_extension(url) {
        let usual = ext == "jpg" || ext == "png" || ext == "jpeg";
        if !usual && OTHER.iter().any(|o| o.eq_ignore_ascii_case(ext)) {
            row.err(
                col,
                format!("{} is a .{ext} image: use JPEG or PNG", show(url)),
            );
        }
    }
}

/// Books, movies and music need no brand. Categories are matched loosely (any level of a
/// path), and Google taxonomy ids are recognised for the Media tree's top levels
/// (783 Media, 784 Books, 839 DVDs & Videos, 855 Music & Sound Recordings).
fn is_media(google_category: &str, category: &str) -> bool {
    const WORDS: [&str; 4] = ["book", "movie", "music", "media"];
    [google_category, category]
        .iter()
        .any(|c| WORDS.iter().any(|w| formats::contains_ignore_case(c, w)))
        || matches!(google_category, "783" | "784" | "839" | "855")
}

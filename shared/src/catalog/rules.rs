//! Row rules of the four feeds (STRIPE.md §2), and the cross-row state they need:
//! ids already seen and the variant attributes of each item group.
//!
//! Values are trimmed (ASCII whitespace) before any check, so `" 15.00 USD "` passes; enum values and
//! booleans are case-sensitive because the spec spells them exactly (`in_stock`, `true`).

use std::collections::{HashMap, HashSet};

use super::columns::Col::{self, *};
use super::formats::{self, chars_over, show, split_byte, split_once_byte};
use super::id_hash::{IdHashBuild, id_hash};
use super::record::{Header, Record};
use super::{FeedKind, RowError};

/// The attributes whose presence must agree across one item group's variants.
const VARIANT_ATTRIBUTES: [Col; 8] = [
    Color,
    Size,
    SizeSystem,
    Gender,
    Material,
    CustomVariantOptionName1,
    CustomVariantOptionName2,
    CustomVariantOptionName3,
];

struct Group {
    line: u64,
    mask: u16,
}

pub(crate) struct Checker {
    feed: FeedKind,
    links: formats::LinkFinder,
    ids: HashSet<u128, IdHashBuild>,
    groups: HashMap<u128, Group, IdHashBuild>,
}

/// One row being checked: its values by column, and where its errors go.
struct Row<'r, 'a> {
    record: &'r Record<'a>,
    header: &'r Header,
    errors: &'r mut Vec<RowError>,
}

impl<'a> Row<'_, 'a> {
    fn has(&self, col: Col) -> bool {
        self.header.col(col).is_some()
    }

    /// The trimmed value; `""` when blank or when the file has no such column.
    fn v(&self, col: Col) -> &'a str {
        match self.header.col(col) {
            Some(i) => self.record.get(i).trim_ascii(),
            None => "",
        }
    }

    fn err(&mut self, col: Col, message: impl Into<String>) {
        self.errors.push(RowError::new(Some(col.name()), message));
    }

    fn missing(&mut self, col: Col, why: &str) {
        let message = if self.has(col) {
            format!("is required{why}")
        } else {
            format!(
                "is required{why}, and the file has no `{}` column",
                col.name()
            )
        };
        self.err(col, message);
    }

    /// The value, or an error when it is blank.
    fn required(&mut self, col: Col) -> &'a str {
        let v = self.v(col);
        if v.is_empty() {
            self.missing(col, "");
        }
        v
    }

    fn max_chars(&mut self, col: Col, max: usize) -> &'a str {
        let v = self.v(col);
        self.check_len(col, v, max);
        v
    }

    fn check_len(&mut self, col: Col, v: &str, max: usize) {
        if let Some(n) = chars_over(v, max) {
            self.err(col, format!("is {n} characters long; the limit is {max}"));
        }
    }

    fn one_of(&mut self, col: Col, v: &str, allowed: &[&str]) -> bool {
        if v.is_empty() || allowed.contains(&v) {
            return true;
        }
        self.err(
            col,
            format!("{} is not one of: {}", show(v), allowed.join(", ")),
        );
        false
    }

    fn enum_col(&mut self, col: Col, allowed: &[&str]) -> &'a str {
        let v = self.v(col);
        self.one_of(col, v, allowed);
        v
    }

    fn url(&mut self, col: Col, v: &str) -> bool {
        match formats::url(v) {
            Ok(()) => true,
            Err(why) => {
                self.err(col, format!("{} {why}", show(v)));
                false
            }
        }
    }

    fn url_col(&mut self, col: Col) {
        let v = self.v(col);
        if !v.is_empty() {
            self.url(col, v);
        }
    }

    fn bool_col(&mut self, col: Col) -> Option<bool> {
        match self.v(col) {
            "" => None,
            "true" => Some(true),
            "false" => Some(false),
            other => {
                self.err(
                    col,
                    format!("{} is not a boolean: write `true` or `false`", show(other)),
                );
                None
            }
        }
    }

    fn uint_col(&mut self, col: Col) -> Option<u64> {
        let v = self.v(col);
        if v.is_empty() {
            return None;
        }
        let n = formats::uint(v);
        if n.is_none() {
            self.err(
                col,
                format!("{} is not a whole number of 0 or more", show(v)),
            );
        }
        n
    }

    /// A plain number within whole-number bounds; `Some` when present and valid.
    fn number_in(&mut self, col: Col, lo: u64, hi: u64) -> Option<()> {
        let v = self.v(col);
        if v.is_empty() {
            return None;
        }
        match formats::decimal(v) {
            Some(n) if n.within(lo, hi) => Some(()),
            Some(_) => {
                self.err(col, format!("{} is outside {lo}–{hi}", show(v)));
                None
            }
            None if v.ends_with('%') => {
                self.err(
                    col,
                    format!("{} must be a plain number, without `%`", show(v)),
                );
                None
            }
            None => {
                self.err(col, format!("{} is not a number like `4.5`", show(v)));
                None
            }
        }
    }

    fn price_col(&mut self, col: Col) -> Option<&'a str> {
        let v = self.v(col);
        if v.is_empty() {
            return None;
        }
        match formats::price(v) {
            Ok(currency) => Some(currency),
            Err(message) => {
                self.err(col, message);
                None
            }
        }
    }

    fn date_col(&mut self, col: Col) -> Option<i64> {
        let v = self.v(col);
        if v.is_empty() {
            return None;
        }
        let t = formats::instant(v);
        if t.is_none() {
            self.err(
                col,
                format!(
                    "{} is not an ISO 8601 date: write `YYYY-MM-DD` (or a date-time with a zone, `YYYY-MM-DDThh:mm:ssZ`)",
                    show(v)
                ),
            );
        }
        t
    }

    /// `start/end` of two instants with `start` before `end` (or equal, when allowed).
    fn period(&mut self, col: Col, v: &str, allow_equal: bool, shape: &str) {
        let parsed = split_once_byte(v, b'/').and_then(|(a, b)| {
            Some((
                formats::instant(a.trim_ascii())?,
                formats::instant(b.trim_ascii())?,
            ))
        });
        match parsed {
            None => self.err(col, format!("{} is not a period: write `{shape}`", show(v))),
            Some((start, end)) if end < start || (end == start && !allow_equal) => {
                self.err(col, format!("{} ends before it starts", show(v)))
            }
            Some(_) => {}
        }
    }
}

/// `a:b:c` split into at most `N` parts; the count says how many there were (more than `N`
/// means too many).
fn split_parts<const N: usize>(s: &str) -> ([&str; N], usize) {
    let mut parts = [""; N];
    let mut n = 0;
    for part in split_byte(s, b':') {
        if n < N {
            parts[n] = part.trim_ascii();
        }
        n += 1;
    }
    (parts, n)
}

/// Entries of a comma-separated list, trimmed.
fn entries(s: &str) -> impl Iterator<Item = &str> {
    split_byte(s, b',').map(str::trim_ascii)
}

const AVAILABILITY: &[&str] = &["in_stock", "out_of_stock", "preorder", "backorder"];

impl Checker {
    pub(crate) fn new(feed: FeedKind) -> Self {
        Checker {
            feed,
            links: formats::LinkFinder::new(),
            ids: HashSet::default(),
            groups: HashMap::default(),
        }
    }

    pub(crate) fn check(
        &mut self,
        record: &Record<'_>,
        header: &Header,
        errors: &mut Vec<RowError>,
    ) {
        if record.len() != header.len() {
            // Every value after a misplaced delimiter is in the wrong column, so checking
            // them would only bury this one error under consequences.
            errors.push(RowError::new(
                None,
                format!(
                    "has {} fields but the header has {}: a value containing the delimiter must be quoted",
                    record.len(),
                    header.len()
                ),
            ));
            return;
        }
        let mut row = Row {
            record,
            header,
            errors,
        };
        match self.feed {
            FeedKind::Product => self.product(&mut row),
            FeedKind::Inventory => self.inventory(&mut row),
            FeedKind::Pricing => self.pricing(&mut row),
            FeedKind::Promotion => self.promotion(&mut row),
        }
    }

    /// Required, bounded, and unique in the file. Product-like ids are SKUs: ASCII letters
    /// and digits plus the separators SKUs commonly use; commas, colons and spaces would
    /// break the lists (`related_products`, `target_ids`) that refer to them.
    fn key(&mut self, row: &mut Row<'_, '_>, col: Col, sku: bool) {
        let id = row.required(col);
        if id.is_empty() {
            return;
        }
        row.check_len(col, id, 100);
        if sku
            && !id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        {
            row.err(
                col,
                format!(
                    "{} may contain only letters, digits, `-`, `_` and `.`",
                    show(id)
                ),
            );
        }
        if !self.ids.insert(id_hash(id)) {
            row.err(
                col,
                format!("{} appears on an earlier row of this file", show(id)),
            );
        }
    }

    fn product(&mut self, row: &mut Row<'_, '_>) {
        let deleting = row.bool_col(Delete) == Some(true);
        self.key(row, Id, true);
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
        if self.links.has_link(description) {
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
        let currency = row.required(Price);
        let currency = if currency.is_empty() {
            None
        } else {
            row.price_col(Price)
        };
        sale(row, currency);

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
            self.variant_group(row, group);
        }
    }

    /// Every variant of a group must carry the same set of variant attributes (not the
    /// same values): the first row seen defines the set, later rows are checked against it.
    fn variant_group(&mut self, row: &mut Row<'_, '_>, group: &str) {
        let mut mask = 0u16;
        for (bit, col) in VARIANT_ATTRIBUTES.iter().enumerate() {
            // Custom option values pair with their names (checked above), so the names
            // speak for them.
            if !row.v(*col).is_empty() {
                mask |= 1 << bit;
            }
        }
        let line = row.record.line();
        let first = self
            .groups
            .entry(id_hash(group))
            .or_insert(Group { line, mask });
        if first.mask == mask {
            return;
        }
        let names = |m: u16| {
            let list: Vec<&str> = VARIANT_ATTRIBUTES
                .iter()
                .enumerate()
                .filter(|(bit, _)| m & (1 << bit) != 0)
                .map(|(_, c)| c.name())
                .collect();
            if list.is_empty() {
                "none".to_string()
            } else {
                list.join(", ")
            }
        };
        let message = format!(
            "item group {} has variant attributes {} on its first row (line {}), but this row has {}: every variant of a group must fill the same attributes",
            show(group),
            names(first.mask),
            first.line,
            names(mask)
        );
        row.err(ItemGroupId, message);
    }

    fn inventory(&mut self, row: &mut Row<'_, '_>) {
        self.key(row, Id, true);
        availability(row);
        if !row.required(InventoryQuantity).is_empty() {
            row.uint_col(InventoryQuantity);
        }
    }

    fn pricing(&mut self, row: &mut Row<'_, '_>) {
        self.key(row, Id, true);
        let currency = if row.required(Price).is_empty() {
            None
        } else {
            row.price_col(Price)
        };
        sale(row, currency);
    }

    fn promotion(&mut self, row: &mut Row<'_, '_>) {
        let deleting = row.bool_col(Delete) == Some(true);
        self.key(row, PromotionId, false);
        if deleting {
            return;
        }
        let title = row.required(Title);
        row.check_len(Title, title, 150);
        row.url_col(Link);
        let period = row.required(ActivePeriod);
        if !period.is_empty() {
            row.period(ActivePeriod, period, false, "start/end` with ISO 8601 timestamps, e.g. `2025-11-28T00:00:00Z/2025-12-01T23:59:59Z");
        }
        let benefit = row.required(BenefitType);
        row.one_of(
            BenefitType,
            benefit,
            &["percent_off", "amount_off", "free_shipping"],
        );
        match benefit {
            "percent_off" => {
                let v = row.required(PercentOff);
                if !v.is_empty() && !formats::uint(v).is_some_and(|n| (1..=100).contains(&n)) {
                    row.err(
                        PercentOff,
                        format!("{} is not a whole number from 1 to 100", show(v)),
                    );
                }
            }
            "amount_off" if !row.required(AmountOff).is_empty() => {
                row.price_col(AmountOff);
            }
            _ => {}
        }
        row.price_col(MinimumOrderAmount);
        let target = row.required(TargetSelection);
        row.one_of(
            TargetSelection,
            target,
            &["all_products", "specific_products"],
        );
        if target == "specific_products"
            && row.v(TargetIds).is_empty()
            && row.v(TargetItemGroupIds).is_empty()
        {
            row.missing(
                TargetIds,
                " (or target_item_group_ids) when target_selection is specific_products",
            );
        }
        for col in [
            TargetIds,
            TargetItemGroupIds,
            ExcludedIds,
            ExcludedItemGroupIds,
        ] {
            let v = row.v(col);
            if !v.is_empty() && entries(v).any(str::is_empty) {
                row.err(col, "has an empty entry (a stray comma)");
            }
        }
        let application = row.required(ApplicationType);
        row.one_of(
            ApplicationType,
            application,
            &["automatic", "promotion_code"],
        );
        let code = row.v(PromotionCode);
        if application == "promotion_code" && code.is_empty() {
            row.missing(PromotionCode, " when application_type is promotion_code");
        }
        if !code.is_empty()
            && (code.len() > 20
                || !code
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_')))
        {
            row.err(
                PromotionCode,
                format!(
                    "{} must be at most 20 letters, digits, `-` or `_`",
                    show(code)
                ),
            );
        }
    }
}

fn availability(row: &mut Row<'_, '_>) {
    let availability = row.required(Availability);
    row.one_of(Availability, availability, AVAILABILITY);
    let date = row.date_col(AvailabilityDate);
    if availability == "preorder" && date.is_none() && row.v(AvailabilityDate).is_empty() {
        row.missing(AvailabilityDate, " when availability is preorder");
    }
}

fn sale(row: &mut Row<'_, '_>, currency: Option<&str>) {
    let sale_currency = row.price_col(SalePrice);
    if let (Some(price), Some(sale)) = (currency, sale_currency) {
        if price != sale {
            row.err(
                SalePrice,
                format!("is in {sale} but price is in {price}: use one currency"),
            );
        }
    }
    let dates = row.v(SalePriceEffectiveDate);
    if dates.is_empty() {
        if !row.v(SalePrice).is_empty() {
            row.missing(SalePriceEffectiveDate, " when sale_price is set");
        }
    } else {
        row.period(SalePriceEffectiveDate, dates, true, "YYYY-MM-DD/YYYY-MM-DD");
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

/// `country:area:service:speed:price, …`; speed may be empty or left out.
fn check_shipping(row: &mut Row<'_, '_>, shipping: &str) {
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
        let area_ok =
            area == "ALL" || formats::is_region(area) || (us && formats::is_us_postal_area(area));
        if !area_ok {
            row.err(
                Shipping,
                format!(
                    "{}: area {} must be a region code like `CA`, `ALL`, or in the US a postal code (`94012`), range (`73114-74547`) or prefix (`94*`)",
                    show(entry),
                    show(area)
                ),
            );
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
fn applicable_fees(row: &mut Row<'_, '_>) {
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
fn free_shipping_threshold(row: &mut Row<'_, '_>, shipping: &str) {
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

/// `type:target_id, …`: at most 10, none pointing at the row itself or repeated.
fn related_products(row: &mut Row<'_, '_>) {
    let related = row.v(RelatedProducts);
    if related.is_empty() {
        return;
    }
    let id = row.v(Id);
    let count = entries(related).count();
    if count > 10 {
        row.err(
            RelatedProducts,
            format!("lists {count} products; the limit is 10"),
        );
    }
    for (i, entry) in entries(related).enumerate() {
        let Some((kind, target)) =
            split_once_byte(entry, b':').map(|(k, t)| (k.trim_ascii(), t.trim_ascii()))
        else {
            row.err(
                RelatedProducts,
                format!("{} is not `type:target_id`", show(entry)),
            );
            continue;
        };
        if !["upsell", "cross_sell", "substitute", "accessory"].contains(&kind) {
            row.err(
                RelatedProducts,
                format!(
                    "{}: type {} is not one of: upsell, cross_sell, substitute, accessory",
                    show(entry),
                    show(kind)
                ),
            );
        }
        if target.is_empty() {
            row.err(
                RelatedProducts,
                format!("{}: the target id is empty", show(entry)),
            );
        } else if target == id {
            row.err(
                RelatedProducts,
                format!("{}: a product cannot relate to itself", show(entry)),
            );
        } else if count <= 10
            && entries(related)
                .take(i)
                .any(|e| split_once_byte(e, b':').is_some_and(|(_, t)| t.trim_ascii() == target))
        {
            row.err(
                RelatedProducts,
                format!("{}: target {} is listed twice", show(entry), show(target)),
            );
        }
    }
}

/// `type:message, …`. Messages are prose and may hold commas, so an entry only ends at a
/// comma followed by something shaped like a type (`word_word:`); every real type has an
/// underscore, prose seldom puts one before a colon.
fn product_warning(row: &mut Row<'_, '_>) {
    let warnings = row.v(ProductWarning);
    if warnings.is_empty() {
        return;
    }
    let mut rest = warnings;
    loop {
        let cut = rest
            .match_indices(',')
            .map(|(i, _)| i)
            .find(|&i| starts_with_type(&rest[i + 1..]));
        let (entry, next) = match cut {
            Some(i) => (&rest[..i], Some(&rest[i + 1..])),
            None => (rest, None),
        };
        let entry = entry.trim_ascii();
        match split_once_byte(entry, b':') {
            None => row.err(
                ProductWarning,
                format!("{} is not `type:message`", show(entry)),
            ),
            Some((kind, message)) => {
                let (kind, message) = (kind.trim_ascii(), message.trim_ascii());
                if !["legal_disclaimer", "safety_warning", "prop_65"].contains(&kind) {
                    row.err(
                        ProductWarning,
                        format!(
                            "type {} is not one of: legal_disclaimer, safety_warning, prop_65",
                            show(kind)
                        ),
                    );
                }
                if message.is_empty() {
                    row.err(
                        ProductWarning,
                        format!("{}: the message is empty", show(entry)),
                    );
                } else if let Some(n) = chars_over(message, 1000) {
                    row.err(
                        ProductWarning,
                        format!("the {kind} message is {n} characters long; the limit is 1000"),
                    );
                }
            }
        }
        match next {
            Some(next) => rest = next,
            None => break,
        }
    }
}

fn starts_with_type(s: &str) -> bool {
    let s = s.trim_ascii_start();
    let Some((word, _)) = split_once_byte(s, b':') else {
        return false;
    };
    !word.is_empty()
        && word.contains('_')
        && word
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

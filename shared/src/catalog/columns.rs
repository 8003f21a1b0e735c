//! The columns the validator knows, across all four feeds. A header is resolved once into a
//! table from [`Col`] to field index, so row checks never compare column names.

use super::FeedKind;

macro_rules! columns {
    ($($variant:ident = $name:literal,)*) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        #[repr(u8)]
        pub(crate) enum Col {
            $($variant,)*
        }

        pub(crate) const NAMES: &[&str] = &[$($name,)*];

        pub(crate) const COUNT: usize = NAMES.len();
    };
}

columns! {
    Id = "id",
    Title = "title",
    Description = "description",
    Link = "link",
    ImageLink = "image_link",
    AdditionalImageLink = "additional_image_link",
    VideoLink = "video_link",
    Model3dLink = "model_3d_link",
    Brand = "brand",
    Gtin = "gtin",
    Mpn = "mpn",
    Condition = "condition",
    GoogleProductCategory = "google_product_category",
    ProductCategory = "product_category",
    AgeGroup = "age_group",
    Material = "material",
    Length = "length",
    Width = "width",
    Height = "height",
    Weight = "weight",
    ItemGroupId = "item_group_id",
    ItemGroupTitle = "item_group_title",
    Color = "color",
    Size = "size",
    SizeSystem = "size_system",
    Gender = "gender",
    CustomVariantOptionName1 = "custom_variant_option_name_1",
    CustomVariantOptionName2 = "custom_variant_option_name_2",
    CustomVariantOptionName3 = "custom_variant_option_name_3",
    CustomVariantOptionValue1 = "custom_variant_option_value_1",
    CustomVariantOptionValue2 = "custom_variant_option_value_2",
    CustomVariantOptionValue3 = "custom_variant_option_value_3",
    Availability = "availability",
    AvailabilityDate = "availability_date",
    ExpirationDate = "expiration_date",
    InventoryNotTracked = "inventory_not_tracked",
    InventoryQuantity = "inventory_quantity",
    Price = "price",
    SalePrice = "sale_price",
    SalePriceEffectiveDate = "sale_price_effective_date",
    StripeProductTaxCode = "stripe_product_tax_code",
    ThirdPartyTaxCode = "third_party_tax_code",
    TaxBehavior = "tax_behavior",
    ApplicableFees = "applicable_fees",
    Shipping = "shipping",
    ShippingCostBasis = "shipping_cost_basis",
    FreeShippingThreshold = "free_shipping_threshold",
    PopularityScore = "popularity_score",
    ReturnRate = "return_rate",
    ProductReviewCount = "product_review_count",
    ProductReviewRating = "product_review_rating",
    RelatedProducts = "related_products",
    ProductWarning = "product_warning",
    AgeRestriction = "age_restriction",
    CustomLabel0 = "custom_label_0",
    CustomLabel1 = "custom_label_1",
    CustomLabel2 = "custom_label_2",
    CustomLabel3 = "custom_label_3",
    CustomLabel4 = "custom_label_4",
    Delete = "delete",
    DisableCheckout = "disable_checkout",
    // promotion feed
    PromotionId = "promotion_id",
    ActivePeriod = "active_period",
    BenefitType = "benefit_type",
    PercentOff = "percent_off",
    AmountOff = "amount_off",
    MinimumOrderAmount = "minimum_order_amount",
    TargetSelection = "target_selection",
    TargetIds = "target_ids",
    TargetItemGroupIds = "target_item_group_ids",
    ExcludedIds = "excluded_ids",
    ExcludedItemGroupIds = "excluded_item_group_ids",
    ApplicationType = "application_type",
    PromotionCode = "promotion_code",
}

impl Col {
    pub(crate) fn name(self) -> &'static str {
        NAMES[self as usize]
    }

    pub(crate) fn from_name(name: &str) -> Option<Col> {
        let i = NAMES.iter().position(|n| *n == name)?;
        ALL.get(i).copied()
    }
}

use Col::*;

/// Every [`Col`] in declaration order (the length is checked against [`NAMES`] by the
/// type), so an index into [`NAMES`] maps back to a variant without transmutes.
const ALL: [Col; COUNT] = [
    Id,
    Title,
    Description,
    Link,
    ImageLink,
    AdditionalImageLink,
    VideoLink,
    Model3dLink,
    Brand,
    Gtin,
    Mpn,
    Condition,
    GoogleProductCategory,
    ProductCategory,
    AgeGroup,
    Material,
    Length,
    Width,
    Height,
    Weight,
    ItemGroupId,
    ItemGroupTitle,
    Color,
    Size,
    SizeSystem,
    Gender,
    CustomVariantOptionName1,
    CustomVariantOptionName2,
    CustomVariantOptionName3,
    CustomVariantOptionValue1,
    CustomVariantOptionValue2,
    CustomVariantOptionValue3,
    Availability,
    AvailabilityDate,
    ExpirationDate,
    InventoryNotTracked,
    InventoryQuantity,
    Price,
    SalePrice,
    SalePriceEffectiveDate,
    StripeProductTaxCode,
    ThirdPartyTaxCode,
    TaxBehavior,
    ApplicableFees,
    Shipping,
    ShippingCostBasis,
    FreeShippingThreshold,
    PopularityScore,
    ReturnRate,
    ProductReviewCount,
    ProductReviewRating,
    RelatedProducts,
    ProductWarning,
    AgeRestriction,
    CustomLabel0,
    CustomLabel1,
    CustomLabel2,
    CustomLabel3,
    CustomLabel4,
    Delete,
    DisableCheckout,
    PromotionId,
    ActivePeriod,
    BenefitType,
    PercentOff,
    AmountOff,
    MinimumOrderAmount,
    TargetSelection,
    TargetIds,
    TargetItemGroupIds,
    ExcludedIds,
    ExcludedItemGroupIds,
    ApplicationType,
    PromotionCode,
];

/// The column holding each row's key: what duplicates are detected on and what reports
/// name the row by.
pub(crate) fn id_column(feed: FeedKind) -> Col {
    match feed {
        FeedKind::Promotion => PromotionId,
        _ => Id,
    }
}

/// Columns whose absence from the header rejects the file: those docs/stripe.md §2 marks
/// required unconditionally. Conditionally required ones (brand, mpn, inventory_quantity
/// in the product feed, one of the two category columns...) stay row errors, because a
/// file can be valid without them.
///
/// A file with a `delete` column may be a deletions-only file, where Stripe reads just the
/// key and `delete`; then only the key column is structural and the other required values
/// become row errors on the rows that are not deletions.
pub(crate) fn required_columns(feed: FeedKind, has_delete: bool) -> &'static [Col] {
    match (feed, has_delete) {
        (FeedKind::Product, false) => {
            &[Id, Title, Description, Link, ImageLink, Availability, Price]
        }
        (FeedKind::Product, true) => &[Id],
        // The inventory feed exists to carry availability and quantity: a file without
        // either column cannot say anything.
        (FeedKind::Inventory, _) => &[Id, Availability, InventoryQuantity],
        (FeedKind::Pricing, _) => &[Id, Price],
        (FeedKind::Promotion, false) => &[
            PromotionId,
            Title,
            BenefitType,
            ActivePeriod,
            TargetSelection,
            ApplicationType,
        ],
        (FeedKind::Promotion, true) => &[PromotionId],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_variants_line_up() {
        for (i, col) in ALL.iter().enumerate() {
            assert_eq!(*col as usize, i);
            assert_eq!(Col::from_name(col.name()), Some(*col));
        }
        assert_eq!(Col::from_name("nope"), None);
    }
}

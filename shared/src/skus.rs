//! The per-SKU record the checkout hooks read: availability, quantity, price and
//! shipping, as of the latest accepted feed row.

use serde::{Deserialize, Serialize};

use crate::money::{Money, parse_price};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShippingOption {
    pub country: String,
    /// Region code, `ALL`, or a US postal code, range or wildcard.
    pub area: String,
    pub service: String,
    /// Delivery estimate in days, from `3-5` (or `2`).
    pub min_days: Option<u32>,
    pub max_days: Option<u32>,
    pub price: Money,
}

/// The feed's `availability`. Only `in_stock` with a quantity is counted against stock;
/// `preorder` and `backorder` sell without counting; `out_of_stock` never sells.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Availability {
    InStock,
    OutOfStock,
    Preorder,
    Backorder,
}

impl Availability {
    pub const ALL: [Availability; 4] = [
        Availability::InStock,
        Availability::OutOfStock,
        Availability::Preorder,
        Availability::Backorder,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Availability::InStock => "in_stock",
            Availability::OutOfStock => "out_of_stock",
            Availability::Preorder => "preorder",
            Availability::Backorder => "backorder",
        }
    }

    /// The feed's spelling; anything else is None (the spec spells them exactly).
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == text)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SkuRecord {
    pub account_id: String,
    pub sku: String,
    #[serde(default)]
    pub title: Option<String>,
    pub availability: Availability,
    /// None when inventory is not tracked.
    #[serde(default)]
    pub quantity: Option<i64>,
    /// What checkouts may still take: `quantity` less what open holds keep (`held`) and
    /// what has sold since the feed set it. A feed row sets it to `quantity - held`.
    #[serde(default)]
    pub available: Option<i64>,
    /// What open holds keep of it (see `crate::holds`); feeds never change it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub held: Option<i64>,
    #[serde(default)]
    pub price: Option<Money>,
    #[serde(default)]
    pub shipping: Vec<ShippingOption>,
    /// `per_order` (default) or `per_item`.
    #[serde(default)]
    pub shipping_cost_basis: Option<String>,
    /// The import that last set this record.
    pub source_import: String,
    pub updated_at: i64,
    /// The product-feed import whose row last wrote the whole record; inventory and pricing
    /// rows leave it. After a `replace` import, a record another import wrote is one the
    /// file left out (see `SkuRetirement`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product_import: Option<String>,
}

/// A change to one SKU from one accepted feed row. Inventory and pricing feeds carry part
/// of a record, so they update those fields and keep the rest.
// Most changes are whole records, and they live only in batches of a few hundred: boxing
// them would add an allocation per row to save nothing that matters.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum SkuChange {
    /// A product-feed row: the whole record.
    Replace(SkuRecord),
    /// An inventory-feed row.
    Stock {
        sku: String,
        availability: Availability,
        quantity: Option<i64>,
    },
    /// A pricing-feed row.
    Price { sku: String, price: Option<Money> },
    /// A `delete=true` row.
    Delete { sku: String },
}

/// Parses a feed's `shipping` list: `country:area:service:speed:price` entries separated by
/// commas (the price has a space; the speed may be empty). Invalid entries are skipped:
/// validation has already reported them.
pub fn parse_shipping(text: &str) -> Vec<ShippingOption> {
    text.split(',')
        .filter_map(|entry| {
            let parts: Vec<&str> = entry.trim().split(':').collect();
            let [country, area, service, speed, price] = parts.as_slice() else {
                return None;
            };
            let (min_days, max_days) = match speed.split_once('-') {
                Some((a, b)) => (a.trim().parse().ok(), b.trim().parse().ok()),
                None => {
                    let d = speed.trim().parse().ok();
                    (d, d)
                }
            };
            Some(ShippingOption {
                country: country.trim().to_ascii_uppercase(),
                area: area.trim().to_string(),
                service: service.trim().to_string(),
                min_days,
                max_days,
                price: parse_price(price)?,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn availability_is_one_of_four_exact_spellings() {
        for a in Availability::ALL {
            assert_eq!(Availability::parse(a.as_str()), Some(a));
            assert_eq!(serde_json::to_value(a).unwrap(), a.as_str());
        }
        for bad in ["In_Stock", "in stock", "", "discontinued"] {
            assert_eq!(Availability::parse(bad), None, "{bad}");
        }
        assert!(serde_json::from_value::<Availability>(serde_json::json!("sold")).is_err());
    }

    #[test]
    fn shipping_lists_parse() {
        let options =
            parse_shipping("US:CA:Express:1-2:16.00 USD, US:ALL:Standard::5.00 USD, bogus");
        assert_eq!(options.len(), 2);
        assert_eq!(
            (
                options[0].min_days,
                options[0].max_days,
                options[0].price.amount
            ),
            (Some(1), Some(2), 1600)
        );
        assert_eq!(
            (options[1].area.as_str(), options[1].min_days),
            ("ALL", None)
        );
    }
}

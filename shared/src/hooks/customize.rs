//! `customize_checkout`: shipping options and manual tax rates for the buyer's address.

use std::collections::HashMap;

use serde_json::{Map, Value, json};

use super::request::CustomizeData;
use crate::catalog::UsPostalArea;
use crate::merchants::{CheckoutSettings, CostBasis, ManualTaxRate, ShippingRule};
use crate::skus::{ShippingOption, SkuRecord};
use crate::stripe::objects::Address;

fn same(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

fn rule_matches(rule: &ShippingRule, country: &str, region: Option<&str>) -> (bool, u8) {
    let country_ok = rule.country == "*" || same(&rule.country, country);
    let region_ok =
        rule.regions.is_empty() || region.is_some_and(|r| rule.regions.iter().any(|x| same(x, r)));
    // Specificity: exact country beats `*`; a listed region beats none.
    let score = u8::from(rule.country != "*") * 2 + u8::from(!rule.regions.is_empty());
    (country_ok && region_ok, score)
}

fn estimate(min: Option<u32>, max: Option<u32>) -> Option<Value> {
    let bound = |days: u32| json!({"unit": "business_day", "value": days});
    match (min, max) {
        (None, None) => None,
        (min, max) => {
            let mut estimate = Map::new();
            if let Some(min) = min.or(max) {
                estimate.insert("minimum".into(), bound(min));
            }
            if let Some(max) = max.or(min) {
                estimate.insert("maximum".into(), bound(max));
            }
            Some(Value::Object(estimate))
        }
    }
}

fn shipping_option(
    name: &str,
    amount: i64,
    currency: &str,
    min: Option<u32>,
    max: Option<u32>,
) -> Value {
    let mut data = json!({
        "display_name": name,
        "fixed_amount": {"amount": amount, "currency": currency.to_ascii_lowercase()},
    });
    if let Some(estimate) = estimate(min, max) {
        data["delivery_estimate"] = estimate;
    }
    json!({"shipping_rate_data": data})
}

/// Options from the merchant's own rules, if one matches the address.
fn from_rules(
    settings: &CheckoutSettings,
    data: &CustomizeData,
    address: &Address,
) -> Option<Vec<Value>> {
    let country = address.country.as_deref()?;
    let rule = settings
        .shipping_rules
        .iter()
        .filter_map(|rule| {
            let (ok, score) = rule_matches(rule, country, address.state.as_deref());
            ok.then_some((score, rule))
        })
        // Highest specificity; the first listed among equals.
        .fold(
            None::<(u8, &ShippingRule)>,
            |best, (score, rule)| match best {
                Some((s, _)) if s >= score => best,
                _ => Some((score, rule)),
            },
        )?
        .1;
    let items: i64 = data.line_item_details.iter().map(|l| l.quantity()).sum();
    let subtotal = data.subtotal();
    let options: Vec<Value> = rule
        .services
        .iter()
        .filter(|s| same(&s.currency, &data.currency))
        .map(|service| {
            let mut amount = match rule.basis {
                CostBasis::PerOrder => service.amount,
                CostBasis::PerItem => service.amount.saturating_mul(items.max(1)),
            };
            if rule.free_shipping_threshold.is_some_and(|t| subtotal >= t) {
                amount = 0;
            }
            shipping_option(
                &service.name,
                amount,
                &data.currency,
                service.min_days,
                service.max_days,
            )
        })
        .collect();
    (!options.is_empty()).then_some(options)
}

/// A catalog shipping entry's area against the address: `ALL`, a region code, or a US
/// postal code, range (`73114-74547`), prefix wildcard (`94*`) or wildcard range (`94*-95*`,
/// the codes whose leading digits lie between the two prefixes), as the feed validator reads
/// them (docs/stripe.md §2.2). A postal area the validator would refuse matches nothing, and
/// so does a buyer's code that is not 5 digits (ZIP+4 is cut to its first 5): offering no
/// option is safer than offering one the merchant did not mean.
fn area_matches(area: &str, address: &Address) -> bool {
    if area.eq_ignore_ascii_case("ALL") {
        return true;
    }
    if address.state.as_deref().is_some_and(|s| same(s, area)) {
        return true;
    }
    let Some(zip) = address.postal_code.as_deref().map(|p| {
        let p = p.trim();
        match p.split_once('-') {
            Some((zip, _)) => zip.trim_end(),
            // `941051234`: ZIP+4 without the dash.
            None if p.len() == 9 => p.get(..5).unwrap_or(p),
            None => p,
        }
    }) else {
        return false;
    };
    UsPostalArea::parse(area).is_ok_and(|a| a.contains(zip))
}

/// One shipping service's price for the cart (or the lines seen so far).
#[derive(Debug, Clone)]
struct Quote {
    service: String,
    amount: i64,
    min_days: Option<u32>,
    max_days: Option<u32>,
}

/// Options from the catalog's own `shipping` data: a service is offered when every SKU in
/// the cart offers it for the address; per-order prices take the largest line, per-item
/// prices add up over quantities.
fn from_catalog(
    data: &CustomizeData,
    address: &Address,
    skus: &HashMap<String, SkuRecord>,
) -> Option<Vec<Value>> {
    let country = address.country.as_deref()?;
    let mut offered: Option<Vec<Quote>> = None;
    for line in &data.line_item_details {
        let sku = skus.get(line.sku_id.as_deref()?)?;
        let per_item = sku.shipping_cost_basis.as_deref() == Some("per_item");
        let mut by_service: HashMap<&str, &ShippingOption> = HashMap::new();
        for option in sku
            .shipping
            .iter()
            .filter(|o| same(&o.country, country) && area_matches(&o.area, address))
        {
            if !same(option.price.currency.as_str(), &data.currency) {
                continue;
            }
            // The most specific area wins: a postal or region entry before `ALL`.
            let entry = by_service.entry(option.service.as_str()).or_insert(option);
            if entry.area.eq_ignore_ascii_case("ALL") && !option.area.eq_ignore_ascii_case("ALL") {
                *entry = option;
            }
        }
        let line_quotes: Vec<Quote> = by_service
            .into_iter()
            .map(|(service, option)| Quote {
                service: service.to_string(),
                amount: if per_item {
                    option.price.amount.saturating_mul(line.quantity())
                } else {
                    option.price.amount
                },
                min_days: option.min_days,
                max_days: option.max_days,
            })
            .collect();
        offered = Some(match offered {
            None => line_quotes,
            Some(previous) => previous
                .into_iter()
                .filter_map(|quote| {
                    let other = line_quotes.iter().find(|q| q.service == quote.service)?;
                    Some(Quote {
                        amount: if per_item {
                            quote.amount.saturating_add(other.amount)
                        } else {
                            quote.amount.max(other.amount)
                        },
                        min_days: quote.min_days.max(other.min_days),
                        max_days: quote.max_days.max(other.max_days),
                        service: quote.service,
                    })
                })
                .collect(),
        });
    }
    let mut offered = offered?;
    offered.sort_by(|a, b| {
        a.amount
            .cmp(&b.amount)
            .then_with(|| a.service.cmp(&b.service))
    });
    let options: Vec<Value> = offered
        .iter()
        .map(|q| shipping_option(&q.service, q.amount, &data.currency, q.min_days, q.max_days))
        .collect();
    (!options.is_empty()).then_some(options)
}

fn tax_rate_for<'a>(rates: &'a [ManualTaxRate], address: &Address) -> Option<&'a ManualTaxRate> {
    let country = address.country.as_deref()?;
    let state = address.state.as_deref();
    rates
        .iter()
        .filter(|r| same(&r.country, country))
        .find(|r| {
            r.state
                .as_deref()
                .is_some_and(|s| state.is_some_and(|st| same(s, st)))
        })
        .or_else(|| {
            rates
                .iter()
                .find(|r| same(&r.country, country) && r.state.is_none())
        })
}

/// The whole answer. An empty object when no rule applies.
pub fn customize(
    settings: &CheckoutSettings,
    data: &CustomizeData,
    skus: &HashMap<String, SkuRecord>,
) -> Value {
    let mut answer = Map::new();
    let Some(address) = data.address() else {
        return Value::Object(answer);
    };
    if let Some(options) =
        from_rules(settings, data, address).or_else(|| from_catalog(data, address, skus))
    {
        answer.insert("shipping_options".into(), Value::Array(options));
    }
    if !data.automatic_tax.enabled {
        if let Some(rate) = tax_rate_for(&settings.tax_rates, address) {
            // A percentage stays the decimal text it was configured as.
            let percentage: Value = serde_json::from_str(&rate.percentage).unwrap_or(Value::Null);
            if percentage.is_number() {
                let lines: Vec<Value> = data
                    .line_item_details
                    .iter()
                    .map(|line| {
                        json!({"id": line.id, "tax_rates": [{"rate_data": {
                            "display_name": rate.display_name, "inclusive": rate.inclusive, "percentage": percentage
                        }}]})
                    })
                    .collect();
                if !lines.is_empty() {
                    answer.insert("line_items".into(), Value::Array(lines));
                }
            }
        }
    }
    Value::Object(answer)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::merchants::ShippingService;
    use crate::money::parse_price;
    use crate::skus::{Availability, parse_shipping};

    fn service(name: &str, amount: i64) -> ShippingService {
        ShippingService {
            name: name.into(),
            amount,
            currency: "usd".into(),
            min_days: Some(2),
            max_days: Some(4),
        }
    }

    fn rule(country: &str, regions: &[&str], services: Vec<ShippingService>) -> ShippingRule {
        ShippingRule {
            country: country.into(),
            regions: regions.iter().map(|r| r.to_string()).collect(),
            services,
            free_shipping_threshold: None,
            basis: CostBasis::PerOrder,
        }
    }

    fn request(lines: &[(&str, i64)], country: &str, state: &str, postal: &str) -> CustomizeData {
        let items: Vec<_> = lines
            .iter()
            .enumerate()
            .map(|(i, (sku, q))| json!({"id": format!("li_{i}"), "sku_id": sku, "quantity": q, "unit_amount": 1000, "amount_subtotal": q * 1000}))
            .collect();
        serde_json::from_value(json!({"currency": "usd", "line_item_details": items,
            "shipping_details": {"address": {"country": country, "state": state, "postal_code": postal}}}))
        .unwrap()
    }

    fn sku(id: &str, shipping: &str, basis: Option<&str>) -> (String, SkuRecord) {
        (
            id.to_string(),
            SkuRecord {
                account_id: "acct_1Unit".into(),
                sku: id.into(),
                title: None,
                availability: Availability::InStock,
                quantity: Some(10),
                available: Some(10),
                held: None,
                price: parse_price("10.00 USD"),
                shipping: parse_shipping(shipping),
                shipping_cost_basis: basis.map(str::to_string),
                source_import: "i".into(),
                updated_at: 0,
                product_import: None,
            },
        )
    }

    /// (display name, amount) of each offered option, in order.
    fn offered(answer: &Value) -> Vec<(String, i64)> {
        answer["shipping_options"]
            .as_array()
            .map(|options| {
                options
                    .iter()
                    .map(|o| {
                        let data = &o["shipping_rate_data"];
                        (
                            data["display_name"].as_str().unwrap().to_string(),
                            data["fixed_amount"]["amount"].as_i64().unwrap(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    #[test]
    fn the_most_specific_rule_wins() {
        let settings = CheckoutSettings {
            shipping_rules: vec![
                rule("*", &[], vec![service("World", 4000)]),
                rule("US", &[], vec![service("Ground", 700)]),
                rule("US", &["CA"], vec![service("Courier", 500)]),
            ],
            ..Default::default()
        };
        let none = HashMap::new();
        let ca = customize(&settings, &request(&[("A", 1)], "US", "CA", "94105"), &none);
        assert_eq!(offered(&ca), [("Courier".to_string(), 500)]);
        let ny = customize(&settings, &request(&[("A", 1)], "US", "NY", "10001"), &none);
        assert_eq!(offered(&ny), [("Ground".to_string(), 700)]);
        let fr = customize(&settings, &request(&[("A", 1)], "FR", "", "75001"), &none);
        assert_eq!(offered(&fr), [("World".to_string(), 4000)]);
        assert_eq!(
            ca["shipping_options"][0]["shipping_rate_data"]["delivery_estimate"]["maximum"],
            json!({"unit": "business_day", "value": 4})
        );
    }

    #[test]
    fn per_item_rules_multiply_and_thresholds_ship_free() {
        let mut per_item = rule("US", &[], vec![service("Ground", 300)]);
        per_item.basis = CostBasis::PerItem;
        let mut free_over = rule("US", &["CA"], vec![service("Ground", 700)]);
        free_over.free_shipping_threshold = Some(5_000);
        let settings = CheckoutSettings {
            shipping_rules: vec![per_item, free_over],
            ..Default::default()
        };
        let none = HashMap::new();
        let three = customize(
            &settings,
            &request(&[("A", 2), ("B", 1)], "US", "NY", "1"),
            &none,
        );
        assert_eq!(offered(&three), [("Ground".to_string(), 900)]);
        let small = customize(&settings, &request(&[("A", 4)], "US", "CA", "1"), &none);
        assert_eq!(offered(&small), [("Ground".to_string(), 700)]);
        let large = customize(&settings, &request(&[("A", 5)], "US", "CA", "1"), &none);
        assert_eq!(offered(&large), [("Ground".to_string(), 0)]);
    }

    #[test]
    fn without_a_rule_the_catalogs_shipping_offers_what_every_item_ships_by() {
        let skus: HashMap<_, _> = [
            sku("A", "US:ALL:Standard:3-5:5.00 USD,US:94*:Standard:1-2:4.00 USD,US:ALL:Express::15.00 USD", None),
            sku("B", "US:ALL:Standard:2-6:6.00 USD", None),
            sku("C", "US:73114-74547:Standard::2.00 USD", Some("per_item")),
        ]
        .into_iter()
        .collect();
        let settings = CheckoutSettings::default();
        // Express is offered by A only; Standard by both, at the larger per-order price,
        // and the postal wildcard beats ALL for A.
        let sf = customize(
            &settings,
            &request(&[("A", 1), ("B", 1)], "US", "CA", "94105"),
            &skus,
        );
        assert_eq!(offered(&sf), [("Standard".to_string(), 600)]);
        let just_a = customize(&settings, &request(&[("A", 1)], "US", "NY", "10001"), &skus);
        assert_eq!(
            offered(&just_a),
            [("Standard".to_string(), 500), ("Express".to_string(), 1500)]
        );
        // Per-item prices add up over quantities; outside the range there is no option.
        let tulsa = customize(&settings, &request(&[("C", 3)], "US", "OK", "74103"), &skus);
        assert_eq!(offered(&tulsa), [("Standard".to_string(), 600)]);
        let elsewhere = customize(&settings, &request(&[("C", 1)], "US", "OK", "73000"), &skus);
        assert!(elsewhere.get("shipping_options").is_none(), "{elsewhere}");
    }

    #[test]
    fn a_wildcard_range_covers_every_code_whose_prefix_lies_between_its_ends() {
        let skus: HashMap<_, _> = [sku("W", "US:94*-95*:Standard:2-5:3.00 USD", None)]
            .into_iter()
            .collect();
        let settings = CheckoutSettings::default();
        let at = |postal: &str| {
            offered(&customize(
                &settings,
                &request(&[("W", 1)], "US", "CA", postal),
                &skus,
            ))
        };
        for inside in ["94105", "95014", "94000", "95999", "95014-1234"] {
            assert_eq!(at(inside), [("Standard".to_string(), 300)], "{inside}");
        }
        for outside in ["93999", "96001", "9", "9410", "ABCDE", ""] {
            assert!(at(outside).is_empty(), "{outside}");
        }
    }

    #[test]
    fn postal_areas_match_only_the_forms_the_feed_allows() {
        let address = |postal: &str| Address {
            country: Some("US".into()),
            state: Some("CA".into()),
            postal_code: Some(postal.into()),
            ..Default::default()
        };
        for (area, postal, expected) in [
            ("ALL", "10001", true),
            ("CA", "10001", true),
            ("94105", "94105-0001", true),
            ("94105", "94106", false),
            ("73114-74547", "74103", true),
            ("73114-74547", "73000", false),
            ("94*", "94105", true),
            ("94*", "95105", false),
            ("940*-941*", "94199", true),
            ("940*-941*", "94200", false),
            // Malformed areas (the validator refuses them) match nothing.
            ("95*-94*", "94500", false),
            ("94*-955*", "95000", false),
            ("94*-9x*", "94105", false),
            ("100-200", "00150", false),
        ] {
            assert_eq!(
                area_matches(area, &address(postal)),
                expected,
                "{area} vs {postal}"
            );
        }
    }

    #[test]
    fn the_state_rate_beats_the_country_rate_and_automatic_tax_adds_none() {
        let rate = |state: Option<&str>, percentage: &str, name: &str| ManualTaxRate {
            country: "US".into(),
            state: state.map(str::to_string),
            percentage: percentage.into(),
            inclusive: false,
            display_name: name.into(),
        };
        let settings = CheckoutSettings {
            tax_rates: vec![
                rate(None, "5", "US tax"),
                rate(Some("CA"), "8.25", "CA sales tax"),
            ],
            ..Default::default()
        };
        let none = HashMap::new();
        let ca = customize(
            &settings,
            &request(&[("A", 1), ("B", 1)], "US", "CA", "1"),
            &none,
        );
        let lines = ca["line_items"].as_array().unwrap();
        assert_eq!(lines.len(), 2);
        assert_eq!(
            lines[1]["tax_rates"][0]["rate_data"],
            json!({"display_name": "CA sales tax", "inclusive": false, "percentage": 8.25})
        );
        let ny = customize(&settings, &request(&[("A", 1)], "US", "NY", "1"), &none);
        assert_eq!(
            ny["line_items"][0]["tax_rates"][0]["rate_data"]["display_name"],
            "US tax"
        );
        let mut automatic = request(&[("A", 1)], "US", "CA", "1");
        automatic.automatic_tax.enabled = true;
        assert!(
            customize(&settings, &automatic, &none)
                .get("line_items")
                .is_none()
        );
        let elsewhere = customize(&settings, &request(&[("A", 1)], "DE", "", "1"), &none);
        assert_eq!(elsewhere, json!({}));
    }
}

//! The documented feed rules stripe-sim checks beyond the basic ones in `feed_rows`: the
//! delivery areas of a product's `shipping` entries, and a promotion's `percent_off` and
//! product targeting. Each is stated on Stripe's product feed page,
//! https://docs.stripe.com/agentic-commerce/product-feed (docs/stripe.md §2.2, §2.3.3).
//! Nothing here allocates unless a row fails.

/// One problem of a row: the field and Stripe-style message.
pub(super) type Problem = (String, String);

/// `shipping`: comma-separated `country:delivery_area:service:speed_range:price` entries
/// (`speed_range` optional: empty or left out). The delivery area is `ALL`, a region code
/// (ISO 3166-2 without the country prefix), or, for `US` only, a postal code `94012`, a
/// range `73114-74547`, a wildcard `94*` or a wildcard range `94*-95*`.
pub(super) fn shipping(value: &str) -> Option<Problem> {
    for entry in value.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        let mut parts = entry.split(':');
        let (Some(country), Some(area)) = (parts.next(), parts.next()) else {
            return Some(problem_in_entry(entry));
        };
        // Service, optional speed range, price: three or two more parts.
        if !(2..=3).contains(&parts.count()) {
            return Some(problem_in_entry(entry));
        }
        let area_ok =
            area == "ALL" || is_region(area) || (country.trim() == "US" && is_us_postal_area(area));
        if !area_ok {
            return Some((
                "shipping".into(),
                format!(
                    "Invalid shipping '{entry}': delivery_area '{area}' must be ALL, a region code such as CA, or (US only) a postal code such as 94012, a range such as 73114-74547, a wildcard such as 94* or a wildcard range such as 94*-95*."
                ),
            ));
        }
    }
    None
}

fn problem_in_entry(entry: &str) -> Problem {
    (
        "shipping".into(),
        format!(
            "Invalid shipping '{entry}': expected country:delivery_area:service:speed_range:price (speed_range may be empty)."
        ),
    )
}

/// An ISO 3166-2 subdivision code without its country prefix: 1 to 3 capitals or digits.
fn is_region(s: &str) -> bool {
    (1..=3).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

fn digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

fn zip(s: &str) -> bool {
    s.len() == 5 && digits(s)
}

/// `94*`: 1 to 4 digits, then `*`.
fn prefix(s: &str) -> Option<&str> {
    s.strip_suffix('*')
        .filter(|p| (1..=4).contains(&p.len()) && digits(p))
}

/// `94012`, `73114-74547`, `94*` or `94*-95*`. A range's ends are in order; a wildcard
/// range's two prefixes have the same length and are in order (the form is read as in
/// Google's feed spec, which FEED's shipping format follows: docs/stripe.md §2.2).
pub(super) fn is_us_postal_area(s: &str) -> bool {
    match s.split_once('-') {
        None => zip(s) || prefix(s).is_some(),
        Some((lo, hi)) if zip(lo) && zip(hi) => lo <= hi,
        Some((lo, hi)) => match (prefix(lo), prefix(hi)) {
            (Some(lo), Some(hi)) => lo.len() == hi.len() && lo <= hi,
            _ => false,
        },
    }
}

/// Promotion rows: `percent_off` is an integer from 0 to 100 and required when
/// `benefit_type` is `percent_off`; `specific_products` needs at least one of
/// `target_ids`, `target_item_group_ids`, `excluded_ids`, `excluded_item_group_ids`.
pub(super) fn promotion<'a>(get: impl Fn(&str) -> &'a str, problems: &mut Vec<Problem>) {
    let percent = get("percent_off");
    if percent.is_empty() {
        if get("benefit_type") == "percent_off" {
            problems.push((
                "percent_off".into(),
                "Missing required field `percent_off`: required when benefit_type is percent_off."
                    .into(),
            ));
        }
    } else if !(digits(percent) && percent.parse::<u8>().is_ok_and(|n| n <= 100)) {
        problems.push((
            "percent_off".into(),
            format!("Invalid percent_off '{percent}': must be an integer from 0 to 100."),
        ));
    }
    const LISTS: [&str; 4] = [
        "target_ids",
        "target_item_group_ids",
        "excluded_ids",
        "excluded_item_group_ids",
    ];
    if get("target_selection") == "specific_products" && LISTS.iter().all(|c| get(c).is_empty()) {
        problems.push((
            "target_selection".into(),
            format!(
                "target_selection is specific_products: specify at least one of {}.",
                LISTS.join(", ")
            ),
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn us_postal_areas() {
        for good in [
            "94012",
            "73114-74547",
            "94*",
            "94*-95*",
            "9*-9*",
            "0940*-0941*",
        ] {
            assert!(is_us_postal_area(good), "{good}");
        }
        for bad in [
            "9401",
            "74547-73114",
            "94012*",
            "*",
            "94*-9x*",
            "94*-95123",
            "94123-95*",
            "95*-94*",
            "94*-955*",
            "94*-95*-96*",
            "",
        ] {
            assert!(!is_us_postal_area(bad), "{bad}");
        }
    }

    #[test]
    fn shipping_entries() {
        assert_eq!(shipping(""), None);
        assert_eq!(shipping("US:94*-95*:Standard:2-5:0.00 USD"), None);
        assert_eq!(
            shipping("US:CA:Standard:5.00 USD, DE:ALL:Std::4.90 EUR"),
            None
        );
        for bad in [
            "US:94*-9x*:Ground::1.00 USD",
            "DE:94012:Std::4.90 EUR",
            "US:CA:Standard",
            "US:CA:a:b:c:d",
            "US",
        ] {
            assert_eq!(
                shipping(bad).map(|p| p.0).as_deref(),
                Some("shipping"),
                "{bad}"
            );
        }
    }
}

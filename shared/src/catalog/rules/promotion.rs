//! Row rules of the promotion feed: the key, the active period, the benefit and what it
//! applies to, and how a shopper gets it (automatically or with a code).

use super::ids::SeenIds;
use super::row::{Row, entries};
use crate::catalog::columns::Col::*;
use crate::catalog::formats::{self, show};

/// Checks one promotion row; a deletion is checked for its key only.
#[inline]
pub(super) fn check(row: &mut Row<'_, '_>, ids: &mut SeenIds) {
    let deleting = row.bool_col(Delete) == Some(true);
    ids.check_key(row, PromotionId, false);
    if deleting {
        return;
    }
    let title = row.required(Title);
    row.check_len(Title, title, 150);
    row.url_col(Link);
    let period = row.required(ActivePeriod);
    if !period.is_empty() {
        row.period(
            ActivePeriod,
            period,
            false,
            "start/end` with ISO 8601 timestamps, e.g. `2025-11-28T00:00:00Z/2025-12-01T23:59:59Z",
        );
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
            // FEED: an integer from 0 to 100 (docs/stripe.md §2.3.3).
            if !v.is_empty() && formats::uint(v).is_none_or(|n| n > 100) {
                row.err(
                    PercentOff,
                    format!("{} is not a whole number from 0 to 100", show(v)),
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
    let lists = [
        TargetIds,
        TargetItemGroupIds,
        ExcludedIds,
        ExcludedItemGroupIds,
    ];
    // FEED: `specific_products` takes at least one of the four lists; exclusions alone
    // are enough (docs/stripe.md §2.3.3).
    if target == "specific_products" && lists.iter().all(|&col| row.v(col).is_empty()) {
        row.missing(
            TargetIds,
            " (or target_item_group_ids, excluded_ids or excluded_item_group_ids: at least one) when target_selection is specific_products",
        );
    }
    for col in lists {
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

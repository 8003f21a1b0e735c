//! The product feed's lists of `type:value` entries: `related_products` and
//! `product_warning`.

use super::row::{Row, entries};
use crate::catalog::columns::Col::*;
use crate::catalog::formats::{chars_over, show, split_once_byte};

/// `type:target_id, …`: at most 10, none pointing at the row itself or repeated.
#[inline]
pub(super) fn related_products(row: &mut Row<'_, '_>) {
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
#[inline]
pub(super) fn product_warning(row: &mut Row<'_, '_>) {
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

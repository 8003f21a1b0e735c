//! Applying an import's accepted rows to the account's catalog.

use super::feed_rows::{Op, Processed};
use crate::state::catalog::Catalog;
use crate::state::imports::{Feed, Mode, Stats};

/// Applies the accepted rows; returns counts of successes and objects created.
pub(super) fn apply(catalog: &mut Catalog, feed: Feed, mode: Mode, processed: &Processed) -> Stats {
    let mut stats = Stats::default();
    let target = match feed {
        Feed::Promotion => &mut catalog.promotions,
        _ => &mut catalog.products,
    };
    for op in &processed.ops {
        stats.successes += 1;
        match op {
            Op::Delete(id) => {
                target.remove(id);
            }
            Op::Upsert(id, row) => match (feed, target.get_mut(id)) {
                // Inventory and pricing feeds update some columns of an existing product.
                (Feed::Inventory | Feed::Pricing, Some(existing)) => {
                    existing.extend(row.clone());
                }
                (_, existing) => {
                    if existing.is_none() {
                        stats.objects_created += 1;
                    }
                    target.insert(id.clone(), row.clone());
                }
            },
        }
    }
    if mode == Mode::Replace {
        target.retain(|id, _| processed.present.contains(id));
    }
    stats
}

//! Variant consistency, state across rows: every variant of an item group must fill the
//! same variant attributes. For each group the first row's line and attribute set are
//! kept, keyed by the group id's [`id_hash`].

use std::collections::HashMap;

use super::row::Row;
use crate::catalog::columns::Col::{self, *};
use crate::catalog::formats::show;
use crate::catalog::id_hash::{IdHashBuild, id_hash};

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

/// What the first row of a group said: where it was and which attributes it filled (bit
/// `i` for `VARIANT_ATTRIBUTES[i]`).
struct Group {
    line: u64,
    mask: u16,
}

/// The item groups seen so far.
#[derive(Default)]
pub(super) struct VariantGroups(HashMap<u128, Group, IdHashBuild>);

impl VariantGroups {
    /// Every variant of a group must carry the same set of variant attributes (not the
    /// same values): the first row seen defines the set, later rows are checked against it.
    #[inline]
    pub(super) fn check(&mut self, row: &mut Row<'_, '_>, group: &str) {
        let mut mask = 0u16;
        for (bit, col) in VARIANT_ATTRIBUTES.iter().enumerate() {
            // Custom option values pair with their names (checked above), so the names
            // speak for them.
            if !row.v(*col).is_empty() {
                mask |= 1 << bit;
            }
        }
        let line = row.line();
        let first = self.0.entry(id_hash(group)).or_insert(Group { line, mask });
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
}

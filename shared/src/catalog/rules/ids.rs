//! Row keys (`id`, or `promotion_id` in a promotion feed): required, bounded, SKU-shaped
//! where they are SKUs, and unique in the file. Uniqueness is state across rows: every key
//! seen so far is kept as its [`id_hash`], 16 bytes whatever its length.

use std::collections::HashSet;

use super::row::Row;
use crate::catalog::columns::Col;
use crate::catalog::formats::show;
use crate::catalog::id_hash::{IdHashBuild, id_hash};

/// The keys of the rows checked so far.
#[derive(Default)]
pub(super) struct SeenIds(HashSet<u128, IdHashBuild>);

impl SeenIds {
    /// Required, bounded, and unique in the file. Product-like ids are SKUs: ASCII letters
    /// and digits plus the separators SKUs commonly use; commas, colons and spaces would
    /// break the lists (`related_products`, `target_ids`) that refer to them.
    #[inline]
    pub(super) fn check_key(&mut self, row: &mut Row<'_, '_>, col: Col, sku: bool) {
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
        if !self.0.insert(id_hash(id)) {
            row.err(
                col,
                format!("{} appears on an earlier row of this file", show(id)),
            );
        }
    }
}

//! Catalog feeds: v1 import sets and v2 product catalog imports, their processing, and
//! the per-account catalog of what Stripe accepted.
//!
//! An import moves `awaiting_upload` (v2 only) → processing (`pending` in v1) → a final
//! status. Processing finishes `processing_delay_ms` after the upload, either from a timer
//! or lazily when the import (or the catalog) is next read, whichever comes first, so tests
//! never need to sleep; `/_sim/imports/{id}/complete|fail` finish one early, in any order.
//!
//! The stored data (files, imports, each account's catalog) is in [`crate::state`]; this
//! module reads feeds, applies them and renders the imports.

mod apply;
mod delimited;
mod error_csv;
mod feed_rows;
mod feed_rules;
mod import_sets;
mod processing;
mod product_catalog_imports;

pub use import_sets::v1_json;
pub use processing::{emit_import_event, finish, schedule, settle, settle_scope, start_processing};
pub use product_catalog_imports::{V2_OBJECT, v2_json};

use crate::state::Scope;
use crate::state::catalog::CatalogStore;
use crate::state::imports::Generation;
use serde_json::{Value, json};

/// The import in its generation's shape.
pub fn import_json(store: &mut CatalogStore, id: &str, base_url: &str) -> Option<Value> {
    match store.imports.get(id)?.generation {
        Generation::V1 => store.imports.get(id).map(v1_json),
        Generation::V2 => v2_json(store, id, base_url),
    }
}

/// `GET /_sim/catalog/{account}`.
pub fn catalog_json(store: &CatalogStore, scope: &Scope) -> Value {
    match store.catalogs.get(scope) {
        None => json!({ "products": {}, "promotions": {}, "imports": [] }),
        Some(catalog) => json!({
            "products": catalog.products,
            "promotions": catalog.promotions,
            "imports": catalog.imports,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::apply::apply;
    use super::error_csv::error_report;
    use super::feed_rows::{Processed, process};
    use crate::SimConfig;
    use crate::state::catalog::Catalog;
    use crate::state::imports::{Content, Feed, Mode, Stats};
    use axum::body::Bytes;

    fn run(text: &str, feed: Feed, catalog: &mut Catalog, mode: Mode) -> (Stats, Processed) {
        let content = Content::new(Bytes::from(text.to_string()), None);
        let processed = match process(&content, feed, catalog, &SimConfig::default()) {
            Ok(p) => p,
            Err(f) => panic!("{f:?}"),
        };
        let stats = apply(catalog, feed, mode, &processed);
        (stats, processed)
    }

    #[test]
    fn rows_are_validated_and_applied() {
        let mut catalog = Catalog::default();
        let text = "id,title,price,availability,inventory_quantity\n\
                    A,Shoe,15.00 USD,in_stock,3\n\
                    B,Hat,15 dollars,maybe,-1\n\
                    ,Nameless,1.00 USD,,\n\
                    A,Again,2.00 USD,,\n\
                    C,\"Cap, red\",,,\n";
        let (stats, processed) = run(text, Feed::Product, &mut catalog, Mode::Upsert);
        assert_eq!(processed.rows_processed, 5);
        assert_eq!(processed.skipped_duplicates, 1);
        assert_eq!(stats.successes, 2);
        assert_eq!(stats.objects_created, 2);
        assert_eq!(processed.errors.len(), 2);
        assert_eq!(processed.errors[0].problems.len(), 3);
        assert_eq!(processed.errors[0].row, 3);
        assert_eq!(catalog.products["C"]["title"], "Cap, red");
        let report = error_report(&processed);
        let text = String::from_utf8(report.bytes.to_vec()).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            "stripe_error_message,id,title,price,availability,inventory_quantity"
        );
        assert_eq!(lines.len(), 3);
        assert!(lines[1].ends_with(",B,Hat,15 dollars,maybe,-1"));
        assert_eq!(report.samples.len(), 4);

        // Inventory updates existing products only; replace drops the absent ones.
        let (stats, processed) = run(
            "id,availability,inventory_quantity\nA,out_of_stock,0\nZ,in_stock,1\n",
            Feed::Inventory,
            &mut catalog,
            Mode::Upsert,
        );
        assert_eq!((stats.successes, processed.errors.len()), (1, 1));
        assert_eq!(catalog.products["A"]["title"], "Shoe");
        assert_eq!(catalog.products["A"]["availability"], "out_of_stock");
        let (stats, _) = run(
            "id,title,delete\nC,,true\nD,New,\n",
            Feed::Product,
            &mut catalog,
            Mode::Replace,
        );
        assert_eq!(stats.successes, 2);
        assert_eq!(catalog.products.keys().collect::<Vec<_>>(), ["D"]);
    }
}

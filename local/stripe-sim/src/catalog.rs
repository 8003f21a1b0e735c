//! Catalog feeds: stored files, v1 import sets and v2 product catalog imports, their
//! processing, and the per-account catalog of what Stripe accepted.
//!
//! An import moves `awaiting_upload` (v2 only) → processing (`pending` in v1) → a final
//! status. Processing finishes `processing_delay_ms` after the upload, either from a timer
//! or lazily when the import (or the catalog) is next read, whichever comes first, so tests
//! never need to sleep; `/_sim/imports/{id}/complete|fail` finish one early, in any order.

use crate::SimConfig;
use crate::csvfile;
use crate::ids;
use crate::state::catalog::{Catalog, CatalogStore};
use crate::state::files::{CSV, StoredFile, TSV};
use crate::state::imports::{
    Content, ErrorReport, Failure, Feed, Generation, Import, ImportState, Mode, Outcome, Sample,
    Stats,
};
use crate::state::{Scope, Sim, Store};
use crate::timestamps::{now, rfc3339, unix};
use crate::webhooks;
use axum::body::Bytes;
use serde_json::{Map, Value, json};
use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant, UNIX_EPOCH};

pub const V2_OBJECT: &str = "v2.commerce.product_catalog_import";
pub const V2_EVENT_PREFIX: &str = "v2.commerce.product_catalog.imports";
/// Samples of row errors in a v2 import.
const MAX_SAMPLES: usize = 10;
const AVAILABILITY: &[&str] = &["in_stock", "out_of_stock", "preorder", "backorder"];

/// Puts an uploaded import into processing, due `delay` from now (see [`schedule`]).
pub fn start_processing(import: &mut Import, content: Content, delay: Duration) {
    import.content = Some(content);
    import.state = ImportState::Processing {
        ready_at: Instant::now().checked_add(delay),
    };
}

/// Finishes the import when its delay has passed; returns thin events to deliver.
pub fn settle(store: &mut Store, config: &SimConfig, id: &str) -> Vec<String> {
    let due = store
        .catalog
        .imports
        .get(id)
        .is_some_and(|i| i.due(Instant::now()));
    if due {
        finish(store, config, id, None)
    } else {
        Vec::new()
    }
}

/// Finishes every due import of one account, oldest deadline first.
pub fn settle_scope(store: &mut Store, config: &SimConfig, scope: &Scope) -> Vec<String> {
    let now = Instant::now();
    let mut due: Vec<(Instant, String)> = store
        .catalog
        .imports
        .values()
        .filter(|i| &i.scope == scope && i.due(now))
        .filter_map(|i| match i.state {
            ImportState::Processing { ready_at: Some(at) } => Some((at, i.id.clone())),
            _ => None,
        })
        .collect();
    due.sort();
    due.into_iter()
        .flat_map(|(_, id)| finish(store, config, &id, None))
        .collect()
}

/// Runs a processing import to its end now (or fails it with `failure`); returns the ids
/// of thin events emitted. The caller checks the state first.
pub fn finish(
    store: &mut Store,
    config: &SimConfig,
    id: &str,
    failure: Option<Failure>,
) -> Vec<String> {
    let catalog_store = &mut store.catalog;
    let Some(import) = catalog_store.imports.get_mut(id) else {
        return Vec::new();
    };
    let outcome = match (failure, &import.content) {
        (Some(failure), _) => Outcome::Failed(failure),
        (None, None) => Outcome::Failed(Failure {
            code: "file_not_found".into(),
            kind: "cannot_proceed".into(),
            message: "No file was uploaded for this import.".into(),
        }),
        (None, Some(content)) => {
            let catalog = catalog_store
                .catalogs
                .entry(import.scope.clone())
                .or_default();
            match process(content, import.feed, catalog, config) {
                Err(failure) => Outcome::Failed(failure),
                Ok(processed) => {
                    let mut stats = apply(catalog, import.feed, import.mode, &processed);
                    stats.rows_processed = processed.rows_processed;
                    stats.errors = processed.errors.len() as u64;
                    stats.skipped_duplicates = processed.skipped_duplicates;
                    if processed.errors.is_empty() {
                        Outcome::Succeeded(stats)
                    } else {
                        Outcome::SucceededWithErrors(stats, error_report(&processed))
                    }
                }
            }
        }
    };
    let (scope, generation) = (import.scope.clone(), import.generation);
    let outcome = match outcome {
        // v1 reports the error file as a File of the account.
        Outcome::SucceededWithErrors(stats, mut report) if generation == Generation::V1 => {
            let extension = if report.content_type == TSV {
                "tsv"
            } else {
                "csv"
            };
            let file = StoredFile {
                id: ids::file(),
                scope: scope.clone(),
                created: now(),
                filename: format!("{id}_errors.{extension}"),
                purpose: "data_management_import_set_errors".into(),
                content_type: report.content_type.to_string(),
                bytes: report.bytes.clone(),
            };
            report.file_id = Some(file.id.clone());
            catalog_store.files.insert(file.id.clone(), file);
            Outcome::SucceededWithErrors(stats, report)
        }
        other => other,
    };
    let status = match &outcome {
        Outcome::Succeeded(_) => "succeeded",
        Outcome::SucceededWithErrors(..) => "succeeded_with_errors",
        Outcome::Failed(_) => "failed",
    };
    if let Some(import) = catalog_store.imports.get_mut(id) {
        import.state = ImportState::Done(outcome);
        // The uploaded bytes are no longer needed.
        import.content = None;
    }
    tracing::info!(import = id, status, "catalog import finished");
    match generation {
        Generation::V2 => vec![emit_import_event(store, &scope, id, status)],
        Generation::V1 => Vec::new(),
    }
}

pub fn emit_import_event(store: &mut Store, scope: &Scope, id: &str, status: &str) -> String {
    store.emit_thin(
        scope,
        &format!("{V2_EVENT_PREFIX}.{status}"),
        json!({
            "id": id,
            "type": V2_OBJECT,
            "url": format!("/v2/commerce/product_catalog/imports/{id}"),
        }),
    )
}

/// Finishes the import after the configured delay even if nobody reads it.
pub fn schedule(sim: &Arc<Sim>, id: String) {
    let delay = Duration::from_millis(sim.config.processing_delay_ms);
    // A day is "never" for a test; such imports finish when read after the delay or forced.
    if delay > Duration::from_secs(86_400) {
        return;
    }
    let weak = Arc::downgrade(sim);
    tokio::spawn(async move {
        tokio::time::sleep(delay).await;
        let Some(sim) = weak.upgrade() else {
            return;
        };
        let events = settle(&mut sim.lock(), &sim.config, &id);
        webhooks::spawn(&sim, events, sim.config.delivery.clone());
    });
}

struct RowError {
    row: u64,
    id: String,
    problems: Vec<(String, String)>,
    fields: Vec<String>,
}

enum Op {
    Upsert(String, Map<String, Value>),
    Delete(String),
}

struct Processed {
    header: Vec<String>,
    delimiter: u8,
    rows_processed: u64,
    ops: Vec<Op>,
    /// Every id named by a row of the file, accepted or not (`replace` keeps them).
    present: HashSet<String>,
    errors: Vec<RowError>,
    skipped_duplicates: u64,
}

fn valid_price(value: &str) -> bool {
    let Some((amount, currency)) = value.split_once(' ') else {
        return false;
    };
    let (whole, fraction) = match amount.split_once('.') {
        Some((w, f)) => (w, Some(f)),
        None => (amount, None),
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    digits(whole)
        && fraction.is_none_or(digits)
        && currency.len() == 3
        && currency.bytes().all(|b| b.is_ascii_alphabetic())
}

fn validate_row(
    feed: Feed,
    row: &Map<String, Value>,
    catalog: &Catalog,
    config: &SimConfig,
) -> Vec<(String, String)> {
    let get = |column: &str| row.get(column).and_then(Value::as_str).unwrap_or("");
    let mut problems = Vec::new();
    for column in ["price", "sale_price"] {
        let value = get(column);
        if !value.is_empty() && !valid_price(value) {
            problems.push((
                column.to_string(),
                format!(
                    "Invalid {column} '{value}': expected an amount and an ISO 4217 currency code, e.g. `15.00 USD`."
                ),
            ));
        }
    }
    let availability = get("availability");
    if !availability.is_empty() && !AVAILABILITY.contains(&availability) {
        problems.push((
            "availability".into(),
            format!(
                "Invalid availability '{availability}': must be one of {}.",
                AVAILABILITY.join(", ")
            ),
        ));
    }
    let quantity = get("inventory_quantity");
    if !quantity.is_empty() && quantity.parse::<u64>().is_err() {
        problems.push((
            "inventory_quantity".into(),
            format!(
                "Invalid inventory_quantity '{quantity}': must be an integer greater than or equal to 0."
            ),
        ));
    }
    let id = get("id");
    if matches!(feed, Feed::Inventory | Feed::Pricing)
        && config.inventory_requires_product
        && !catalog.products.contains_key(id)
    {
        problems.push((
            "id".into(),
            format!(
                "No product with id '{id}' exists in the catalog: send it in a product feed first."
            ),
        ));
    }
    problems
}

fn process(
    content: &Content,
    feed: Feed,
    catalog: &Catalog,
    config: &SimConfig,
) -> Result<Processed, Failure> {
    let text = std::str::from_utf8(&content.bytes).map_err(|e| {
        Failure::invalid_file(format!(
            "The file is not valid UTF-8 (invalid byte at offset {}).",
            e.valid_up_to()
        ))
    })?;
    let text = csvfile::strip_bom(text);
    if text.trim().is_empty() {
        return Err(Failure::invalid_file("The file is empty."));
    }
    let delimiter = content.delimiter.unwrap_or_else(|| csvfile::sniff(text));
    let records = csvfile::parse(text, delimiter).map_err(Failure::invalid_file)?;
    let mut records = records.into_iter();
    let header: Vec<String> = records
        .next()
        .map(|r| r.fields.into_iter().map(|f| f.trim().to_string()).collect())
        .unwrap_or_default();
    let key = feed.key_column();
    let Some(key_index) = header.iter().position(|h| h == key) else {
        return Err(Failure::invalid_file(format!(
            "The file has no `{key}` column (header: {}).",
            header.join(if delimiter == b'\t' { "\\t" } else { "," })
        )));
    };
    let mut processed = Processed {
        header: header.clone(),
        delimiter,
        rows_processed: 0,
        ops: Vec::new(),
        present: HashSet::new(),
        errors: Vec::new(),
        skipped_duplicates: 0,
    };
    let mut seen = HashSet::new();
    for record in records {
        processed.rows_processed += 1;
        let id = record
            .fields
            .get(key_index)
            .map(|s| s.trim().to_string())
            .unwrap_or_default();
        let fail = |problems: Vec<(String, String)>| RowError {
            row: record.row,
            id: id.clone(),
            problems,
            fields: record.fields.clone(),
        };
        if record.fields.len() != header.len() {
            processed.errors.push(fail(vec![(
                String::new(),
                format!(
                    "The row has {} fields but the header has {}.",
                    record.fields.len(),
                    header.len()
                ),
            )]));
            if !id.is_empty() {
                processed.present.insert(id);
            }
            continue;
        }
        if id.is_empty() {
            processed.errors.push(fail(vec![(
                key.to_string(),
                format!("Missing required field `{key}`."),
            )]));
            continue;
        }
        processed.present.insert(id.clone());
        if !seen.insert(id.clone()) {
            processed.skipped_duplicates += 1;
            continue;
        }
        let mut row = Map::new();
        for (column, value) in header.iter().zip(&record.fields) {
            if column != "delete" {
                row.insert(column.clone(), Value::String(value.clone()));
            }
        }
        let delete = header
            .iter()
            .position(|h| h == "delete")
            .and_then(|i| record.fields.get(i))
            .map(|v| v.trim().to_ascii_lowercase())
            .unwrap_or_default();
        match delete.as_str() {
            "true" => {
                processed.ops.push(Op::Delete(id));
                continue;
            }
            "" | "false" => {}
            other => {
                processed.errors.push(fail(vec![(
                    "delete".into(),
                    format!("Invalid delete '{other}': must be true or false."),
                )]));
                continue;
            }
        }
        let problems = validate_row(feed, &row, catalog, config);
        if problems.is_empty() {
            processed.ops.push(Op::Upsert(id, row));
        } else {
            processed.errors.push(fail(problems));
        }
    }
    Ok(processed)
}

/// Applies the accepted rows; returns counts of successes and objects created.
fn apply(catalog: &mut Catalog, feed: Feed, mode: Mode, processed: &Processed) -> Stats {
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

fn error_report(processed: &Processed) -> ErrorReport {
    let mut out = String::new();
    let header =
        std::iter::once("stripe_error_message").chain(processed.header.iter().map(String::as_str));
    csvfile::write_record(&mut out, header, processed.delimiter);
    let mut samples = Vec::new();
    for error in &processed.errors {
        let message = error
            .problems
            .iter()
            .map(|(_, m)| m.as_str())
            .collect::<Vec<_>>()
            .join("; ");
        let fields =
            std::iter::once(message.as_str()).chain(error.fields.iter().map(String::as_str));
        csvfile::write_record(&mut out, fields, processed.delimiter);
        for (field, message) in &error.problems {
            if samples.len() < MAX_SAMPLES {
                samples.push(Sample {
                    row: error.row,
                    id: error.id.clone(),
                    field: field.clone(),
                    message: message.clone(),
                });
            }
        }
    }
    ErrorReport {
        bytes: Bytes::from(out),
        content_type: if processed.delimiter == b'\t' {
            TSV
        } else {
            CSV
        },
        file_id: None,
        samples,
    }
}

/// An import set as `GET /v1/data_management/import_sets/{id}` shows it.
pub fn v1_json(import: &Import) -> Value {
    let (status, failed_reason, stats, error_file) = match &import.state {
        ImportState::AwaitingUpload | ImportState::Processing { .. } => {
            ("pending", None, Stats::default(), None)
        }
        ImportState::Done(Outcome::Succeeded(stats)) => ("succeeded", None, stats.clone(), None),
        ImportState::Done(Outcome::SucceededWithErrors(stats, report)) => (
            "succeeded_with_errors",
            None,
            stats.clone(),
            report.file_id.clone(),
        ),
        ImportState::Done(Outcome::Failed(failure)) => (
            "failed",
            Some(failure.message.clone()),
            Stats::default(),
            None,
        ),
    };
    json!({
        "id": import.id,
        "object": "data_management.import_set",
        "created": unix(import.created),
        "livemode": false,
        "status": status,
        "failed_reason": failed_reason,
        "result": {
            "errors": { "file": error_file, "row_count": stats.errors },
            "rows_processed": stats.rows_processed,
            "successes": { "row_count": stats.successes },
            "objects_created": stats.objects_created,
            "skipped_by_filter": 0,
            "skipped_duplicates": stats.skipped_duplicates,
        },
    })
}

/// A product catalog import as `GET /v2/commerce/product_catalog/imports/{id}` shows it;
/// every read mints a fresh error-file URL. Counts are int64 strings, as in all of v2.
pub fn v2_json(store: &mut CatalogStore, id: &str, base_url: &str) -> Option<Value> {
    let download = match store.imports.get(id).map(|i| &i.state) {
        Some(ImportState::Done(Outcome::SucceededWithErrors(..))) => Some(store.mint_download(id)),
        Some(_) => None,
        None => return None,
    };
    let import = store.imports.get(id)?;
    let (status, details) = match &import.state {
        ImportState::AwaitingUpload => {
            let upload = import.upload.as_ref().map(|u| {
                json!({
                    "url": format!("{base_url}/_sim/uploads/{}", u.token),
                    "expires_at": rfc3339(u.expires_at),
                })
            });
            ("awaiting_upload", json!({ "upload_url": upload }))
        }
        ImportState::Processing { .. } => (
            "processing",
            json!({ "success_count": "0", "error_count": "0" }),
        ),
        ImportState::Done(Outcome::Succeeded(stats)) => (
            "succeeded",
            json!({ "success_count": stats.successes.to_string() }),
        ),
        ImportState::Done(Outcome::SucceededWithErrors(stats, report)) => {
            let (token, expires_at) = download.unwrap_or_else(|| (String::new(), UNIX_EPOCH));
            let samples: Vec<Value> = report
                .samples
                .iter()
                .map(|s| {
                    json!({
                        "row": s.row.to_string(),
                        "id": s.id,
                        "field": s.field,
                        "error_message": s.message,
                    })
                })
                .collect();
            (
                "succeeded_with_errors",
                json!({
                    "success_count": stats.successes.to_string(),
                    "error_count": stats.errors.to_string(),
                    "error_file": {
                        "content_type": report.content_type,
                        "size": report.bytes.len().to_string(),
                        "download_url": {
                            "url": format!("{base_url}/_sim/error_files/{token}"),
                            "expires_at": rfc3339(expires_at),
                        },
                    },
                    "samples": samples,
                }),
            )
        }
        ImportState::Done(Outcome::Failed(failure)) => (
            "failed",
            json!({
                "code": failure.code,
                "type": failure.kind,
                "failure_message": failure.message,
            }),
        ),
    };
    Some(json!({
        "id": import.id,
        "object": V2_OBJECT,
        "created": rfc3339(import.created),
        "livemode": false,
        "metadata": import.metadata,
        "feed_type": import.feed.as_str(),
        "mode": import.mode.as_str(),
        "status": status,
        "status_details": { status: details },
    }))
}

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
    use super::*;

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
    fn prices_are_amount_space_currency() {
        assert!(valid_price("15.00 USD"));
        assert!(valid_price("15 eur"));
        for bad in [
            "15.00",
            "USD 15.00",
            "15.00  USD",
            "1.5.0 USD",
            ".5 USD",
            "15.00 US",
        ] {
            assert!(!valid_price(bad), "{bad}");
        }
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

    #[test]
    fn unreadable_files_fail() {
        let catalog = Catalog::default();
        let config = SimConfig::default();
        let check = |bytes: &[u8], feed| {
            process(
                &Content::new(Bytes::from(bytes.to_vec()), None),
                feed,
                &catalog,
                &config,
            )
            .err()
            .map(|f| f.code)
        };
        assert_eq!(
            check(b"id,title\n1,\xff\n", Feed::Product).as_deref(),
            Some("invalid_file")
        );
        assert_eq!(
            check(b"sku,title\n1,a\n", Feed::Product).as_deref(),
            Some("invalid_file")
        );
        assert_eq!(check(b"", Feed::Product).as_deref(), Some("invalid_file"));
        assert_eq!(
            check(b"id\n1\n", Feed::Promotion).as_deref(),
            Some("invalid_file")
        );
        assert_eq!(check(b"\xef\xbb\xbfid\tx\n1\t2\n", Feed::Product), None);
    }
}

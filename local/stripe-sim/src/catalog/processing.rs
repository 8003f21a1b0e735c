//! An import's life after its upload: waiting out `processing_delay_ms`, then finishing
//! (read, validated, applied, error file written) from a timer or from the next read,
//! whichever comes first, and the thin events that announce it.

use super::apply::apply;
use super::error_csv::error_report;
use super::feed_rows::process;
use super::product_catalog_imports::{V2_EVENT_PREFIX, V2_OBJECT};
use crate::SimConfig;
use crate::ids;
use crate::state::events::RequestInfo;
use crate::state::files::{StoredFile, TSV};
use crate::state::imports::{Content, Failure, Generation, Import, ImportState, Outcome};
use crate::state::{Scope, Sim, Store};
use crate::timestamps::now;
use crate::webhooks;
use serde_json::json;
use std::sync::Arc;
use std::time::{Duration, Instant};

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
        Generation::V1 => vec![emit_import_set_event(store, config, &scope, id, status)],
    }
}

/// `data_management.import_set.succeeded` (also for `succeeded_with_errors`: Stripe names
/// no event of its own for it) or `.failed`, with the import set as its object
/// (docs/stripe.md §1.2).
fn emit_import_set_event(
    store: &mut Store,
    config: &SimConfig,
    scope: &Scope,
    id: &str,
    status: &str,
) -> String {
    let kind = if status == "failed" {
        "data_management.import_set.failed"
    } else {
        "data_management.import_set.succeeded"
    };
    let object = store
        .catalog
        .imports
        .get(id)
        .map(super::import_sets::v1_json)
        .unwrap_or_default();
    store.emit(
        &config.api_version,
        scope,
        kind,
        object,
        None,
        &RequestInfo::default(),
    )
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

//! The v2 product catalog import object (`v2.commerce.product_catalog_import`) and its
//! thin events' names.

use crate::state::catalog::CatalogStore;
use crate::state::imports::{ImportState, Outcome};
use crate::timestamps::rfc3339;
use serde_json::{Value, json};
use std::time::UNIX_EPOCH;

pub const V2_OBJECT: &str = "v2.commerce.product_catalog_import";
pub const V2_EVENT_PREFIX: &str = "v2.commerce.product_catalog.imports";

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

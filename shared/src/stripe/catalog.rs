//! The catalog-upload capability: Files API + ImportSet (v1) and Product Catalog Import
//! (v2), in the domain's terms. Paths, purposes and versions are configuration: the beta
//! surface has moved before (docs/stripe.md §1).
//!
//! v1 calls act as the connected account with `Stripe-Account`; v2 calls with
//! `Stripe-Context` only (docs/stripe.md §8.3).

use std::future::Future;

use serde_json::{Value, json};

use super::{RequestOptions, StripeClient, StripeError, idempotency_key_for};
use crate::config::{ConfigError, Env};
use crate::imports::Feed;

/// The version that added `mode` (sent on every v2 create) and the `promotion` feed to the
/// v2 API, which itself arrived with `2026-04-22.dahlia` (docs/stripe.md §1.1.4).
pub const V2_MODE_VERSION: &str = "2026-06-24.dahlia";

/// The `YYYY-MM-DD` that orders a `Stripe-Version` value (`2026-06-24.dahlia; x=v1`).
fn version_date(version: &str) -> Option<&str> {
    let date = version.trim().get(..10)?;
    let shape = date.bytes().enumerate().all(|(i, b)| match i {
        4 | 7 => b == b'-',
        _ => b.is_ascii_digit(),
    });
    shape.then_some(date)
}

#[derive(Debug, Clone)]
pub struct CatalogApiSettings {
    pub file_purpose: String,
    pub import_sets_path: String,
    pub v1_version: String,
    pub v2_imports_path: String,
    pub v2_version: String,
}

impl CatalogApiSettings {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let get =
            |name: &str, default: &str| env.optional(name).unwrap_or_else(|| default.to_string());
        Ok(Self {
            file_purpose: get(
                "STRIPE_CATALOG_FILE_PURPOSE",
                "data_management_manual_upload",
            ),
            import_sets_path: get("STRIPE_IMPORT_SETS_PATH", "/v1/data_management/import_sets"),
            v1_version: get(
                "STRIPE_CATALOG_V1_API_VERSION",
                "2025-09-30.clover;udap_beta=v1",
            ),
            v2_imports_path: get(
                "STRIPE_CATALOG_V2_IMPORTS_PATH",
                "/v2/commerce/product_catalog/imports",
            ),
            v2_version: v2_version(env)?,
        })
    }
}

/// `STRIPE_CATALOG_V2_API_VERSION`, refused at cold start when older than
/// [`V2_MODE_VERSION`]: every create sends `mode`, which Stripe only knows from there on.
fn v2_version(env: &Env) -> Result<String, ConfigError> {
    const NAME: &str = "STRIPE_CATALOG_V2_API_VERSION";
    let version = env
        .optional(NAME)
        .unwrap_or_else(|| V2_MODE_VERSION.to_string());
    match (version_date(&version), version_date(V2_MODE_VERSION)) {
        (Some(date), Some(needed)) if date >= needed => Ok(version),
        _ => Err(ConfigError::Malformed {
            name: NAME.into(),
            reason: format!(
                "{version:?} is not a Stripe-Version dated {V2_MODE_VERSION} or later (imports send `mode`)"
            ),
        }),
    }
}

/// A file on its way to Stripe: streamed, with its length known up front.
pub struct Upload {
    pub filename: String,
    pub content_type: &'static str,
    pub length: u64,
    pub body: reqwest::Body,
}

/// Where Stripe's error report can be fetched.
#[derive(Debug, Clone, PartialEq)]
pub enum ErrorReport {
    /// v1: a File whose contents are the report.
    File(String),
    /// v2: a short-lived download URL and its expiry (unix seconds, if given).
    Url {
        url: String,
        expires_at: Option<i64>,
    },
}

/// An import as Stripe reports it, reduced to what we act on.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportState {
    pub id: String,
    /// Stripe's own status string.
    pub status: String,
    pub terminal: bool,
    pub succeeded: bool,
    pub success_count: Option<u64>,
    pub error_count: Option<u64>,
    pub error_report: Option<ErrorReport>,
    pub failure: Option<String>,
}

pub trait CatalogApi: Send + Sync {
    /// v1: upload the file, then create the ImportSet. Returns (file id, import state).
    fn start_v1(
        &self,
        account: &str,
        feed: Feed,
        upload: Upload,
        trigger: &str,
    ) -> impl Future<Output = Result<(String, ImportState), StripeError>> + Send;

    /// v2: create the import (idempotent on `trigger`); if it still awaits its file, PUT
    /// `make_upload()` to its upload URL.
    fn start_v2<F, Fut>(
        &self,
        account: &str,
        feed: Feed,
        replace: bool,
        trigger: &str,
        make_upload: F,
    ) -> impl Future<Output = Result<ImportState, StripeError>> + Send
    where
        F: FnOnce() -> Fut + Send,
        Fut: Future<Output = Result<Upload, StripeError>> + Send;

    fn poll_v1(
        &self,
        account: &str,
        import_id: &str,
    ) -> impl Future<Output = Result<ImportState, StripeError>> + Send;
    fn poll_v2(
        &self,
        account: &str,
        import_id: &str,
    ) -> impl Future<Output = Result<ImportState, StripeError>> + Send;

    fn download_report(
        &self,
        account: &str,
        report: &ErrorReport,
    ) -> impl Future<Output = Result<reqwest::Response, StripeError>> + Send;
}

#[derive(Debug, Clone)]
pub struct StripeCatalog {
    client: StripeClient,
    settings: CatalogApiSettings,
}

impl StripeCatalog {
    pub fn new(client: StripeClient, settings: CatalogApiSettings) -> Self {
        Self { client, settings }
    }
}

fn count(value: Option<&Value>) -> Option<u64> {
    // v2 counts are int64 strings; v1 counts are numbers.
    match value? {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

fn text(value: &Value, pointer: &str) -> Option<String> {
    value
        .pointer(pointer)
        .and_then(Value::as_str)
        .map(str::to_string)
}

/// v1 ImportSet → state. Only `pending` is in progress.
pub fn import_set_state(set: &Value) -> ImportState {
    let status = text(set, "/status").unwrap_or_else(|| "unknown".into());
    let terminal = status != "pending";
    let succeeded = matches!(
        status.as_str(),
        "succeeded" | "succeeded_with_errors" | "pending_archive" | "archived"
    );
    ImportState {
        id: text(set, "/id").unwrap_or_default(),
        terminal,
        succeeded,
        success_count: count(set.pointer("/result/successes/row_count")),
        error_count: count(set.pointer("/result/errors/row_count")),
        error_report: text(set, "/result/errors/file").map(ErrorReport::File),
        failure: text(set, "/failed_reason")
            .or_else(|| (status == "failed").then(|| "Stripe could not process the file".into())),
        status,
    }
}

fn rfc3339_seconds(text: &str) -> Option<i64> {
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .ok()
        .map(|t| t.unix_timestamp())
}

/// v2 Product Catalog Import → state.
pub fn v2_import_state(import: &Value) -> ImportState {
    let status = text(import, "/status").unwrap_or_else(|| "unknown".into());
    let details = import
        .pointer("/status_details")
        .cloned()
        .unwrap_or(Value::Null);
    let terminal = matches!(
        status.as_str(),
        "succeeded" | "succeeded_with_errors" | "failed"
    );
    let block = details.get(&status).cloned().unwrap_or(Value::Null);
    // The docs show `error_file.url`, the SDK `error_file.download_url.url`: accept both.
    let error_report = block.get("error_file").and_then(|file| {
        let (url, expires) = match file.get("download_url") {
            Some(d) => (d.get("url"), d.get("expires_at")),
            None => (file.get("url"), file.get("expires_at")),
        };
        url.and_then(Value::as_str).map(|url| ErrorReport::Url {
            url: url.to_string(),
            expires_at: expires
                .and_then(|e| e.as_i64().or_else(|| e.as_str().and_then(rfc3339_seconds))),
        })
    });
    let failure = (status == "failed").then(|| {
        let message = text(&block, "/failure_message")
            .unwrap_or_else(|| "Stripe could not process the file".into());
        match text(&block, "/code") {
            Some(code) => format!("{code}: {message}"),
            None => message,
        }
    });
    ImportState {
        id: text(import, "/id").unwrap_or_default(),
        terminal,
        succeeded: matches!(status.as_str(), "succeeded" | "succeeded_with_errors"),
        success_count: count(block.get("success_count")),
        error_count: count(block.get("error_count")),
        error_report,
        failure,
        status,
    }
}

fn decode_error(message: String) -> StripeError {
    StripeError::Decode {
        status: 200,
        message,
        request_id: None,
    }
}

impl CatalogApi for StripeCatalog {
    async fn start_v1(
        &self,
        account: &str,
        feed: Feed,
        upload: Upload,
        trigger: &str,
    ) -> Result<(String, ImportState), StripeError> {
        let format = feed.v1_format().ok_or_else(|| {
            decode_error(format!(
                "the v1 API has no {} feed; switch the merchant to v2",
                feed.as_str()
            ))
        })?;
        let file_options = RequestOptions::account(account)
            .with_idempotency_key(idempotency_key_for("v1-file", &[trigger]));
        let file = self
            .client
            .upload_file(
                "/v1/files",
                &[("purpose", self.settings.file_purpose.as_str())],
                &upload.filename,
                upload.content_type,
                upload.length,
                upload.body,
                &file_options,
            )
            .await?;
        let file_id =
            text(&file, "/id").ok_or_else(|| decode_error("the File has no id".into()))?;
        let options = RequestOptions::account(account)
            .with_version(&self.settings.v1_version)
            .with_idempotency_key(idempotency_key_for("v1-import-set", &[trigger]));
        let set = self
            .client
            .post_form(
                &self.settings.import_sets_path,
                &[("file", file_id.as_str()), ("standard_data_format", format)],
                &options,
            )
            .await?;
        Ok((file_id, import_set_state(&set)))
    }

    async fn start_v2<F, Fut>(
        &self,
        account: &str,
        feed: Feed,
        replace: bool,
        trigger: &str,
        make_upload: F,
    ) -> Result<ImportState, StripeError>
    where
        F: FnOnce() -> Fut + Send,
        Fut: Future<Output = Result<Upload, StripeError>> + Send,
    {
        let options = RequestOptions::context(account)
            .with_version(&self.settings.v2_version)
            .with_idempotency_key(idempotency_key_for("v2-import", &[trigger]));
        let body = json!({
            "feed_type": feed.as_str(),
            "mode": if replace { "replace" } else { "upsert" },
            "metadata": {"source": "agentic-commerce-bundle", "trigger": trigger},
        });
        let created = self
            .client
            .post_json(&self.settings.v2_imports_path, &body, &options)
            .await?;
        let id =
            text(&created, "/id").ok_or_else(|| decode_error("the import has no id".into()))?;
        // A replayed create shows the first answer, so the state and the upload URL come
        // from one read of the import as it is now.
        let import = self
            .client
            .get(
                &format!("{}/{id}", self.settings.v2_imports_path),
                &[],
                &RequestOptions {
                    idempotency_key: None,
                    ..options.clone()
                },
            )
            .await?;
        let current = v2_import_state(&import);
        if current.status != "awaiting_upload" {
            return Ok(current);
        }
        let url = text(&import, "/status_details/awaiting_upload/upload_url/url")
            .ok_or_else(|| decode_error("the import awaits a file but has no upload URL".into()))?;
        let upload = make_upload().await?;
        self.client
            .put_upload_url(&url, upload.content_type, upload.length, upload.body)
            .await?;
        // Not read again: Stripe processes the file from here, and says when it is done
        // (the import's events) or is asked later (the uploader's polls). The state is
        // the last one Stripe gave, `awaiting_upload`.
        Ok(current)
    }

    async fn poll_v1(&self, account: &str, import_id: &str) -> Result<ImportState, StripeError> {
        let options = RequestOptions::account(account).with_version(&self.settings.v1_version);
        let set = self
            .client
            .get(
                &format!("{}/{import_id}", self.settings.import_sets_path),
                &[],
                &options,
            )
            .await?;
        Ok(import_set_state(&set))
    }

    async fn poll_v2(&self, account: &str, import_id: &str) -> Result<ImportState, StripeError> {
        let options = RequestOptions::context(account).with_version(&self.settings.v2_version);
        let import = self
            .client
            .get(
                &format!("{}/{import_id}", self.settings.v2_imports_path),
                &[],
                &options,
            )
            .await?;
        Ok(v2_import_state(&import))
    }

    async fn download_report(
        &self,
        account: &str,
        report: &ErrorReport,
    ) -> Result<reqwest::Response, StripeError> {
        match report {
            ErrorReport::File(file_id) => {
                self.client
                    .download(
                        &format!(
                            "/v1/files/{}/contents",
                            crate::encoding::path_segment(file_id)
                        ),
                        &RequestOptions::account(account),
                    )
                    .await
            }
            // A v2 import's report: the same context as the import.
            ErrorReport::Url { url, .. } => {
                self.client
                    .download(url, &RequestOptions::context(account))
                    .await
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v2_versions_are_dated_and_new_enough() {
        use crate::config::Env;
        let load = |v: &str| {
            CatalogApiSettings::from_env(&Env::from_map([("STRIPE_CATALOG_V2_API_VERSION", v)]))
                .map(|s| s.v2_version)
        };
        assert_eq!(
            CatalogApiSettings::from_env(&Env::default())
                .unwrap()
                .v2_version,
            V2_MODE_VERSION
        );
        for ok in [
            "2026-06-24.dahlia",
            "2026-06-24.preview",
            "2027-01-01.x; beta=v1",
        ] {
            assert_eq!(load(ok).unwrap(), ok);
        }
        for old in [
            "2026-04-22.dahlia",
            "2025-12-15.preview",
            "latest",
            "2026-6-24",
        ] {
            assert!(load(old).is_err(), "{old}");
        }
    }

    #[test]
    fn v1_states() {
        let set = json!({"id": "impset_1", "status": "succeeded_with_errors", "result": {"errors": {"file": "file_9", "row_count": 2}, "successes": {"row_count": 8}, "rows_processed": 10}});
        let state = import_set_state(&set);
        assert!(state.terminal && state.succeeded);
        assert_eq!((state.success_count, state.error_count), (Some(8), Some(2)));
        assert_eq!(state.error_report, Some(ErrorReport::File("file_9".into())));
        assert!(!import_set_state(&json!({"id": "impset_1", "status": "pending"})).terminal);
        let failed = import_set_state(
            &json!({"id": "impset_1", "status": "failed", "failed_reason": "bad file"}),
        );
        assert!(failed.terminal && !failed.succeeded);
        assert_eq!(failed.failure.as_deref(), Some("bad file"));
    }

    #[test]
    fn v2_states_read_string_counts_and_both_error_url_shapes() {
        let sdk_shape = json!({"id": "pcimprt_1", "status": "succeeded_with_errors", "status_details": {"succeeded_with_errors": {
            "success_count": "8", "error_count": "2",
            "error_file": {"content_type": "text/csv", "size": "120", "download_url": {"url": "https://files.example/x", "expires_at": "2026-11-28T12:00:00Z"}}}}});
        let state = v2_import_state(&sdk_shape);
        assert_eq!((state.success_count, state.error_count), (Some(8), Some(2)));
        assert_eq!(
            state.error_report,
            Some(ErrorReport::Url {
                url: "https://files.example/x".into(),
                expires_at: Some(1_795_867_200)
            })
        );
        let docs_shape = json!({"id": "pcimprt_1", "status": "succeeded_with_errors", "status_details": {"succeeded_with_errors": {"error_file": {"url": "https://files.example/y"}}}});
        assert!(
            matches!(v2_import_state(&docs_shape).error_report, Some(ErrorReport::Url { ref url, .. }) if url.ends_with("/y"))
        );
        let failed = v2_import_state(
            &json!({"id": "p", "status": "failed", "status_details": {"failed": {"code": "invalid_file", "type": "cannot_proceed", "failure_message": "No id column"}}}),
        );
        assert_eq!(
            failed.failure.as_deref(),
            Some("invalid_file: No id column")
        );
        for waiting in ["awaiting_upload", "processing"] {
            assert!(!v2_import_state(&json!({"id": "p", "status": waiting})).terminal);
        }
    }
}

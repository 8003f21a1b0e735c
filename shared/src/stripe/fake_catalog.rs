//! A stand-in for Stripe's catalog import APIs, for unit tests of the uploader: it records
//! every upload, answers each start once per trigger (Stripe's idempotency keys), and lets
//! a test say how Stripe finished an import and what its error report holds. It knows no
//! Stripe behaviour beyond those calls' shapes (docs/stripe.md §1); stripe-sim is the
//! emulator that plays Stripe end to end.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::sync::Mutex;

use super::StripeError;
use super::catalog::{CatalogApi, ErrorReport, ImportState, Upload};
use crate::imports::Feed;

/// One upload as the fake received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeUpload {
    pub account: String,
    pub feed: Feed,
    pub trigger: String,
    pub v2: bool,
    pub replace: bool,
    pub filename: String,
    pub content_type: &'static str,
    pub length: u64,
}

#[derive(Debug, Default)]
struct State {
    by_trigger: HashMap<String, String>,
    imports: BTreeMap<String, ImportState>,
    uploads: Vec<FakeUpload>,
    reports: HashMap<String, Vec<u8>>,
    /// The next start fails with this (once).
    refuse_next_start: Option<StripeError>,
    polls: usize,
}

#[derive(Debug, Default)]
pub struct FakeCatalogApi {
    state: Mutex<State>,
}

fn lock(state: &Mutex<State>) -> std::sync::MutexGuard<'_, State> {
    state
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn not_found(id: &str) -> StripeError {
    StripeError::Api {
        status: 404,
        body: Box::new(super::ApiErrorBody {
            kind: "invalid_request_error".into(),
            code: Some("resource_missing".into()),
            message: Some(format!("No such import: '{id}'")),
            ..Default::default()
        }),
        request_id: None,
    }
}

impl FakeCatalogApi {
    pub fn uploads(&self) -> Vec<FakeUpload> {
        lock(&self.state).uploads.clone()
    }

    /// How many times an import's state was asked for.
    pub fn polls(&self) -> usize {
        lock(&self.state).polls
    }

    /// The ids of the imports started so far, oldest first.
    pub fn import_ids(&self) -> Vec<String> {
        let state = lock(&self.state);
        let mut ids: Vec<String> = state.by_trigger.values().cloned().collect();
        ids.sort();
        ids
    }

    /// Stripe finished `import_id` with `status` (`succeeded`, `succeeded_with_errors` or
    /// `failed`); `error_csv`, when given, is its error report.
    pub fn finish(&self, import_id: &str, status: &str, successes: u64, error_csv: Option<&str>) {
        let mut state = lock(&self.state);
        let errors = error_csv.map(|csv| csv.lines().skip(1).count() as u64);
        let report = error_csv.map(|csv| {
            let file = format!("file_report_{import_id}");
            state.reports.insert(file.clone(), csv.as_bytes().to_vec());
            ErrorReport::File(file)
        });
        if let Some(import) = state.imports.get_mut(import_id) {
            import.status = status.to_string();
            import.terminal = true;
            import.succeeded = status != "failed";
            import.success_count = Some(successes);
            import.error_count = errors;
            import.error_report = report;
            import.failure = (status == "failed").then(|| "invalid_file".to_string());
        }
    }

    pub fn refuse_next_start(&self, error: StripeError) {
        lock(&self.state).refuse_next_start = Some(error);
    }

    fn start(
        &self,
        upload: FakeUpload,
        prefix: &str,
        status: &str,
    ) -> Result<ImportState, StripeError> {
        let mut state = lock(&self.state);
        if let Some(error) = state.refuse_next_start.take() {
            return Err(error);
        }
        if let Some(id) = state.by_trigger.get(&upload.trigger) {
            return Ok(state.imports[id].clone());
        }
        let id = format!("{prefix}_{:04}", state.imports.len() + 1);
        let import = ImportState {
            id: id.clone(),
            status: status.to_string(),
            terminal: false,
            succeeded: false,
            success_count: None,
            error_count: None,
            error_report: None,
            failure: None,
        };
        state.by_trigger.insert(upload.trigger.clone(), id.clone());
        state.imports.insert(id, import.clone());
        state.uploads.push(upload);
        Ok(import)
    }

    fn current(&self, import_id: &str) -> Result<ImportState, StripeError> {
        lock(&self.state)
            .imports
            .get(import_id)
            .cloned()
            .ok_or_else(|| not_found(import_id))
    }
}

impl CatalogApi for FakeCatalogApi {
    async fn start_v1(
        &self,
        account: &str,
        feed: Feed,
        upload: Upload,
        trigger: &str,
    ) -> Result<(String, ImportState), StripeError> {
        let state = self.start(
            FakeUpload {
                account: account.to_string(),
                feed,
                trigger: trigger.to_string(),
                v2: false,
                replace: false,
                filename: upload.filename,
                content_type: upload.content_type,
                length: upload.length,
            },
            "impset",
            "pending",
        )?;
        Ok((format!("file_for_{}", state.id), state))
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
        if let Some(id) = lock(&self.state).by_trigger.get(trigger).cloned() {
            return self.current(&id);
        }
        let upload = make_upload().await?;
        self.start(
            FakeUpload {
                account: account.to_string(),
                feed,
                trigger: trigger.to_string(),
                v2: true,
                replace,
                filename: upload.filename,
                content_type: upload.content_type,
                length: upload.length,
            },
            "pcimprt",
            "processing",
        )
    }

    async fn poll_v1(&self, _account: &str, import_id: &str) -> Result<ImportState, StripeError> {
        lock(&self.state).polls += 1;
        self.current(import_id)
    }

    async fn poll_v2(&self, _account: &str, import_id: &str) -> Result<ImportState, StripeError> {
        lock(&self.state).polls += 1;
        self.current(import_id)
    }

    async fn download_report(
        &self,
        _account: &str,
        report: &ErrorReport,
    ) -> Result<reqwest::Response, StripeError> {
        let key = match report {
            ErrorReport::File(id) => id.clone(),
            ErrorReport::Url { url, .. } => url.clone(),
        };
        let body = lock(&self.state)
            .reports
            .get(&key)
            .cloned()
            .ok_or_else(|| not_found(&key))?;
        Ok(reqwest::Response::from(http::Response::new(body)))
    }
}

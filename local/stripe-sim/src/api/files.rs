//! The Files API as catalog uploads use it: `POST /v1/files` (multipart, on Stripe's files
//! host), `GET /v1/files/{id}`, `GET /v1/files/{id}/contents`.

use super::{ApiResult, Ctx, Reply};
use crate::SimConfig;
use crate::body::{self, ReadError};
use crate::errors::ApiError;
use crate::form::{Params, build};
use crate::state::Sim;
use crate::state::files::{self, StoredFile};
use crate::timestamps::now;
use axum::body::{Body, Bytes};
use axum::extract::multipart::{Field, MultipartError};
use axum::extract::{FromRequest, Multipart, Request};
use axum::http::{StatusCode, header, request};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::sync::Arc;

/// Room for the multipart framing and the other fields around the file itself.
const MULTIPART_OVERHEAD: u64 = 64 << 10;

/// The `file` part of an upload.
pub struct Upload {
    pub filename: Option<String>,
    pub content_type: Option<String>,
    pub data: Bytes,
}

impl Upload {
    /// What idempotency compares instead of the bytes: a digest, the size and the labels.
    pub fn digest(&self) -> Value {
        json!({
            "filename": self.filename,
            "content_type": self.content_type,
            "size": self.data.len(),
            "sha256": hex::encode(Sha256::digest(&self.data)),
        })
    }
}

fn too_large(max: u64) -> ApiError {
    ApiError::invalid_param(
        "file",
        format!(
            "The file you uploaded is too large: files can be at most {max} bytes ({} MB).",
            max >> 20
        ),
    )
    .code("file_too_large")
}

/// Largest body `POST /v1/files` reads: the file limit plus the form around the file.
/// The API router lets axum's `Multipart` take this much (its own default is 2 MB).
pub fn body_limit(config: &SimConfig) -> u64 {
    config.max_file_bytes.saturating_add(MULTIPART_OVERHEAD)
}

/// Stripe's upload form has two fields; a hundred is plenty and bounds the work.
const MAX_PARTS: usize = 100;

/// One part of the form, as it arrived.
struct Part {
    name: String,
    filename: Option<String>,
    content_type: Option<String>,
    data: Bytes,
}

fn not_multipart() -> ApiError {
    ApiError::invalid(
        "Invalid request: file uploads must be sent as multipart/form-data (with a boundary in the Content-Type header).",
    )
    .not_replayable()
}

fn malformed(reason: impl std::fmt::Display) -> ApiError {
    ApiError::invalid(format!("Invalid multipart/form-data body: {reason}.")).not_replayable()
}

/// The error of reading the body, if that is what stopped the parser.
fn read_error<'a>(error: &'a (dyn std::error::Error + 'static)) -> Option<&'a ReadError> {
    let mut current = Some(error);
    while let Some(error) = current {
        if let Some(found) = error.downcast_ref::<ReadError>() {
            return Some(found);
        }
        current = error.source();
    }
    None
}

fn parse_error(error: &MultipartError, max: u64) -> ApiError {
    match read_error(error) {
        Some(ReadError::TooLarge { .. }) => too_large(max),
        Some(ReadError::Broken(reason)) => {
            ApiError::invalid(format!("The request body could not be read: {reason}"))
                .not_replayable()
        }
        None if error.status() == StatusCode::PAYLOAD_TOO_LARGE => too_large(max),
        None => malformed(error.body_text()),
    }
}

/// A part's data; zero-copy when it arrives in one chunk, as it does from a read body.
async fn part_data(field: &mut Field<'_>) -> Result<Bytes, MultipartError> {
    let mut chunks = Vec::new();
    while let Some(chunk) = field.chunk().await? {
        chunks.push(chunk);
    }
    Ok(match chunks.len() {
        1 => chunks.swap_remove(0),
        _ => Bytes::from(chunks.concat()),
    })
}

/// Every part, in order. The checks the parser leaves out are the ones RFC 7578 asks of
/// a form: UTF-8 headers, a `form-data` disposition and a name.
async fn parts(mut form: Multipart, max: u64) -> Result<Vec<Part>, ApiError> {
    let mut parts = Vec::new();
    while let Some(mut field) = form.next_field().await.map_err(|e| parse_error(&e, max))? {
        if field
            .headers()
            .values()
            .any(|v| std::str::from_utf8(v.as_bytes()).is_err())
        {
            return Err(malformed("part headers are not UTF-8"));
        }
        let text_header = |name| {
            field
                .headers()
                .get(name)
                .and_then(|v| std::str::from_utf8(v.as_bytes()).ok())
                .map(str::trim)
        };
        let kind = text_header(header::CONTENT_DISPOSITION)
            .map(|d| d.split(';').next().unwrap_or("").trim());
        if kind.is_some_and(|k| !k.eq_ignore_ascii_case("form-data")) {
            return Err(malformed("a part's Content-Disposition must be form-data"));
        }
        let content_type = text_header(header::CONTENT_TYPE).map(str::to_string);
        let name = field
            .name()
            .map(str::to_string)
            .ok_or_else(|| malformed("a part has no name in its Content-Disposition"))?;
        let filename = field.file_name().map(str::to_string);
        let data = part_data(&mut field)
            .await
            .map_err(|e| parse_error(&e, max))?;
        if parts.len() == MAX_PARTS {
            return Err(malformed(format!("more than {MAX_PARTS} parts")));
        }
        parts.push(Part {
            name,
            filename,
            content_type,
            data,
        });
    }
    Ok(parts)
}

/// Reads and splits a multipart upload: the text fields become parameters, the `file`
/// part is returned apart.
///
/// The whole body is read (up to [`body_limit`]) before the first part is parsed, and
/// only after the Content-Type has been checked: a body that is too large gets
/// `file_too_large` however malformed it is, and is drained so the client sees the
/// answer.
pub async fn read_upload(
    sim: &Arc<Sim>,
    request: &request::Parts,
    body: Body,
) -> Result<(Params, Option<Upload>), ApiError> {
    let content_length = request
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let limit = body_limit(&sim.config);
    let whole_body =
        futures::stream::once(async move { body::read_limited(body, limit, content_length).await });
    let mut form_request = Request::new(Body::from_stream(whole_body));
    *form_request.headers_mut() = request.headers.clone();
    // The extensions carry the router's `DefaultBodyLimit`, which `Multipart` obeys.
    *form_request.extensions_mut() = request.extensions.clone();
    let form = Multipart::from_request(form_request, &())
        .await
        .map_err(|_| not_multipart())?;
    let mut pairs = Vec::new();
    let mut upload = None;
    for part in parts(form, sim.config.max_file_bytes).await? {
        if part.name == "file" {
            if upload.is_some() {
                return Err(ApiError::invalid_param(
                    "file",
                    "Only one file can be uploaded per request.",
                ));
            }
            upload = Some(Upload {
                filename: part.filename,
                content_type: part.content_type,
                data: part.data,
            });
        } else {
            let value = String::from_utf8(part.data.to_vec()).map_err(|_| {
                ApiError::invalid_param(&part.name, "Form fields must be UTF-8 text.")
            })?;
            pairs.push((part.name, value));
        }
    }
    Ok((Params(build(pairs)?), upload))
}

pub fn create(ctx: &Ctx) -> ApiResult {
    ctx.params.allow(&["purpose", "file_link_data", "expand"])?;
    let config = &ctx.sim.config;
    let purpose = ctx
        .params
        .non_empty_str("purpose")?
        .ok_or_else(|| ApiError::missing_param("purpose"))?;
    if !config.file_purposes.iter().any(|p| p == purpose) {
        return Err(ApiError::invalid_param(
            "purpose",
            format!(
                "Invalid purpose: {purpose}. This emulator accepts {}.",
                config.file_purposes.join(", ")
            ),
        ));
    }
    let upload = ctx
        .upload
        .as_ref()
        .ok_or_else(|| ApiError::missing_param("file"))?;
    if upload.data.is_empty() {
        return Err(ApiError::invalid_param(
            "file",
            "The file you uploaded is empty.",
        ));
    }
    if upload.data.len() as u64 > config.max_file_bytes {
        return Err(too_large(config.max_file_bytes));
    }
    let content_type = stored_type(upload).ok_or_else(|| {
        ApiError::invalid_param(
            "file",
            format!(
                "Files with purpose `{purpose}` must be CSV or TSV; `{}` ({}) is neither.",
                upload.filename.as_deref().unwrap_or("(no filename)"),
                upload.content_type.as_deref().unwrap_or("no content type")
            ),
        )
    })?;
    let file = StoredFile {
        id: crate::ids::file(),
        scope: ctx.scope.clone(),
        created: now(),
        filename: upload
            .filename
            .clone()
            .filter(|f| !f.is_empty())
            .unwrap_or_else(|| "file".into()),
        purpose: purpose.to_string(),
        content_type,
        bytes: upload.data.clone(),
    };
    let value = file.to_json();
    ctx.sim.lock().catalog.files.insert(file.id.clone(), file);
    Ok(value)
}

/// How much of a nameless file is looked at to tell CSV, TSV and binary apart.
const SNIFF_BYTES: usize = 8 << 10;

/// The content type the File is stored with, or `None` when the upload is neither CSV nor
/// TSV. Stripe takes a file's type from the file itself, not from the part's label:
/// stripe-python sends every file part as `application/octet-stream` (stripe-node too when
/// no `type` is given), browsers label `.csv` files `application/vnd.ms-excel`. So:
/// 1. a part labelled `text/csv` or `text/tab-separated-values` is that (as labelled);
/// 2. else the filename's extension decides: `.csv` → `text/csv`, `.tsv` or `.tab` → TSV,
///    any other extension → refused;
/// 3. a name without an extension: the content decides: text (no NUL byte) whose first
///    line holds a tab is TSV, else one holding a comma is CSV; anything else is refused.
fn stored_type(upload: &Upload) -> Option<String> {
    if let Some(declared) = &upload.content_type {
        let essence = files::essence(declared);
        if essence == files::CSV || essence == files::TSV {
            return Some(declared.clone());
        }
    }
    let name = upload.filename.as_deref().unwrap_or("");
    // A client may send a path (stripe-python sends the file object's `name`).
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
    if let Some((stem, extension)) = base.rsplit_once('.') {
        if !stem.is_empty() {
            return match extension.to_ascii_lowercase().as_str() {
                "csv" => Some(files::CSV.into()),
                "tsv" | "tab" => Some(files::TSV.into()),
                _ => None,
            };
        }
    }
    let head = &upload.data[..upload.data.len().min(SNIFF_BYTES)];
    if head.contains(&0) {
        return None;
    }
    let first_line = head.split(|b| *b == b'\n').next().unwrap_or(head);
    if first_line.contains(&b'\t') {
        Some(files::TSV.into())
    } else if first_line.contains(&b',') {
        Some(files::CSV.into())
    } else {
        None
    }
}

fn find<T>(ctx: &Ctx, id: &str, f: impl FnOnce(&StoredFile) -> T) -> Result<T, ApiError> {
    let store = ctx.sim.lock();
    store
        .catalog
        .files
        .get(id)
        .filter(|file| file.scope == ctx.scope)
        .map(f)
        .ok_or_else(|| ApiError::no_such("file", id, "id"))
}

pub fn retrieve(ctx: &Ctx, id: &str) -> ApiResult {
    ctx.params.allow(&["expand"])?;
    find(ctx, id, StoredFile::to_json)
}

/// The bytes as uploaded, with the content type they were uploaded with.
pub fn contents(ctx: &Ctx, id: &str) -> Result<Reply, ApiError> {
    find(ctx, id, |file| Reply::Raw {
        content_type: file.content_type.clone(),
        body: file.bytes.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn upload(filename: Option<&str>, content_type: Option<&str>, data: &[u8]) -> Upload {
        Upload {
            filename: filename.map(str::to_string),
            content_type: content_type.map(str::to_string),
            data: Bytes::copy_from_slice(data),
        }
    }

    #[test]
    fn a_csv_or_tsv_label_is_kept_as_sent() {
        let csv = upload(Some("x.bin"), Some("text/csv; charset=utf-8"), b"a,b\n");
        assert_eq!(
            stored_type(&csv).as_deref(),
            Some("text/csv; charset=utf-8")
        );
        let tsv = upload(None, Some("Text/Tab-Separated-Values"), b"a\tb\n");
        assert_eq!(
            stored_type(&tsv).as_deref(),
            Some("Text/Tab-Separated-Values")
        );
    }

    #[test]
    fn otherwise_the_extension_decides() {
        let octet = Some("application/octet-stream");
        for (name, want) in [
            ("catalog.csv", Some(files::CSV)),
            ("/tmp/run/Catalog.CSV", Some(files::CSV)),
            ("C:\\feeds\\inventory.tsv", Some(files::TSV)),
            ("inventory.tab", Some(files::TSV)),
            ("logo.png", None),
            ("catalog.csv.gz", None),
            ("catalog.xlsx", None),
        ] {
            let file = upload(Some(name), octet, b"id,title\n1,a\n");
            assert_eq!(stored_type(&file).as_deref(), want, "{name}");
        }
        // Browsers label .csv files this way.
        let excel = upload(Some("feed.csv"), Some("application/vnd.ms-excel"), b"a,b\n");
        assert_eq!(stored_type(&excel).as_deref(), Some(files::CSV));
        let json = upload(Some("feed.json"), Some("application/json"), b"{}");
        assert_eq!(stored_type(&json), None);
    }

    #[test]
    fn a_nameless_file_is_sniffed() {
        for (name, data, want) in [
            (Some("blob"), &b"id,title\n1,a\n"[..], Some(files::CSV)),
            (None, &b"id\ttitle, with comma\n"[..], Some(files::TSV)),
            (Some(".csv"), &b"id,title\n"[..], Some(files::CSV)),
            (Some("blob"), &b"just words\n"[..], None),
            (Some("blob"), &b"\x89PNG\r\n\x1a\n\0\0,\t"[..], None),
        ] {
            let file = upload(name, Some("application/octet-stream"), data);
            assert_eq!(stored_type(&file).as_deref(), want, "{name:?} {data:?}");
        }
    }
}

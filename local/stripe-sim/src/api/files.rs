//! The Files API as catalog uploads use it: `POST /v1/files` (multipart, on Stripe's files
//! host), `GET /v1/files/{id}`, `GET /v1/files/{id}/contents`.

use super::{ApiResult, Ctx, Reply};
use crate::body::{self, ReadError};
use crate::errors::ApiError;
use crate::form::{Params, build};
use crate::multipart;
use crate::state::Sim;
use crate::state::files::{self, StoredFile};
use crate::timestamps::now;
use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, header};
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

/// Reads and splits a multipart upload: the text fields become parameters, the `file`
/// part is returned apart.
pub async fn read_upload(
    sim: &Arc<Sim>,
    headers: &HeaderMap,
    body: Body,
) -> Result<(Params, Option<Upload>), ApiError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let Some(boundary) = multipart::boundary(content_type) else {
        return Err(ApiError::invalid(
            "Invalid request: file uploads must be sent as multipart/form-data (with a boundary in the Content-Type header).",
        )
        .not_replayable());
    };
    let content_length = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let max = sim.config.max_file_bytes;
    let bytes = body::read_limited(body, max.saturating_add(MULTIPART_OVERHEAD), content_length)
        .await
        .map_err(|e| match e {
            ReadError::TooLarge { .. } => too_large(max),
            ReadError::Broken(reason) => {
                ApiError::invalid(format!("The request body could not be read: {reason}"))
                    .not_replayable()
            }
        })?;
    let parts = multipart::parse(&bytes, &boundary).map_err(|reason| {
        ApiError::invalid(format!("Invalid multipart/form-data body: {reason}.")).not_replayable()
    })?;
    let mut pairs = Vec::new();
    let mut upload = None;
    for part in parts {
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
    let content_type = upload.content_type.clone().unwrap_or_default();
    let essence = files::essence(&content_type);
    if essence != files::CSV && essence != files::TSV {
        return Err(ApiError::invalid_param(
            "file",
            format!(
                "Files with purpose `{purpose}` must be CSV (text/csv) or TSV (text/tab-separated-values), not `{}`.",
                if content_type.is_empty() {
                    "(no content type)"
                } else {
                    &content_type
                }
            ),
        ));
    }
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

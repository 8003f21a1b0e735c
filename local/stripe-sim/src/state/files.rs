//! Files uploaded through the Files API (and the v1 error files the emulator writes), and
//! the two content types catalog feeds come in.

use super::Scope;
use axum::body::Bytes;
use serde_json::{Value, json};

pub const CSV: &str = "text/csv";
pub const TSV: &str = "text/tab-separated-values";

/// The essence of a content type (`text/csv; charset=utf-8` → `text/csv`), lowercased.
pub fn essence(content_type: &str) -> String {
    content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

pub struct StoredFile {
    pub id: String,
    pub scope: Scope,
    pub created: i64,
    pub filename: String,
    pub purpose: String,
    /// As uploaded, parameters included; `GET …/contents` answers with it.
    pub content_type: String,
    pub bytes: Bytes,
}

impl StoredFile {
    pub fn kind(&self) -> &'static str {
        if essence(&self.content_type) == TSV {
            "tsv"
        } else {
            "csv"
        }
    }

    pub fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "object": "file",
            "created": self.created,
            "expires_at": null,
            "filename": self.filename,
            "links": {
                "object": "list",
                "data": [],
                "has_more": false,
                "url": format!("/v1/file_links?file={}", self.id),
            },
            "purpose": self.purpose,
            "size": self.bytes.len(),
            "title": null,
            "type": self.kind(),
            "url": null,
        })
    }
}

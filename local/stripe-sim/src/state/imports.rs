//! Catalog imports of both generations (v1 import sets, v2 product catalog imports): what
//! was asked for, the uploaded content, and how processing ended.

use super::Scope;
use super::files::{CSV, TSV, essence};
use crate::ids;
use axum::body::Bytes;
use serde_json::{Map, Value};
use std::time::{Instant, SystemTime};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Feed {
    Product,
    Inventory,
    Pricing,
    Promotion,
}

impl Feed {
    pub fn as_str(self) -> &'static str {
        match self {
            Feed::Product => "product",
            Feed::Inventory => "inventory",
            Feed::Pricing => "pricing",
            Feed::Promotion => "promotion",
        }
    }

    pub fn parse_v2(value: &str) -> Option<Self> {
        match value {
            "product" => Some(Feed::Product),
            "inventory" => Some(Feed::Inventory),
            "pricing" => Some(Feed::Pricing),
            "promotion" => Some(Feed::Promotion),
            _ => None,
        }
    }

    /// v1's `standard_data_format`; the update-interval rule counts both generations'
    /// imports of the same feed together.
    pub fn parse_v1(value: &str) -> Option<Self> {
        match value {
            "product_catalog_feed" => Some(Feed::Product),
            "inventory_feed" => Some(Feed::Inventory),
            _ => None,
        }
    }

    pub fn key_column(self) -> &'static str {
        match self {
            Feed::Promotion => "promotion_id",
            _ => "id",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Generation {
    V1,
    V2,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Upsert,
    Replace,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Upsert => "upsert",
            Mode::Replace => "replace",
        }
    }
}

fn delimiter_for(content_type: &str) -> Option<u8> {
    match essence(content_type).as_str() {
        CSV => Some(b','),
        TSV => Some(b'\t'),
        _ => None,
    }
}

pub struct UploadUrl {
    pub token: String,
    pub expires: Instant,
    pub expires_at: SystemTime,
}

pub struct Content {
    pub bytes: Bytes,
    /// From the declared content type; sniffed from the header line when absent.
    pub delimiter: Option<u8>,
}

impl Content {
    /// The delimiter an uploaded content type implies, if any.
    pub fn new(bytes: Bytes, content_type: Option<&str>) -> Self {
        Self {
            bytes,
            delimiter: content_type.and_then(delimiter_for),
        }
    }
}

pub enum ImportState {
    AwaitingUpload,
    /// `ready_at: None` finishes only when forced (the delay did not fit in an `Instant`).
    Processing {
        ready_at: Option<Instant>,
    },
    Done(Outcome),
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Stats {
    pub rows_processed: u64,
    pub successes: u64,
    pub errors: u64,
    pub objects_created: u64,
    pub skipped_duplicates: u64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub row: u64,
    pub id: String,
    pub field: String,
    pub message: String,
}

#[derive(Debug, Clone)]
pub struct ErrorReport {
    pub bytes: Bytes,
    pub content_type: &'static str,
    /// v1: the File holding the report (`result.errors.file`).
    pub file_id: Option<String>,
    pub samples: Vec<Sample>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    pub code: String,
    pub kind: String,
    pub message: String,
}

impl Failure {
    pub fn invalid_file(message: impl Into<String>) -> Self {
        Self {
            code: "invalid_file".into(),
            kind: "cannot_proceed".into(),
            message: message.into(),
        }
    }
}

#[derive(Debug, Clone)]
pub enum Outcome {
    Succeeded(Stats),
    SucceededWithErrors(Stats, ErrorReport),
    Failed(Failure),
}

pub struct Import {
    pub id: String,
    pub scope: Scope,
    pub generation: Generation,
    pub feed: Feed,
    pub mode: Mode,
    pub metadata: Map<String, Value>,
    pub created: SystemTime,
    pub upload: Option<UploadUrl>,
    pub content: Option<Content>,
    pub state: ImportState,
}

impl Import {
    pub fn new(scope: Scope, generation: Generation, feed: Feed, mode: Mode) -> Self {
        Self {
            id: match generation {
                Generation::V1 => ids::import_set(),
                Generation::V2 => ids::catalog_import(),
            },
            scope,
            generation,
            feed,
            mode,
            metadata: Map::new(),
            created: SystemTime::now(),
            upload: None,
            content: None,
            state: ImportState::AwaitingUpload,
        }
    }

    pub fn due(&self, now: Instant) -> bool {
        matches!(self.state, ImportState::Processing { ready_at: Some(at) } if at <= now)
    }
}

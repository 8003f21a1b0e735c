//! The catalog bucket: where merchants drop feeds and the uploader writes reports, behind
//! the narrow [`ObjectStore`] capability, with the S3 adapter ([`s3`]) and, for unit tests,
//! an in-memory one side by side.

#[cfg(any(test, feature = "memory"))]
pub mod memory;
pub mod s3;

use std::future::Future;
use std::pin::Pin;

use bytes::Bytes;
use futures::Stream;

pub use s3::{CompletedObject, MultipartWriter, PART_SIZE, S3Objects};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BucketError {
    /// Throttling, timeouts, a dropped connection: the operation may succeed later.
    #[error("object storage temporarily unavailable: {0}")]
    Transient(String),
    /// A request the bucket refuses whatever the timing (no such key, access denied…).
    #[error("object storage refused the request: {0}")]
    Permanent(String),
}

impl BucketError {
    pub fn is_transient(&self) -> bool {
        matches!(self, BucketError::Transient(_))
    }
}

pub type ByteChunks = Pin<Box<dyn Stream<Item = Result<Bytes, BucketError>> + Send>>;

/// One version of one object, as an S3 event names it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ObjectRef {
    pub bucket: String,
    pub key: String,
    #[serde(default)]
    pub version_id: Option<String>,
    #[serde(default)]
    pub etag: Option<String>,
    #[serde(default)]
    pub size: u64,
}

/// Writes one object in pieces, never holding it whole.
pub trait ObjectWriter: Send {
    fn write(&mut self, bytes: &[u8]) -> impl Future<Output = Result<(), BucketError>> + Send;

    /// Completes the object; returns its size.
    fn finish(self) -> impl Future<Output = Result<u64, BucketError>> + Send;
}

pub trait ObjectStore: Send + Sync {
    type Writer: ObjectWriter;

    /// The object's bytes as a stream of chunks (reads the version given, if any).
    fn read(
        &self,
        object: &ObjectRef,
    ) -> impl Future<Output = Result<(u64, ByteChunks), BucketError>> + Send;

    fn put(
        &self,
        bucket: &str,
        key: &str,
        body: Vec<u8>,
        content_type: &str,
    ) -> impl Future<Output = Result<(), BucketError>> + Send;

    /// A writer that uploads as it fills; `finish` completes the object.
    fn writer(
        &self,
        bucket: &str,
        key: &str,
        content_type: &str,
    ) -> impl Future<Output = Result<Self::Writer, BucketError>> + Send;
}

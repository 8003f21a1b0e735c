//! An in-memory [`ObjectStore`] for unit tests: versions kept per key, reads in small chunks
//! so code that streams is exercised as against S3.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use bytes::Bytes;

use super::{BucketError, ByteChunks, ObjectRef, ObjectStore, ObjectWriter};

/// (bucket, key) -> versions, oldest first.
type Versions = BTreeMap<(String, String), Vec<Vec<u8>>>;

#[derive(Debug, Clone, Default)]
pub struct MemoryBucket {
    objects: Arc<Mutex<Versions>>,
}

impl MemoryBucket {
    fn lock(&self) -> std::sync::MutexGuard<'_, Versions> {
        self.objects
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Stores a new version and returns the reference an S3 event would carry for it.
    pub fn put_version(&self, bucket: &str, key: &str, body: &[u8]) -> ObjectRef {
        let mut objects = self.lock();
        let versions = objects
            .entry((bucket.to_string(), key.to_string()))
            .or_default();
        versions.push(body.to_vec());
        ObjectRef {
            bucket: bucket.to_string(),
            key: key.to_string(),
            version_id: Some(format!("v{}", versions.len())),
            etag: None,
            size: body.len() as u64,
        }
    }

    /// The latest version of `key`.
    pub fn get(&self, bucket: &str, key: &str) -> Option<Vec<u8>> {
        self.lock()
            .get(&(bucket.to_string(), key.to_string()))
            .and_then(|v| v.last().cloned())
    }

    pub fn keys(&self) -> Vec<String> {
        self.lock().keys().map(|(_, k)| k.clone()).collect()
    }
}

/// Seven bytes per chunk: rows and fields straddle chunk boundaries.
const CHUNK: usize = 7;

impl ObjectStore for MemoryBucket {
    type Writer = MemoryWriter;

    async fn read(&self, object: &ObjectRef) -> Result<(u64, ByteChunks), BucketError> {
        let objects = self.lock();
        let versions = objects
            .get(&(object.bucket.clone(), object.key.clone()))
            .ok_or_else(|| BucketError::Permanent(format!("NoSuchKey: {}", object.key)))?;
        let body = match &object.version_id {
            Some(v) => v
                .strip_prefix('v')
                .and_then(|n| n.parse::<usize>().ok())
                .and_then(|n| versions.get(n.wrapping_sub(1)))
                .ok_or_else(|| BucketError::Permanent(format!("NoSuchVersion: {v}")))?,
            None => versions.last().expect("a stored key has a version"),
        };
        let chunks: Vec<Result<Bytes, BucketError>> = body
            .chunks(CHUNK)
            .map(|c| Ok(Bytes::copy_from_slice(c)))
            .collect();
        Ok((body.len() as u64, Box::pin(futures::stream::iter(chunks))))
    }

    async fn put(
        &self,
        bucket: &str,
        key: &str,
        body: Vec<u8>,
        _content_type: &str,
    ) -> Result<(), BucketError> {
        self.put_version(bucket, key, &body);
        Ok(())
    }

    async fn writer(
        &self,
        bucket: &str,
        key: &str,
        _content_type: &str,
    ) -> Result<MemoryWriter, BucketError> {
        Ok(MemoryWriter {
            bucket: self.clone(),
            target: (bucket.to_string(), key.to_string()),
            body: Vec::new(),
        })
    }
}

pub struct MemoryWriter {
    bucket: MemoryBucket,
    target: (String, String),
    body: Vec<u8>,
}

impl ObjectWriter for MemoryWriter {
    async fn write(&mut self, bytes: &[u8]) -> Result<(), BucketError> {
        self.body.extend_from_slice(bytes);
        Ok(())
    }

    async fn finish(self) -> Result<u64, BucketError> {
        let size = self.body.len() as u64;
        self.bucket
            .put_version(&self.target.0, &self.target.1, &self.body);
        Ok(size)
    }
}

//! The S3 adapter of [`ObjectStore`]: reads stream, large writes go through multipart
//! upload, so no file is ever held whole.

use aws_sdk_s3::Client;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};

use super::{BucketError, ByteChunks, ObjectRef, ObjectStore, ObjectWriter};

fn s3_error<E: std::fmt::Debug + aws_sdk_s3::error::ProvideErrorMetadata, R: std::fmt::Debug>(
    e: aws_sdk_s3::error::SdkError<E, R>,
) -> BucketError {
    use aws_sdk_s3::error::SdkError;
    match &e {
        SdkError::ServiceError(service) => {
            let code = service.err().code().unwrap_or("Unknown").to_string();
            let text = format!("{code}: {}", service.err().message().unwrap_or(""));
            match code.as_str() {
                "SlowDown" | "InternalError" | "ServiceUnavailable" | "RequestTimeout" => {
                    BucketError::Transient(text)
                }
                _ => BucketError::Permanent(text),
            }
        }
        SdkError::ConstructionFailure(_) => BucketError::Permanent(format!("{e:?}")),
        _ => BucketError::Transient(e.to_string()),
    }
}

#[derive(Debug, Clone)]
pub struct S3Objects {
    client: Client,
}

impl S3Objects {
    pub fn new(client: Client) -> Self {
        Self { client }
    }

    /// Built once per cold start; `endpoint` (path-style) is for the local S3 emulator.
    /// Timeouts: 3 s to connect, 60 s per attempt (a multipart part of a large feed at a
    /// slow moment) and 180 s per operation with retries, all inside the uploader's 15
    /// minutes; a stalled connection is dropped and retried rather than waited on.
    pub async fn client(endpoint: Option<&str>) -> Client {
        let timeouts = aws_config::timeout::TimeoutConfig::builder()
            .connect_timeout(std::time::Duration::from_secs(3))
            .operation_attempt_timeout(std::time::Duration::from_secs(60))
            .operation_timeout(std::time::Duration::from_secs(180))
            .build();
        let mut loader =
            aws_config::defaults(aws_config::BehaviorVersion::latest()).timeout_config(timeouts);
        if let Some(endpoint) = endpoint {
            loader = loader.endpoint_url(endpoint);
        }
        let shared = loader.load().await;
        let config = aws_sdk_s3::config::Builder::from(&shared)
            .force_path_style(endpoint.is_some())
            .build();
        Client::from_conf(config)
    }
}

impl ObjectStore for S3Objects {
    type Writer = MultipartWriter;

    async fn read(&self, object: &ObjectRef) -> Result<(u64, ByteChunks), BucketError> {
        let output = self
            .client
            .get_object()
            .bucket(&object.bucket)
            .key(&object.key)
            .set_version_id(object.version_id.clone())
            .send()
            .await
            .map_err(s3_error)?;
        let length = output.content_length().unwrap_or(0).max(0) as u64;
        let body: ByteStream = output.body;
        let chunks = futures::stream::unfold(body, |mut body| async move {
            body.next().await.map(|chunk| {
                (
                    chunk.map_err(|e| BucketError::Transient(format!("reading from S3: {e}"))),
                    body,
                )
            })
        });
        Ok((length, Box::pin(chunks)))
    }

    async fn put(
        &self,
        bucket: &str,
        key: &str,
        body: Vec<u8>,
        content_type: &str,
    ) -> Result<(), BucketError> {
        self.client
            .put_object()
            .bucket(bucket)
            .key(key)
            .content_type(content_type)
            .body(ByteStream::from(body))
            .send()
            .await
            .map_err(s3_error)?;
        Ok(())
    }

    async fn writer(
        &self,
        bucket: &str,
        key: &str,
        content_type: &str,
    ) -> Result<MultipartWriter, BucketError> {
        let created = self
            .client
            .create_multipart_upload()
            .bucket(bucket)
            .key(key)
            .content_type(content_type)
            .send()
            .await
            .map_err(s3_error)?;
        let upload_id = created
            .upload_id()
            .ok_or_else(|| BucketError::Permanent("S3 returned no upload id".into()))?
            .to_string();
        Ok(MultipartWriter {
            client: self.client.clone(),
            bucket: bucket.to_string(),
            key: key.to_string(),
            upload_id,
            buffer: Vec::with_capacity(PART_SIZE),
            parts: Vec::new(),
            written: 0,
        })
    }
}

/// Every part but the last: above S3's 5 MiB minimum, and small enough that a 5 GB object
/// (S3's single-PUT limit, above the v2 feed's 4 GB) is 640 parts, well under its 10,000.
pub const PART_SIZE: usize = 8 * 1024 * 1024;

/// Buffers at most one part (8 MiB) before sending it.
pub struct MultipartWriter {
    client: Client,
    bucket: String,
    key: String,
    upload_id: String,
    buffer: Vec<u8>,
    parts: Vec<CompletedPart>,
    written: u64,
}

impl ObjectWriter for MultipartWriter {
    async fn write(&mut self, bytes: &[u8]) -> Result<(), BucketError> {
        self.buffer.extend_from_slice(bytes);
        self.written += bytes.len() as u64;
        if self.buffer.len() >= PART_SIZE {
            self.flush_part().await?;
        }
        Ok(())
    }

    async fn finish(self) -> Result<u64, BucketError> {
        self.complete().await.map(|completed| completed.size)
    }
}

/// What a completed multipart upload stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompletedObject {
    pub size: u64,
    /// The object's version, when the bucket is versioned.
    pub version_id: Option<String>,
}

impl MultipartWriter {
    /// Sends the last part and completes the object.
    pub async fn complete(mut self) -> Result<CompletedObject, BucketError> {
        if !self.buffer.is_empty() || self.parts.is_empty() {
            self.flush_part().await?;
        }
        let output = self
            .client
            .complete_multipart_upload()
            .bucket(&self.bucket)
            .key(&self.key)
            .upload_id(&self.upload_id)
            .multipart_upload(
                CompletedMultipartUpload::builder()
                    .set_parts(Some(self.parts.clone()))
                    .build(),
            )
            .send()
            .await
            .map_err(s3_error)?;
        Ok(CompletedObject {
            size: self.written,
            version_id: output.version_id().map(str::to_string),
        })
    }

    pub fn bytes_written(&self) -> u64 {
        self.written
    }

    /// What S3 has acknowledged: every byte written but the part still being filled.
    pub fn bytes_sent(&self) -> u64 {
        self.written - self.buffer.len() as u64
    }

    async fn flush_part(&mut self) -> Result<(), BucketError> {
        let number = self.parts.len() as i32 + 1;
        let body = std::mem::replace(&mut self.buffer, Vec::with_capacity(PART_SIZE));
        let output = self
            .client
            .upload_part()
            .bucket(&self.bucket)
            .key(&self.key)
            .upload_id(&self.upload_id)
            .part_number(number)
            .body(ByteStream::from(body))
            .send()
            .await
            .map_err(s3_error)?;
        self.parts.push(
            CompletedPart::builder()
                .part_number(number)
                .set_e_tag(output.e_tag().map(str::to_string))
                .build(),
        );
        Ok(())
    }

    /// Abandons the upload so no parts linger (and cost) in the bucket.
    pub async fn abort(self) {
        let _ = self
            .client
            .abort_multipart_upload()
            .bucket(&self.bucket)
            .key(&self.key)
            .upload_id(&self.upload_id)
            .send()
            .await;
    }
}

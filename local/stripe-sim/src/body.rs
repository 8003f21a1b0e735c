//! Reading large request bodies (file uploads) chunk by chunk into one buffer.
//!
//! The buffer is sized from `Content-Length` when the client sends one and otherwise grows
//! by doubling, so a body is copied once from the socket's chunks, never quadratically.
//! A body over the limit is drained (up to a bound) without being kept, so the client gets
//! the error response rather than a reset connection while it is still sending.

use axum::body::{Body, Bytes, HttpBody};
use std::pin::Pin;

/// How much of an oversized body is read and discarded before giving up on it.
const DRAIN_LIMIT: u64 = 64 << 20;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReadError {
    /// More than the limit arrived; `seen` is how many bytes were read before stopping.
    #[error("the body is larger than the limit ({seen} bytes read)")]
    TooLarge { seen: u64 },
    /// The client went away or sent a malformed body.
    #[error("{0}")]
    Broken(String),
}

/// Reads the whole body, or fails once it grows past `limit` bytes.
pub async fn read_limited(
    mut body: Body,
    limit: u64,
    content_length: Option<u64>,
) -> Result<Bytes, ReadError> {
    if let Some(length) = content_length {
        if length > limit {
            return Err(drain(body, 0).await);
        }
    }
    let reserve = content_length.unwrap_or(0).min(limit);
    let mut buffer: Vec<u8> = Vec::with_capacity(usize::try_from(reserve).unwrap_or(0));
    loop {
        let frame = std::future::poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await;
        match frame {
            None => break,
            Some(Err(e)) => return Err(ReadError::Broken(e.to_string())),
            Some(Ok(frame)) => {
                let Ok(data) = frame.into_data() else {
                    continue; // trailers
                };
                let total = buffer.len() as u64 + data.len() as u64;
                if total > limit {
                    return Err(drain(body, total).await);
                }
                buffer.extend_from_slice(&data);
            }
        }
    }
    Ok(Bytes::from(buffer))
}

async fn drain(mut body: Body, mut seen: u64) -> ReadError {
    let mut discarded = 0u64;
    while discarded < DRAIN_LIMIT {
        match std::future::poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await {
            Some(Ok(frame)) => {
                if let Ok(data) = frame.into_data() {
                    seen += data.len() as u64;
                    discarded += data.len() as u64;
                }
            }
            _ => break,
        }
    }
    ReadError::TooLarge { seen }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn reads_and_limits() {
        let ok = read_limited(Body::from(vec![7u8; 10]), 10, None).await;
        assert_eq!(ok.map(|b| b.len()), Ok(10));
        let big = read_limited(Body::from(vec![7u8; 11]), 10, None).await;
        assert_eq!(big, Err(ReadError::TooLarge { seen: 11 }));
        let declared = read_limited(Body::from(vec![7u8; 5]), 10, Some(20)).await;
        assert!(matches!(declared, Err(ReadError::TooLarge { .. })));
    }
}

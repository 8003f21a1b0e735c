//! What an `Idempotency-Key` remembers: the first request's fingerprint and the response
//! to replay.

use super::Scope;
use serde_json::Value;
use std::time::Instant;

#[derive(Debug, Clone, Hash, PartialEq, Eq)]
pub struct IdemKey {
    pub api_key: String,
    pub scope: Scope,
    pub key: String,
}

/// What makes two requests "the same": endpoint and decoded parameters (so parameter order
/// in the body does not matter, but values do).
#[derive(Debug, Clone, PartialEq)]
pub struct Fingerprint {
    pub method: String,
    pub path: String,
    pub params: Value,
}

#[derive(Debug, Clone)]
pub struct StoredResponse {
    pub status: u16,
    pub body: Vec<u8>,
    pub request_id: String,
    pub headers: Vec<(String, String)>,
}

pub enum IdemEntry {
    InFlight,
    Done {
        fingerprint: Fingerprint,
        response: StoredResponse,
        at: Instant,
    },
}

//! Idempotency claims in memory: the in-progress mark expires, completed answers replay,
//! a different payload hash is a mismatch, as with the DynamoDB adapter.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::store::{Claim, IdempotencyStore, StoreError};

#[derive(Debug, Clone)]
struct IdempotencyRecord {
    completed: Option<String>,
    payload_hash: Option<String>,
    in_progress_until: i64,
    expires_at: i64,
}

#[derive(Debug)]
pub struct MemoryIdempotency {
    records: Mutex<HashMap<String, IdempotencyRecord>>,
    ttl_millis: i64,
    in_progress_millis: i64,
}

impl MemoryIdempotency {
    pub fn new(ttl_seconds: i64, in_progress_seconds: i64) -> Self {
        Self {
            records: Mutex::default(),
            ttl_millis: ttl_seconds * 1000,
            in_progress_millis: in_progress_seconds * 1000,
        }
    }
}

impl IdempotencyStore for MemoryIdempotency {
    async fn claim(
        &self,
        key: &str,
        payload_hash: Option<&str>,
        now: i64,
    ) -> Result<Claim, StoreError> {
        let mut records = super::lock(&self.records);
        if let Some(record) = records.get(key).filter(|r| r.expires_at > now) {
            if record.payload_hash.as_deref() != payload_hash && payload_hash.is_some() {
                return Ok(Claim::PayloadMismatch);
            }
            if let Some(response) = &record.completed {
                return Ok(Claim::Completed(response.clone()));
            }
            if record.in_progress_until > now {
                return Ok(Claim::InProgress);
            }
        }
        records.insert(
            key.to_string(),
            IdempotencyRecord {
                completed: None,
                payload_hash: payload_hash.map(str::to_string),
                in_progress_until: now + self.in_progress_millis,
                expires_at: now + self.ttl_millis,
            },
        );
        Ok(Claim::Acquired)
    }

    async fn complete(&self, key: &str, response: &str, now: i64) -> Result<(), StoreError> {
        let mut records = super::lock(&self.records);
        let record = records.entry(key.to_string()).or_insert(IdempotencyRecord {
            completed: None,
            payload_hash: None,
            in_progress_until: 0,
            expires_at: 0,
        });
        record.completed = Some(response.to_string());
        record.expires_at = now + self.ttl_millis;
        Ok(())
    }

    async fn release(&self, key: &str) -> Result<(), StoreError> {
        let mut records = super::lock(&self.records);
        if records.get(key).is_some_and(|r| r.completed.is_none()) {
            records.remove(key);
        }
        Ok(())
    }
}

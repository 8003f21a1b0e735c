//! In-memory fakes of the store traits, with the same conditional semantics as DynamoDB, for
//! unit tests of the domain logic.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use super::{Applied, Claim, IdempotencyStore, OrderStore, StoreError};
use crate::orders::{DisputeFact, Order, PaymentFact, RefundFact};

#[derive(Debug, Default)]
pub struct MemoryOrders {
    orders: Mutex<BTreeMap<(String, String), Order>>,
}

impl MemoryOrders {
    pub fn snapshot(&self) -> Vec<Order> {
        self.lock().values().cloned().collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<(String, String), Order>> {
        self.orders
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn update(
        &self,
        account: &str,
        session: &str,
        apply: impl FnOnce(&mut Order) -> bool,
    ) -> Applied {
        match self
            .lock()
            .get_mut(&(account.to_string(), session.to_string()))
        {
            None => Applied::Missing,
            Some(order) => {
                if apply(order) {
                    Applied::Updated
                } else {
                    Applied::Stale
                }
            }
        }
    }
}

impl OrderStore for MemoryOrders {
    async fn insert_if_absent(&self, order: &Order) -> Result<bool, StoreError> {
        let key = (order.account_id.clone(), order.checkout_session_id.clone());
        let mut orders = self.lock();
        if orders.contains_key(&key) {
            return Ok(false);
        }
        orders.insert(key, order.clone());
        Ok(true)
    }

    async fn get(
        &self,
        account_id: &str,
        checkout_session_id: &str,
    ) -> Result<Option<Order>, StoreError> {
        Ok(self
            .lock()
            .get(&(account_id.into(), checkout_session_id.into()))
            .cloned())
    }

    async fn find_by_payment_intent(
        &self,
        account_id: &str,
        payment_intent_id: &str,
    ) -> Result<Option<String>, StoreError> {
        Ok(self
            .lock()
            .values()
            .find(|o| {
                o.account_id == account_id
                    && o.payment_intent_id.as_deref() == Some(payment_intent_id)
            })
            .map(|o| o.checkout_session_id.clone()))
    }

    async fn list(&self, account_id: &str, limit: usize) -> Result<Vec<Order>, StoreError> {
        Ok(self
            .lock()
            .values()
            .filter(|o| o.account_id == account_id)
            .take(limit)
            .cloned()
            .collect())
    }

    async fn apply_payment(
        &self,
        account_id: &str,
        session: &str,
        fact: &PaymentFact,
    ) -> Result<Applied, StoreError> {
        Ok(self.update(account_id, session, |order| {
            fact.supersedes(&order.payment) && {
                order.payment = fact.clone();
                true
            }
        }))
    }

    async fn apply_refund(
        &self,
        account_id: &str,
        session: &str,
        fact: &RefundFact,
    ) -> Result<Applied, StoreError> {
        Ok(self.update(account_id, session, |order| {
            fact.supersedes(&order.refund) && {
                order.refund = fact.clone();
                true
            }
        }))
    }

    async fn apply_dispute(
        &self,
        account_id: &str,
        session: &str,
        fact: &DisputeFact,
    ) -> Result<Applied, StoreError> {
        Ok(self.update(account_id, session, |order| {
            let newer = order
                .disputes
                .get(&fact.dispute_id)
                .is_none_or(|stored| fact.supersedes(stored));
            newer && {
                order.disputes.insert(fact.dispute_id.clone(), fact.clone());
                true
            }
        }))
    }
}

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

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, IdempotencyRecord>> {
        self.records
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl IdempotencyStore for MemoryIdempotency {
    async fn claim(
        &self,
        key: &str,
        payload_hash: Option<&str>,
        now: i64,
    ) -> Result<Claim, StoreError> {
        let mut records = self.lock();
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
        let mut records = self.lock();
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
        let mut records = self.lock();
        if records.get(key).is_some_and(|r| r.completed.is_none()) {
            records.remove(key);
        }
        Ok(())
    }
}

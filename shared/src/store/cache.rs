//! A short-lived cache of merchant settings: the hooks read them on every call and must
//! answer within Stripe's deadline, while settings change rarely.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::{MerchantDirectory, StoreError};
use crate::merchants::Merchant;

pub struct CachedMerchants<M> {
    inner: M,
    ttl: Duration,
    entries: Mutex<HashMap<String, (Instant, Option<Merchant>)>>,
}

impl<M> CachedMerchants<M> {
    pub fn new(inner: M, ttl: Duration) -> Self {
        Self {
            inner,
            ttl,
            entries: Mutex::new(HashMap::new()),
        }
    }
}

impl<M: MerchantDirectory> MerchantDirectory for CachedMerchants<M> {
    async fn merchant(&self, account_id: &str) -> Result<Option<Merchant>, StoreError> {
        let cached = self.entries.lock().ok().and_then(|entries| {
            entries
                .get(account_id)
                .filter(|(at, _)| at.elapsed() < self.ttl)
                .map(|(_, m)| m.clone())
        });
        if let Some(merchant) = cached {
            return Ok(merchant);
        }
        let merchant = self.inner.merchant(account_id).await?;
        if let Ok(mut entries) = self.entries.lock() {
            // Bounded: a flood of unknown accounts cannot grow it without limit.
            if entries.len() >= 10_000 {
                entries.clear();
            }
            entries.insert(account_id.to_string(), (Instant::now(), merchant.clone()));
        }
        Ok(merchant)
    }
}

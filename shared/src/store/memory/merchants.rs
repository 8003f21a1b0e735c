//! Merchants in memory.

use std::collections::BTreeMap;
use std::sync::Mutex;

use super::lock;
use crate::merchants::Merchant;
use crate::store::page::{MERCHANTS, Position, page_of};
use crate::store::{
    MerchantAdmin, MerchantDirectory, MerchantPages, Page, PageRequest, StoreError,
};

#[derive(Debug, Default)]
pub struct MemoryMerchants {
    merchants: Mutex<BTreeMap<String, Merchant>>,
}

impl MemoryMerchants {
    pub fn with(merchants: impl IntoIterator<Item = Merchant>) -> Self {
        Self {
            merchants: Mutex::new(
                merchants
                    .into_iter()
                    .map(|m| (m.account_id.clone(), m))
                    .collect(),
            ),
        }
    }
}

impl MerchantDirectory for MemoryMerchants {
    async fn merchant(&self, account_id: &str) -> Result<Option<Merchant>, StoreError> {
        Ok(lock(&self.merchants).get(account_id).cloned())
    }
}

impl MerchantAdmin for MemoryMerchants {
    async fn put_merchant(&self, merchant: &Merchant) -> Result<(), StoreError> {
        lock(&self.merchants).insert(merchant.account_id.clone(), merchant.clone());
        Ok(())
    }
}

impl MerchantPages for MemoryMerchants {
    async fn merchant_page(&self, request: &PageRequest) -> Result<Page<Merchant>, StoreError> {
        let merchants = lock(&self.merchants);
        let ordered = merchants.iter().map(|(account, merchant)| {
            let position = Position {
                partition: account.clone(),
                sort: None,
            };
            (position, merchant.clone())
        });
        page_of(ordered, &MERCHANTS, request, None, |p, after| p > after)
    }
}

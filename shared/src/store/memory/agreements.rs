//! Agreements in memory: a put lands only when its progress is further than the stored
//! one's, as the DynamoDB adapter's conditional put.

use std::collections::BTreeMap;
use std::sync::Mutex;

use super::lock;
use crate::agreements::Agreement;
use crate::store::page::{AGREEMENTS, Position, page_of};
use crate::store::{AgreementPages, AgreementStore, Applied, Page, PageRequest, StoreError};

#[derive(Debug, Default)]
pub struct MemoryAgreements {
    agreements: Mutex<BTreeMap<(String, String), Agreement>>,
}

impl AgreementStore for MemoryAgreements {
    async fn put_if_newer(&self, agreement: &Agreement) -> Result<Applied, StoreError> {
        let mut agreements = lock(&self.agreements);
        let key = (agreement.account_id.clone(), agreement.agreement_id.clone());
        if agreements
            .get(&key)
            .is_some_and(|stored| stored.progress >= agreement.progress)
        {
            return Ok(Applied::Stale);
        }
        agreements.insert(key, agreement.clone());
        Ok(Applied::Updated)
    }

    async fn agreement(
        &self,
        account_id: &str,
        agreement_id: &str,
    ) -> Result<Option<Agreement>, StoreError> {
        Ok(lock(&self.agreements)
            .get(&(account_id.to_string(), agreement_id.to_string()))
            .cloned())
    }

    async fn agreements(&self, account_id: &str) -> Result<Vec<Agreement>, StoreError> {
        Ok(lock(&self.agreements)
            .values()
            .filter(|a| a.account_id == account_id)
            .cloned()
            .collect())
    }
}

impl AgreementPages for MemoryAgreements {
    async fn agreement_page(
        &self,
        account_id: &str,
        request: &PageRequest,
    ) -> Result<Page<Agreement>, StoreError> {
        let agreements = lock(&self.agreements);
        let ordered = agreements
            .iter()
            .filter(|((account, _), _)| account == account_id)
            .map(|((account, id), agreement)| {
                let position = Position {
                    partition: account.clone(),
                    sort: Some(id.clone()),
                };
                (position, agreement.clone())
            });
        page_of(
            ordered,
            &AGREEMENTS,
            request,
            Some(account_id),
            |p, after| p > after,
        )
    }
}

//! Agreements on DynamoDB: a conditional put keeps only forward progress.

use aws_sdk_dynamodb::Client;

use super::page::{SortOrder, account_page};
use super::{classify, decode, n, s, written};
use crate::agreements::Agreement;
use crate::store::attr::to_item;
use crate::store::page::AGREEMENTS;
use crate::store::{AgreementPages, AgreementStore, Applied, Page, PageRequest, StoreError};

#[derive(Debug, Clone)]
pub struct DynamoAgreements {
    client: Client,
    table: String,
}

impl DynamoAgreements {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }
}

impl AgreementStore for DynamoAgreements {
    async fn put_if_newer(&self, agreement: &Agreement) -> Result<Applied, StoreError> {
        let json =
            serde_json::to_value(agreement).map_err(|e| StoreError::Permanent(e.to_string()))?;
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(to_item(&json)?))
            .condition_expression("attribute_not_exists(account_id) OR progress < :progress")
            .expression_attribute_values(":progress", n(agreement.progress))
            .send()
            .await;
        Ok(if written(result)? {
            Applied::Updated
        } else {
            Applied::Stale
        })
    }

    async fn agreement(
        &self,
        account_id: &str,
        agreement_id: &str,
    ) -> Result<Option<Agreement>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("account_id", s(account_id))
            .key("agreement_id", s(agreement_id))
            .consistent_read(true)
            .send()
            .await
            .map_err(classify)?;
        output.item().map(decode).transpose()
    }

    async fn agreements(&self, account_id: &str) -> Result<Vec<Agreement>, StoreError> {
        let output = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("account_id = :a")
            .expression_attribute_values(":a", s(account_id))
            .send()
            .await
            .map_err(classify)?;
        output.items().iter().map(decode).collect()
    }
}

impl AgreementPages for DynamoAgreements {
    async fn agreement_page(
        &self,
        account_id: &str,
        request: &PageRequest,
    ) -> Result<Page<Agreement>, StoreError> {
        account_page(
            &self.client,
            &self.table,
            &AGREEMENTS,
            account_id,
            request,
            SortOrder::KeyOrder,
        )
        .await
    }
}

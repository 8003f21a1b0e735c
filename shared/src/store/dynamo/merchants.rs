//! Merchants on DynamoDB: one item per connected account.

use aws_sdk_dynamodb::Client;

use super::{classify, decode, s};
use crate::merchants::Merchant;
use crate::store::attr::to_item;
use crate::store::{MerchantAdmin, MerchantDirectory, StoreError};

#[derive(Debug, Clone)]
pub struct DynamoMerchants {
    client: Client,
    table: String,
}

impl DynamoMerchants {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }
}

impl MerchantDirectory for DynamoMerchants {
    async fn merchant(&self, account_id: &str) -> Result<Option<Merchant>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("account_id", s(account_id))
            .send()
            .await
            .map_err(classify)?;
        output.item().map(decode).transpose()
    }
}

impl MerchantAdmin for DynamoMerchants {
    async fn put_merchant(&self, merchant: &Merchant) -> Result<(), StoreError> {
        let json =
            serde_json::to_value(merchant).map_err(|e| StoreError::Permanent(e.to_string()))?;
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(to_item(&json)?))
            .send()
            .await
            .map_err(classify)?;
        Ok(())
    }

    async fn list_merchants(&self, limit: usize) -> Result<Vec<Merchant>, StoreError> {
        let mut merchants = Vec::new();
        let mut start = None;
        loop {
            let output = self
                .client
                .scan()
                .table_name(&self.table)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(classify)?;
            for item in output.items() {
                merchants.push(decode(item)?);
            }
            start = output.last_evaluated_key().cloned();
            if start.is_none() || merchants.len() >= limit {
                break;
            }
        }
        merchants.truncate(limit);
        Ok(merchants)
    }
}

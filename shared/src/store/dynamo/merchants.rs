//! Merchants on DynamoDB: one item per connected account.

use aws_sdk_dynamodb::Client;

use super::page::table_page;
use super::{classify, decode, s};
use crate::merchants::Merchant;
use crate::store::attr::to_item;
use crate::store::page::MERCHANTS;
use crate::store::{
    MerchantAdmin, MerchantDirectory, MerchantPages, Page, PageRequest, StoreError,
};

/// The attribute the order reconciler keeps on a merchant's item (`dynamo::reconcile`).
const KEPT_BY_OTHERS: &str = "reconcile";

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
    /// Replaces the merchant's settings, keeping what other writers keep on the same item:
    /// the order reconciler's progress (`reconcile`), so re-registering a merchant does
    /// not make it scan three days again.
    async fn put_merchant(&self, merchant: &Merchant) -> Result<(), StoreError> {
        let json =
            serde_json::to_value(merchant).map_err(|e| StoreError::Permanent(e.to_string()))?;
        let mut item = to_item(&json)?;
        let existing = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("account_id", s(&merchant.account_id))
            .projection_expression("#r")
            .expression_attribute_names("#r", KEPT_BY_OTHERS)
            .consistent_read(true)
            .send()
            .await
            .map_err(classify)?;
        if let Some(kept) = existing.item().and_then(|i| i.get(KEPT_BY_OTHERS)) {
            item.insert(KEPT_BY_OTHERS.to_string(), kept.clone());
        }
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(classify)?;
        Ok(())
    }
}

impl MerchantPages for DynamoMerchants {
    async fn merchant_page(&self, request: &PageRequest) -> Result<Page<Merchant>, StoreError> {
        table_page(&self.client, &self.table, &MERCHANTS, request).await
    }
}

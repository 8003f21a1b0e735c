//! Dead letters on DynamoDB: one item per event (pk `account_id`, sk `event_id`), written
//! once; listing sorts by arrival.

use aws_sdk_dynamodb::Client;

use super::page::{SortOrder, account_page, table_page};
use super::{classify, decode, s, written};
use crate::dead_letters::DeadLetter;
use crate::store::attr::to_item;
use crate::store::page::DEAD_LETTERS;
use crate::store::{DeadLetterPages, DeadLetterStore, Page, PageRequest, StoreError};

#[derive(Debug, Clone)]
pub struct DynamoDeadLetters {
    client: Client,
    table: String,
}

impl DynamoDeadLetters {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }
}

impl DeadLetterStore for DynamoDeadLetters {
    async fn keep(&self, letter: &DeadLetter) -> Result<(), StoreError> {
        let json =
            serde_json::to_value(letter).map_err(|e| StoreError::Permanent(e.to_string()))?;
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(to_item(&json)?))
            .condition_expression("attribute_not_exists(event_id)")
            .send()
            .await;
        // Kept before (a redelivery): nothing to add.
        written(result).map(|_| ())
    }

    async fn dead_letters(
        &self,
        account_id: Option<&str>,
        limit: usize,
    ) -> Result<Vec<DeadLetter>, StoreError> {
        let mut letters: Vec<DeadLetter> = Vec::new();
        let mut start = None;
        loop {
            let items = match account_id {
                Some(account) => {
                    let output = self
                        .client
                        .query()
                        .table_name(&self.table)
                        .key_condition_expression("account_id = :a")
                        .expression_attribute_values(":a", s(account))
                        .set_exclusive_start_key(start)
                        .send()
                        .await
                        .map_err(classify)?;
                    start = output.last_evaluated_key().cloned();
                    output.items().to_vec()
                }
                None => {
                    let output = self
                        .client
                        .scan()
                        .table_name(&self.table)
                        .set_exclusive_start_key(start)
                        .send()
                        .await
                        .map_err(classify)?;
                    start = output.last_evaluated_key().cloned();
                    output.items().to_vec()
                }
            };
            for item in &items {
                letters.push(decode(item)?);
            }
            if start.is_none() {
                break;
            }
        }
        letters.sort_by_key(|l| std::cmp::Reverse(l.received_at));
        letters.truncate(limit);
        Ok(letters)
    }
}

impl DeadLetterPages for DynamoDeadLetters {
    async fn dead_letter_page(
        &self,
        account_id: Option<&str>,
        request: &PageRequest,
    ) -> Result<Page<DeadLetter>, StoreError> {
        if let Some(account) = account_id {
            return account_page(
                &self.client,
                &self.table,
                &DEAD_LETTERS,
                account,
                request,
                SortOrder::KeyOrder,
            )
            .await;
        }
        table_page(&self.client, &self.table, &DEAD_LETTERS, request).await
    }
}

//! Orders in memory: insert-if-absent and forward-only state, as the DynamoDB adapter's
//! conditional writes do.

use std::collections::BTreeMap;
use std::sync::Mutex;

use crate::orders::{DisputeFact, Order, PaymentFact, RefundFact};
use crate::store::page::{ORDERS, Position, page_of};
use crate::store::{Applied, OrderPages, OrderStore, Page, PageRequest, StoreError};

#[derive(Debug, Default)]
pub struct MemoryOrders {
    orders: Mutex<BTreeMap<(String, String), Order>>,
}

impl MemoryOrders {
    pub fn all(&self) -> Vec<Order> {
        super::lock(&self.orders).values().cloned().collect()
    }

    fn update(
        &self,
        account: &str,
        session: &str,
        apply: impl FnOnce(&mut Order) -> bool,
    ) -> Applied {
        match super::lock(&self.orders).get_mut(&(account.to_string(), session.to_string())) {
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

impl OrderPages for MemoryOrders {
    async fn order_page(
        &self,
        account_id: &str,
        request: &PageRequest,
    ) -> Result<Page<Order>, StoreError> {
        let orders = super::lock(&self.orders);
        let ordered = orders
            .iter()
            .filter(|((account, _), _)| account == account_id)
            .map(|((account, session), order)| {
                let position = Position {
                    partition: account.clone(),
                    sort: Some(session.clone()),
                };
                (position, order.clone())
            });
        page_of(ordered, &ORDERS, request, Some(account_id), |p, after| {
            p > after
        })
    }
}

impl OrderStore for MemoryOrders {
    async fn insert_if_absent(&self, order: &Order) -> Result<bool, StoreError> {
        let key = (order.account_id.clone(), order.checkout_session_id.clone());
        let mut orders = super::lock(&self.orders);
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
        Ok(super::lock(&self.orders)
            .get(&(account_id.into(), checkout_session_id.into()))
            .cloned())
    }

    async fn find_by_payment_intent(
        &self,
        account_id: &str,
        payment_intent_id: &str,
    ) -> Result<Option<String>, StoreError> {
        Ok(super::lock(&self.orders)
            .values()
            .find(|o| {
                o.account_id == account_id
                    && o.payment_intent_id.as_deref() == Some(payment_intent_id)
            })
            .map(|o| o.checkout_session_id.clone()))
    }

    async fn list(&self, account_id: &str, limit: usize) -> Result<Vec<Order>, StoreError> {
        let page = self
            .order_page(account_id, &PageRequest::first(limit))
            .await?;
        Ok(page.items)
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

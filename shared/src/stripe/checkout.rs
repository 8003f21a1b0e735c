//! The checkout-session capability the order path needs from Stripe.

use std::future::Future;

use super::objects::CheckoutSession;
use super::{RequestOptions, StripeClient, StripeError};

/// The expansions of docs/stripe.md §6: one call returns every field of an order.
pub const ORDER_EXPANSIONS: [&str; 3] = [
    "line_items.data.price.product",
    "line_items.data.taxes",
    "payment_intent.latest_charge",
];

pub trait CheckoutSessionApi: Send + Sync {
    /// The session with [`ORDER_EXPANSIONS`], read as the connected account `account`.
    fn retrieve_for_order(
        &self,
        account: &str,
        session_id: &str,
    ) -> impl Future<Output = Result<CheckoutSession, StripeError>> + Send;

    /// The id of the checkout session that created `payment_intent_id`, if any.
    fn find_by_payment_intent(
        &self,
        account: &str,
        payment_intent_id: &str,
    ) -> impl Future<Output = Result<Option<String>, StripeError>> + Send;
}

/// [`CheckoutSessionApi`] over the real client, with the orders' preview `Stripe-Version`.
#[derive(Debug, Clone)]
pub struct StripeCheckoutSessions {
    client: StripeClient,
    version: String,
}

impl StripeCheckoutSessions {
    pub fn new(client: StripeClient, orders_api_version: impl Into<String>) -> Self {
        Self {
            client,
            version: orders_api_version.into(),
        }
    }
}

impl CheckoutSessionApi for StripeCheckoutSessions {
    async fn retrieve_for_order(
        &self,
        account: &str,
        session_id: &str,
    ) -> Result<CheckoutSession, StripeError> {
        let query: Vec<(&str, &str)> = ORDER_EXPANSIONS
            .iter()
            .map(|path| ("expand[]", *path))
            .collect();
        let options = RequestOptions::account(account).with_version(&self.version);
        let value = self
            .client
            .get(
                &format!(
                    "/v1/checkout/sessions/{}",
                    crate::encoding::path_segment(session_id)
                ),
                &query,
                &options,
            )
            .await?;
        serde_json::from_value(value).map_err(|e| StripeError::Decode {
            status: 200,
            message: format!("checkout session: {e}"),
            request_id: None,
        })
    }

    async fn find_by_payment_intent(
        &self,
        account: &str,
        payment_intent_id: &str,
    ) -> Result<Option<String>, StripeError> {
        let options = RequestOptions::account(account).with_version(&self.version);
        let value = self
            .client
            .get(
                "/v1/checkout/sessions",
                &[("payment_intent", payment_intent_id), ("limit", "1")],
                &options,
            )
            .await?;
        Ok(value
            .get("data")
            .and_then(|d| d.as_array())
            .and_then(|d| d.first())
            .and_then(|s| s.get("id"))
            .and_then(|id| id.as_str())
            .map(str::to_string))
    }
}

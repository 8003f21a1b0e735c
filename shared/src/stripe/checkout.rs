//! The checkout-session capability the order path needs from Stripe.

use std::future::Future;

use super::objects::{CheckoutSession, LineItem, List};
use super::{RequestOptions, StripeClient, StripeError};

/// The expansions of docs/stripe.md §6: one call returns every field of an order, and the
/// first page of its line items.
pub const ORDER_EXPANSIONS: [&str; 3] = [
    "line_items.data.price.product",
    "line_items.data.taxes",
    "payment_intent.latest_charge",
];

/// The same line-item fields when the rest of the lines are read page by page
/// (`GET /v1/checkout/sessions/{id}/line_items`, docs/stripe.md §6.3).
pub const LINE_ITEM_EXPANSIONS: [&str; 2] = ["data.price.product", "data.taxes"];

/// Stripe's largest page of a list.
const PAGE_SIZE: &str = "100";

/// A session of more lines than this is refused rather than read without end: a hundred
/// thousand lines is far beyond any checkout.
const MAX_PAGES: usize = 1_000;

pub trait CheckoutSessionApi: Send + Sync {
    /// The session with [`ORDER_EXPANSIONS`] and **every** line item (an expanded list
    /// holds only its first page), read as the connected account `account`.
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

/// A checkout session as a list shows it: what reconciliation needs to decide whether the
/// session is an order we lack.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct ListedSession {
    pub id: String,
    /// Unix seconds.
    pub created: i64,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub livemode: bool,
}

/// One page of a list, newest first (Stripe lists in reverse chronological order).
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct SessionPage {
    pub data: Vec<ListedSession>,
    #[serde(default)]
    pub has_more: bool,
}

/// Listing an account's completed checkout sessions (the reconciliation's one question).
pub trait CheckoutSessionList: Send + Sync {
    /// `GET /v1/checkout/sessions?status=complete&created[gte]=…&limit=100[&starting_after=…]`
    /// as the connected account `account` (docs/stripe.md §6.6).
    fn list_completed(
        &self,
        account: &str,
        created_gte: i64,
        starting_after: Option<&str>,
    ) -> impl Future<Output = Result<SessionPage, StripeError>> + Send;
}

fn decode<T: serde::de::DeserializeOwned>(
    value: serde_json::Value,
    what: &str,
) -> Result<T, StripeError> {
    serde_json::from_value(value).map_err(|e| StripeError::Decode {
        status: 200,
        message: format!("{what}: {e}"),
        request_id: None,
    })
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

impl StripeCheckoutSessions {
    /// Appends the pages after the expanded first one, 100 lines at a time, until Stripe
    /// says there are no more.
    async fn read_remaining_lines(
        &self,
        url: &str,
        lines: &mut List<LineItem>,
        options: &RequestOptions,
    ) -> Result<(), StripeError> {
        for _ in 0..MAX_PAGES {
            if !lines.has_more {
                return Ok(());
            }
            let Some(last) = lines.data.last().map(|l| l.id.clone()) else {
                return Err(StripeError::Decode {
                    status: 200,
                    message: "line items: an empty page that says it has more".into(),
                    request_id: None,
                });
            };
            let mut query = vec![("limit", PAGE_SIZE), ("starting_after", last.as_str())];
            query.extend(LINE_ITEM_EXPANSIONS.iter().map(|path| ("expand[]", *path)));
            let value = self.client.get(url, &query, options).await?;
            let page: List<LineItem> = decode(value, "line items page")?;
            if page.data.is_empty() && page.has_more {
                return Err(StripeError::Decode {
                    status: 200,
                    message: "line items: an empty page that says it has more".into(),
                    request_id: None,
                });
            }
            lines.data.extend(page.data);
            lines.has_more = page.has_more;
        }
        Err(StripeError::Decode {
            status: 200,
            message: format!("line items: more than {MAX_PAGES} pages"),
            request_id: None,
        })
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
        let path = format!(
            "/v1/checkout/sessions/{}",
            crate::encoding::path_segment(session_id)
        );
        let value = self.client.get(&path, &query, &options).await?;
        let mut session: CheckoutSession = decode(value, "checkout session")?;
        if let Some(lines) = session.line_items.as_mut() {
            self.read_remaining_lines(&format!("{path}/line_items"), lines, &options)
                .await?;
        }
        Ok(session)
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

impl CheckoutSessionList for StripeCheckoutSessions {
    async fn list_completed(
        &self,
        account: &str,
        created_gte: i64,
        starting_after: Option<&str>,
    ) -> Result<SessionPage, StripeError> {
        let options = RequestOptions::account(account).with_version(&self.version);
        let created = created_gte.to_string();
        let mut query = vec![
            ("status", "complete"),
            ("created[gte]", created.as_str()),
            ("limit", PAGE_SIZE),
        ];
        if let Some(after) = starting_after {
            query.push(("starting_after", after));
        }
        let value = self
            .client
            .get("/v1/checkout/sessions", &query, &options)
            .await?;
        decode(value, "checkout sessions page")
    }
}

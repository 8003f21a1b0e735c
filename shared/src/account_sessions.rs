//! Account Sessions for the embedded agentic-commerce settings component: the platform's
//! front end asks, with its user's token, and gets a `client_secret` for the merchant that
//! token names. The account comes from a verified claim, never from the request body.

use std::collections::HashMap;
use std::future::Future;

use serde_json::{Value, json};

use crate::endpoint::HttpAnswer;
use crate::merchants::is_account_id;
use crate::store::MerchantDirectory;
use crate::stripe::{RequestOptions, StripeClient, StripeError};

pub trait AccountSessionApi: Send + Sync {
    fn create_account_session(
        &self,
        account: &str,
    ) -> impl Future<Output = Result<Value, StripeError>> + Send;
}

/// The platform acts as itself (the account is a parameter, no `Stripe-Account`), on the
/// configured version with the embedded components beta flag (docs/stripe.md §6.5,
/// `STRIPE_ACCOUNT_SESSIONS_API_VERSION` and `STRIPE_ACCOUNT_SESSIONS_BETA`).
impl AccountSessionApi for StripeClient {
    async fn create_account_session(&self, account: &str) -> Result<Value, StripeError> {
        let options =
            RequestOptions::default().with_version(&self.settings().account_sessions_api_version);
        self.post_form(
            "/v1/account_sessions",
            &[
                ("account", account),
                ("components[agentic_commerce_settings][enabled]", "true"),
            ],
            &options,
        )
        .await
    }
}

pub struct AccountSessions<M, A> {
    pub merchants: M,
    pub stripe: A,
    /// The JWT claim that carries the connected account id.
    pub account_claim: String,
}

impl<M: MerchantDirectory, A: AccountSessionApi> AccountSessions<M, A> {
    pub async fn create(&self, claims: &HashMap<String, String>) -> HttpAnswer {
        let Some(account) = claims.get(&self.account_claim).filter(|a| is_account_id(a)) else {
            return HttpAnswer::error(
                403,
                "forbidden",
                format!(
                    "the token has no connected account in its `{}` claim",
                    self.account_claim
                ),
            );
        };
        match self.merchants.merchant(account).await {
            Ok(Some(m)) if m.enabled => {}
            Ok(_) => {
                return HttpAnswer::error(
                    403,
                    "forbidden",
                    "the token's account is not a merchant of this platform",
                );
            }
            Err(e) => {
                tracing::error!(error = %e, "merchant store unavailable");
                return HttpAnswer::error(503, "store_unavailable", "try again shortly");
            }
        }
        match self.stripe.create_account_session(account).await {
            Ok(session) => HttpAnswer::ok(json!({
                "account": account,
                "client_secret": session.get("client_secret"),
                "expires_at": session.get("expires_at"),
            })),
            Err(e) => {
                tracing::error!(account = %account, error = %e, "account session failed");
                let status = if e.is_transient() { 503 } else { 502 };
                HttpAnswer::error(
                    status,
                    "stripe_error",
                    "Stripe did not create the account session",
                )
            }
        }
    }
}

//! Orchestrated-commerce agreements, read from Stripe's v2 API in the connected account's
//! context (docs/stripe.md §5).

use std::future::Future;

use serde_json::Value;

use super::{RequestOptions, StripeClient, StripeError};

const AGREEMENTS_PATH: &str = "/v2/orchestrated_commerce/agreements/";

pub trait AgreementsApi: Send + Sync {
    /// The agreement as Stripe shows it now, read in `context`.
    fn retrieve_agreement(
        &self,
        context: &str,
        agreement_id: &str,
    ) -> impl Future<Output = Result<Value, StripeError>> + Send;
}

#[derive(Debug, Clone)]
pub struct StripeAgreements {
    client: StripeClient,
    version: String,
}

impl StripeAgreements {
    pub fn new(client: StripeClient, version: impl Into<String>) -> Self {
        Self {
            client,
            version: version.into(),
        }
    }
}

impl AgreementsApi for StripeAgreements {
    async fn retrieve_agreement(
        &self,
        context: &str,
        agreement_id: &str,
    ) -> Result<Value, StripeError> {
        let options = RequestOptions {
            context: Some(context.to_string()),
            version: Some(self.version.clone()),
            ..RequestOptions::default()
        };
        let id = crate::encoding::path_segment(agreement_id);
        self.client
            .get(&format!("{AGREEMENTS_PATH}{id}"), &[], &options)
            .await
    }
}

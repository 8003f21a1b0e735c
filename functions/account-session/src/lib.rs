//! The `account-session` Lambda: `POST /account_sessions` behind the API's JWT authorizer.
//! The connected account comes from a claim of the verified token (ACCOUNT_CLAIM), which
//! API Gateway hands over in the request context: `lambda_http` exposes it.

use std::collections::HashMap;

use lambda_http::request::RequestContext;
use lambda_http::{Request, RequestExt};
use serde_json::Value;
use shared::account_sessions::AccountSessions;
use shared::config::{
    BuiltWithSecrets, ConfigError, DynamoSettings, Env, StripeSettings, stripe_secret_key,
};
use shared::endpoint::HttpAnswer;
use shared::store::cache::CachedMerchants;
use shared::store::dynamo::{self, DynamoMerchants};
use shared::stripe::{self as stripe, StripeClient, StripeError};

pub type App = AccountSessions<CachedMerchants<DynamoMerchants>, StripeClient>;

#[derive(Debug, thiserror::Error)]
pub enum InitError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("stripe client: {0}")]
    Stripe(#[from] StripeError),
}

pub struct Function {
    stripe: StripeSettings,
    merchants_table: String,
    account_claim: String,
    dynamo: aws_sdk_dynamodb::Client,
    http: reqwest::Client,
    app: BuiltWithSecrets<App>,
}

pub async fn init(env: Env) -> Result<Function, InitError> {
    let stripe = StripeSettings::from_env(&env)?;
    let merchants_table = env.required("MERCHANTS_TABLE")?;
    let account_claim = env
        .optional("ACCOUNT_CLAIM")
        .unwrap_or_else(|| "stripe_account".into());
    let dynamo = dynamo::client(&DynamoSettings::from_env(&env)?).await;
    let http = stripe::http_client(&stripe)?;
    tokio::join!(
        stripe::warm_up(&http, &stripe),
        dynamo::warm_up(&dynamo, &merchants_table)
    );
    let function = Function {
        app: BuiltWithSecrets::new(env),
        stripe,
        merchants_table,
        account_claim,
        dynamo,
        http,
    };
    if function.app.build_at_start() {
        function.app().await?;
    }
    Ok(function)
}

impl Function {
    pub async fn app(&self) -> Result<&App, InitError> {
        self.app
            .get(|env| async move {
                let key = stripe_secret_key(&env, self.stripe.livemode)?;
                Ok::<_, InitError>(AccountSessions {
                    merchants: CachedMerchants::new(
                        DynamoMerchants::new(self.dynamo.clone(), &self.merchants_table),
                        std::time::Duration::from_secs(30),
                    ),
                    stripe: StripeClient::new(self.http.clone(), &self.stripe, key),
                    account_claim: self.account_claim.clone(),
                })
            })
            .await
    }
}

/// Answers one HTTP request (a POST from the platform's front end, already authorized).
pub async fn handle(function: &Function, request: &Request) -> http::Response<String> {
    route(function, request).await.into_response()
}

async fn route(function: &Function, request: &Request) -> HttpAnswer {
    if request.method() != http::Method::POST {
        return HttpAnswer::error(405, "method_not_allowed", "use POST");
    }
    match function.app().await {
        Ok(app) => app.create(&verified_claims(request)).await,
        Err(error) => {
            tracing::error!(error = %error, "the function is not configured");
            HttpAnswer::error(
                500,
                "configuration_error",
                "the account-session endpoint is not configured yet",
            )
        }
    }
}

/// The claims of the token API Gateway's authorizer has verified; none when the request
/// did not come through one. The HTTP API's JWT authorizer puts them under
/// `authorizer.jwt.claims` (payload 2.0 and 1.0); a REST API's Cognito authorizer under
/// `authorizer.claims`. Values that are not strings are kept as their JSON text.
pub fn verified_claims(request: &Request) -> HashMap<String, String> {
    match request.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(context)) => context
            .authorizer
            .as_ref()
            .and_then(|a| a.jwt.as_ref())
            .map(|jwt| jwt.claims.clone())
            .unwrap_or_default(),
        Some(RequestContext::ApiGatewayV1(context)) => {
            let fields = &context.authorizer.fields;
            let claims = fields
                .get("claims")
                .or_else(|| fields.get("jwt").and_then(|jwt| jwt.get("claims")));
            claims
                .and_then(Value::as_object)
                .map(|claims| {
                    claims
                        .iter()
                        .map(|(name, value)| {
                            let text = match value {
                                Value::String(text) => text.clone(),
                                other => other.to_string(),
                            };
                            (name.clone(), text)
                        })
                        .collect()
                })
                .unwrap_or_default()
        }
        _ => HashMap::new(),
    }
}

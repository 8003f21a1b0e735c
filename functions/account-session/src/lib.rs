//! The `account-session` Lambda: `POST /account_sessions` behind the API's JWT authorizer.
//! The connected account comes from a claim of the verified token (ACCOUNT_CLAIM).

use aws_lambda_events::apigw::{ApiGatewayV2httpRequest, ApiGatewayV2httpResponse};
use shared::account_sessions::AccountSessions;
use shared::apigw;
use shared::config::{
    BuiltWithSecrets, ConfigError, DynamoSettings, Env, StripeSettings, stripe_secret_key,
};
use shared::store::cache::CachedMerchants;
use shared::store::dynamo::{self, DynamoMerchants};
use shared::stripe::{self as stripe, StripeClient, StripeError};
use shared::webhooks::HttpAnswer;

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

pub async fn handle(
    function: &Function,
    request: &ApiGatewayV2httpRequest,
) -> ApiGatewayV2httpResponse {
    apigw::response(&route(function, request).await)
}

async fn route(function: &Function, request: &ApiGatewayV2httpRequest) -> HttpAnswer {
    if request.request_context.http.method != http::Method::POST {
        return HttpAnswer::error(405, "method_not_allowed", "use POST");
    }
    // API Gateway's JWT authorizer has verified the token; only its claims reach us.
    let claims = request
        .request_context
        .authorizer
        .as_ref()
        .and_then(|a| a.jwt.as_ref())
        .map(|jwt| jwt.claims.clone())
        .unwrap_or_default();
    match function.app().await {
        Ok(app) => app.create(&claims).await,
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

//! The `account-session` Lambda: `POST /account_sessions` behind the API's JWT authorizer.
//! The connected account comes from a claim of the verified token (ACCOUNT_CLAIM), which
//! API Gateway hands over in the request context: `lambda_http` exposes it. When
//! ACCOUNT_SESSION_SCOPE is set, the token must also grant that scope. Every answer carries
//! `Cache-Control: no-store`: a successful one holds a client secret.

use std::collections::HashMap;

use lambda_http::request::RequestContext;
use lambda_http::{Request, RequestExt};
use serde_json::Value;
use shared::account_sessions::AccountSessions;
use shared::config::{
    BuiltWithSecrets, ConfigError, DynamoSettings, Env, StripeSettings, stripe_secret_key,
};
use shared::endpoint::HttpAnswer;
use shared::metrics::Metrics;
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
    /// The OAuth scope the token must grant (ACCOUNT_SESSION_SCOPE); none when unset.
    required_scope: Option<String>,
    dynamo: aws_sdk_dynamodb::Client,
    http: reqwest::Client,
    app: BuiltWithSecrets<App>,
    metrics: Metrics,
}

pub async fn init(env: Env) -> Result<Function, InitError> {
    let stripe = StripeSettings::from_env(&env)?;
    let merchants_table = env.required("MERCHANTS_TABLE")?;
    let account_claim = env
        .optional("ACCOUNT_CLAIM")
        .unwrap_or_else(|| "stripe_account".into());
    let required_scope = required_scope(&env)?;
    let dynamo = dynamo::client(&DynamoSettings::from_env(&env)?).await;
    let http = stripe::http_client(&stripe)?;
    tokio::join!(
        stripe::warm_up(&http, &stripe),
        dynamo::warm_up(&dynamo, &merchants_table)
    );
    let metrics = Metrics::emf(
        env.optional("METRICS_NAMESPACE").as_deref(),
        "account-session",
    );
    let function = Function {
        metrics,
        app: BuiltWithSecrets::new(env),
        stripe,
        merchants_table,
        account_claim,
        required_scope,
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

/// ACCOUNT_SESSION_SCOPE: one OAuth scope (no spaces), or unset for none.
pub fn required_scope(env: &Env) -> Result<Option<String>, ConfigError> {
    const NAME: &str = "ACCOUNT_SESSION_SCOPE";
    match env.optional(NAME) {
        Some(scope) if scope.chars().any(|c| c.is_whitespace() || c.is_control()) => {
            Err(ConfigError::Malformed {
                name: NAME.into(),
                reason: format!("{scope:?} is not one scope"),
            })
        }
        other => Ok(other),
    }
}

/// Answers one HTTP request (a POST from the platform's front end, already authorized).
pub async fn handle(function: &Function, request: &Request) -> http::Response<String> {
    let answer = route(function, request).await;
    record(&function.metrics, &answer);
    respond(answer)
}

/// `AccountSessionsCreated`, or `AccountSessionRejected` by error (a 403 flood is a
/// front end with the wrong token; a 5xx, Stripe or the secret).
pub fn record(metrics: &Metrics, answer: &HttpAnswer) {
    if answer.status < 400 {
        metrics.count("AccountSessionsCreated", &[]);
        return;
    }
    let error = answer.body["error"]["type"].as_str().unwrap_or("unknown");
    metrics.count("AccountSessionRejected", &[("Error", error)]);
}

/// The answer as a response nobody may store: a successful one holds the account session's
/// client secret, and neither a browser nor a proxy should keep it.
pub fn respond(answer: HttpAnswer) -> http::Response<String> {
    answer.into_uncacheable_response()
}

async fn route(function: &Function, request: &Request) -> HttpAnswer {
    if request.method() != http::Method::POST {
        return HttpAnswer::error(405, "method_not_allowed", "use POST");
    }
    if let Err(refused) = check_scope(function.required_scope.as_deref(), request) {
        return refused;
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

/// Refuses with 403 a token that does not grant `required` (when one is required). API
/// Gateway already checks it when the template's `AccountSessionScope` is set; checking again
/// here keeps the rule when the function sits behind another front (a REST API, an ALB).
pub fn check_scope(required: Option<&str>, request: &Request) -> Result<(), HttpAnswer> {
    let Some(required) = required else {
        return Ok(());
    };
    if granted_scopes(request).iter().any(|s| s == required) {
        return Ok(());
    }
    Err(HttpAnswer::error(
        403,
        "insufficient_scope",
        format!("the token does not grant the `{required}` scope"),
    ))
}

/// The scopes the verified token grants: the list API Gateway's JWT authorizer hands over
/// (`authorizer.jwt.scopes`), and the `scope` claim (space-separated, RFC 8693 §4.2) or the
/// `scp` claim some identity providers use instead (space-separated, or a list that API
/// Gateway passes on as `[a b]` text, or JSON array text).
pub fn granted_scopes(request: &Request) -> Vec<String> {
    let mut scopes: Vec<String> = match request.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(context)) => context
            .authorizer
            .as_ref()
            .and_then(|a| a.jwt.as_ref())
            .and_then(|jwt| jwt.scopes.clone())
            .unwrap_or_default(),
        _ => Vec::new(),
    };
    let claims = verified_claims(request);
    for claim in ["scope", "scp"] {
        if let Some(text) = claims.get(claim) {
            let list = match serde_json::from_str::<Vec<String>>(text) {
                Ok(list) => list,
                Err(_) => text
                    .trim_start_matches('[')
                    .trim_end_matches(']')
                    .split([' ', ','])
                    .map(|s| s.trim_matches('"').to_string())
                    .collect(),
            };
            scopes.extend(list.into_iter().filter(|s| !s.is_empty()));
        }
    }
    scopes
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

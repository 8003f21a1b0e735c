//! The wiring both hook functions share: configuration, clients built and warmed at cold
//! start, the secret read once, and the request checked before the hook runs. The function
//! binaries hand it `lambda_http`'s `http::Request`; tests hand it their own.

use super::{Hook, HookService};
use crate::clock::SystemClock;
use crate::config::{BuiltWithSecrets, ConfigError, Env, HooksConfig, secret_names};
use crate::endpoint::{self, HttpAnswer};
use crate::signature::{DEFAULT_TOLERANCE_SECONDS, Verifier};
use crate::store::cache::CachedMerchants;
use crate::store::dynamo::{
    self, DynamoAgreements, DynamoCatalog, DynamoIdempotency, DynamoMerchants,
};

pub type Service = HookService<
    CachedMerchants<DynamoMerchants>,
    DynamoCatalog,
    DynamoIdempotency,
    SystemClock,
    Option<DynamoAgreements>,
>;

pub struct HookFunction {
    hook: Hook,
    path: &'static str,
    config: HooksConfig,
    dynamo: aws_sdk_dynamodb::Client,
    service: BuiltWithSecrets<Service>,
}

impl HookFunction {
    /// Cold start: settings checked (a bad one stops here, named), the DynamoDB client built
    /// and its connection opened, so the first hook call pays no handshake.
    pub async fn init(hook: Hook, path: &'static str, env: Env) -> Result<Self, ConfigError> {
        let config = HooksConfig::from_env(&env)?;
        let dynamo = dynamo::client(&config.dynamo).await;
        dynamo::warm_up(&dynamo, &config.catalog_table).await;
        let function = Self {
            hook,
            path,
            config,
            dynamo,
            service: BuiltWithSecrets::new(env),
        };
        if function.service.build_at_start() {
            function.service().await?;
        }
        Ok(function)
    }

    pub async fn service(&self) -> Result<&Service, ConfigError> {
        self.service
            .get(|env| async move {
                let secrets = env.secret_list(secret_names::STRIPE_HOOK_SECRETS, "whsec_")?;
                let c = &self.config;
                Ok(HookService {
                    hook: self.hook,
                    verifier: Verifier::new(
                        secrets,
                        env.parsed_or("HOOK_TOLERANCE_SECONDS", DEFAULT_TOLERANCE_SECONDS)?,
                    ),
                    livemode: c.livemode,
                    merchants: CachedMerchants::new(
                        DynamoMerchants::new(self.dynamo.clone(), &c.merchants_table),
                        c.merchant_cache,
                    ),
                    store: DynamoCatalog::new(self.dynamo.clone(), &c.catalog_table),
                    idempotency: DynamoIdempotency::new(
                        self.dynamo.clone(),
                        &c.idempotency_table,
                        c.idempotency.ttl_seconds,
                        c.idempotency.in_progress_seconds,
                    ),
                    clock: SystemClock,
                    agreements: c
                        .agreements_table
                        .as_ref()
                        .map(|t| DynamoAgreements::new(self.dynamo.clone(), t)),
                    deadline: c.deadline,
                    hold_for: c.hold_for,
                })
            })
            .await
    }

    /// Answers one HTTP request: a signed POST to this hook's path, or a 404/405.
    pub async fn handle<B: AsRef<[u8]>>(
        &self,
        request: &http::Request<B>,
    ) -> http::Response<String> {
        self.route(request).await.into_response()
    }

    async fn route<B: AsRef<[u8]>>(&self, request: &http::Request<B>) -> HttpAnswer {
        let post = match endpoint::signed_post(request, self.path) {
            Ok(post) => post,
            Err(answer) => return answer,
        };
        match self.service().await {
            Ok(service) => service.receive(post.body, post.signature).await,
            Err(error) => {
                tracing::error!(error = %error, "the hook is not configured; answering 500");
                HttpAnswer::error(
                    500,
                    "configuration_error",
                    "the hook endpoint is not configured yet; see the function's logs",
                )
            }
        }
    }
}

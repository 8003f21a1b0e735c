//! The wiring both hook functions share: configuration, clients built and warmed at cold
//! start, the signing secrets loaded once, and the request checked before the hook runs. The function
//! binaries hand it `lambda_http`'s `http::Request`; tests hand it their own.

use std::time::Duration;

use super::keys::HookKeys;
use super::{Hook, HookService};
use crate::clock::SystemClock;
use crate::config::{ConfigError, Env, HooksConfig};
use crate::endpoint::{self, HttpAnswer};
use crate::metrics::Metrics;
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
    path: &'static str,
    service: Service,
}

/// How long cold start waits for deployed signing secrets. Past it, init goes on and the
/// first request tries again inside its own deadline.
const INIT_SECRETS_WAIT: Duration = Duration::from_secs(2);

impl HookFunction {
    /// Cold start: settings checked (a bad one stops here, named), the DynamoDB client built
    /// and its connection opened, so the first hook call pays no handshake, and the signing
    /// secrets loaded if they come within [`INIT_SECRETS_WAIT`].
    pub async fn init(hook: Hook, path: &'static str, env: Env) -> Result<Self, ConfigError> {
        let c = HooksConfig::from_env(&env)?;
        let metrics = Metrics::emf(
            env.optional("METRICS_NAMESPACE").as_deref(),
            hook.function_name(),
        );
        let dynamo = dynamo::client(&c.dynamo).await;
        dynamo::warm_up(&dynamo, &c.catalog_table).await;
        let service = HookService {
            hook,
            keys: HookKeys::from_env(env)?,
            livemode: c.livemode,
            merchants: CachedMerchants::new(
                DynamoMerchants::new(dynamo.clone(), &c.merchants_table),
                c.merchant_cache,
            ),
            store: DynamoCatalog::new(dynamo.clone(), &c.catalog_table),
            idempotency: DynamoIdempotency::new(
                dynamo.clone(),
                &c.idempotency_table,
                c.idempotency.ttl_seconds,
                c.idempotency.in_progress_seconds,
            ),
            clock: SystemClock,
            agreements: c
                .agreements_table
                .as_ref()
                .map(|t| DynamoAgreements::new(dynamo.clone(), t)),
            deadline: c.deadline,
            hold_for: c.hold_for,
            metrics,
        };
        match tokio::time::timeout(INIT_SECRETS_WAIT, service.keys.verifier()).await {
            Ok(Ok(_)) => {}
            // Plain variables (local) cannot get better by waiting: a missing one is named now.
            Ok(Err(error)) if !service.keys.deferred() => return Err(error),
            Ok(Err(error)) => {
                tracing::warn!(error = %error, "signing secrets not loaded at start; the first request tries again");
            }
            Err(_) => {
                tracing::warn!(
                    "signing secrets not loaded within the start-up wait; the first request tries again"
                );
            }
        }
        Ok(Self { path, service })
    }

    pub fn service(&self) -> &Service {
        &self.service
    }

    /// Answers one HTTP request: a signed POST to this hook's path, or a 404/405.
    pub async fn handle<B: AsRef<[u8]>>(
        &self,
        request: &http::Request<B>,
    ) -> http::Response<String> {
        self.route(request).await.into_response()
    }

    async fn route<B: AsRef<[u8]>>(&self, request: &http::Request<B>) -> HttpAnswer {
        // The budget starts here, with the whole request in hand.
        let answer_by = tokio::time::Instant::now() + self.service.deadline;
        match endpoint::signed_post(request, self.path) {
            Ok(post) => {
                self.service
                    .receive_by(post.body, post.signature, answer_by)
                    .await
            }
            Err(answer) => answer,
        }
    }
}

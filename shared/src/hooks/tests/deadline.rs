//! One budget per request, from its arrival: whatever stalls (the secrets extension, the
//! merchant table, the stock store), the merchant's own choice leaves before the deadline.
//! Time is tokio's paused clock, so a stall costs no wall time and the figures are exact.

use super::*;
use crate::config::Env;
use crate::merchants::Merchant;

const DEADLINE: Duration = Duration::from_millis(3_000);

/// Environment for deployed secrets served by an extension on `port`.
fn deployed_env(port: u16) -> Env {
    Env::from_map([
        (
            "STRIPE_HOOK_SECRETS_SECRET_ID",
            "arn:aws:secretsmanager:us-east-1:000000000000:secret:acb".to_string(),
        ),
        ("AWS_SESSION_TOKEN", "session-token".to_string()),
        ("PARAMETERS_SECRETS_EXTENSION_HTTP_PORT", port.to_string()),
    ])
}

/// A Parameters and Secrets extension that takes connections and never answers.
async fn stalled_extension() -> HookKeys {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    HookKeys::from_env(deployed_env(port)).unwrap()
}

/// No extension at all: the connection is refused at once.
async fn missing_extension() -> HookKeys {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    HookKeys::from_env(deployed_env(port)).unwrap()
}

/// Merchants that answer only after `delay`.
struct SlowMerchants {
    inner: MemoryMerchants,
    delay: Duration,
}

impl MerchantDirectory for SlowMerchants {
    async fn merchant(&self, account_id: &str) -> Result<Option<Merchant>, StoreError> {
        tokio::time::sleep(self.delay).await;
        self.inner.merchant(account_id).await
    }
}

fn merchant(fallback: Fallback) -> Merchant {
    let mut merchant = Merchant::new("acct_1Unit");
    merchant.checkout.when_unavailable = fallback;
    merchant
}

fn hook<M: MerchantDirectory, S: SkuRecords + StockHolds>(
    keys: HookKeys,
    merchants: M,
    store: S,
) -> HookService<M, S, MemoryIdempotency, SystemClock, MemoryAgreements> {
    HookService {
        hook: Hook::Finalize,
        keys,
        livemode: false,
        merchants,
        store,
        idempotency: MemoryIdempotency::new(3600, 60),
        clock: SystemClock,
        agreements: MemoryAgreements::default(),
        deadline: DEADLINE,
        hold_for: Duration::from_secs(1800),
        metrics: crate::metrics::Metrics::recording("finalize-checkout").0,
    }
}

fn keys() -> HookKeys {
    HookKeys::loaded(Verifier::new(vec![Secret::new(SECRET)], 300))
}

fn decision(answer: &HttpAnswer) -> &str {
    answer.body["manual_approval_details"]["type"]
        .as_str()
        .unwrap_or_else(|| panic!("not a decision: {:?}", answer.body))
}

fn expected(fallback: Fallback) -> &'static str {
    match fallback {
        Fallback::Approve => "approved",
        Fallback::Decline => "declined",
    }
}

/// Sends the committed request and returns the answer and how long it took.
async fn timed<M: MerchantDirectory, S: SkuRecords + StockHolds>(
    service: &HookService<M, S, MemoryIdempotency, SystemClock, MemoryAgreements>,
) -> (HttpAnswer, Duration) {
    let (body, header) = request();
    let started = Instant::now();
    let answer = service.receive(&body, Some(&header)).await;
    (answer, started.elapsed())
}

#[tokio::test(start_paused = true)]
async fn a_stalled_secrets_extension_gets_the_merchants_choice_inside_the_deadline() {
    for fallback in [Fallback::Approve, Fallback::Decline] {
        let service = hook(
            stalled_extension().await,
            MemoryMerchants::with([merchant(fallback)]),
            live_service().await.store,
        );
        let (answer, took) = timed(&service).await;
        assert!(took <= DEADLINE, "{fallback:?} answered after {took:?}");
        assert_eq!(answer.status, 200);
        assert_eq!(decision(&answer), expected(fallback));
        // Unchecked, the request changed nothing: no stock held, no answer stored.
        assert_eq!(available(&service).await, Some(5));
        assert!(service.keys.deferred());
    }
}

#[tokio::test(start_paused = true)]
async fn a_stalled_store_after_a_slow_merchant_read_still_answers_inside_the_deadline() {
    // Each step alone is within the deadline; together they are not. One budget covers both.
    for fallback in [Fallback::Approve, Fallback::Decline] {
        let service = hook(
            keys(),
            SlowMerchants {
                inner: MemoryMerchants::with([merchant(fallback)]),
                delay: Duration::from_millis(2_000),
            },
            Stalled,
        );
        let (answer, took) = timed(&service).await;
        assert!(took <= DEADLINE, "{fallback:?} answered after {took:?}");
        assert_eq!(decision(&answer), expected(fallback));
    }
}

#[tokio::test(start_paused = true)]
async fn a_merchant_table_that_never_answers_is_declined_inside_the_deadline() {
    let service = hook(
        keys(),
        SlowMerchants {
            inner: MemoryMerchants::with([merchant(Fallback::Approve)]),
            delay: Duration::from_secs(3_600),
        },
        Stalled,
    );
    let (answer, took) = timed(&service).await;
    assert!(took <= DEADLINE, "answered after {took:?}");
    // Without the merchant, its fail-open choice is unknown: fail closed.
    assert_eq!(decision(&answer), "declined");
}

#[tokio::test(start_paused = true)]
async fn without_secrets_an_unknown_account_learns_nothing_and_a_known_one_gets_its_fallback() {
    let unknown = hook(
        missing_extension().await,
        MemoryMerchants::default(),
        Stalled,
    );
    let (answer, _) = timed(&unknown).await;
    assert_eq!(answer.status, 503);
    assert_eq!(answer.body["error"]["type"], "secrets_unavailable");

    let known = hook(
        missing_extension().await,
        MemoryMerchants::with([merchant(Fallback::Approve)]),
        live_service().await.store,
    );
    let (answer, _) = timed(&known).await;
    assert_eq!(decision(&answer), "approved");
    assert_eq!(available(&known).await, Some(5), "nothing held");
}

//! The time an invocation has left, for the calls made inside it.
//!
//! A handler runs its work [`within`] a deadline taken from the Lambda context, less a
//! reserve for answering and recording the outcome. Outbound clients (the Stripe client)
//! read [`remaining`] and never start an attempt, wait for a retry or honour a
//! `Retry-After` past it: a call that cannot finish in time fails at once as transient,
//! so the caller answers a retryable error instead of being killed by the Lambda timeout
//! halfway through. Outside [`within`] (tests, the CLI) there is no deadline.

use std::future::Future;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::time::Instant;

tokio::task_local! {
    static DEADLINE: Instant;
}

/// Runs `work` with `deadline` as its budget (nested calls keep the earlier deadline).
pub async fn within<F: Future>(deadline: Instant, work: F) -> F::Output {
    let deadline = match self::deadline() {
        Some(outer) => outer.min(deadline),
        None => deadline,
    };
    DEADLINE.scope(deadline, work).await
}

/// Runs `work` within the invocation's deadline (`Context::deadline`, ms since the epoch)
/// less `reserve`. A missing or zero deadline (a hand-built test request) sets no budget.
pub async fn within_invocation<F: Future>(
    deadline_epoch_ms: Option<u64>,
    reserve: Duration,
    work: F,
) -> F::Output {
    match deadline_epoch_ms.filter(|ms| *ms > 0) {
        Some(ms) => within(from_lambda_deadline(ms, reserve), work).await,
        None => work.await,
    }
}

/// The current budget's deadline, if the caller set one.
pub fn deadline() -> Option<Instant> {
    DEADLINE.try_with(|d| *d).ok()
}

/// Time left before the current deadline (zero once it has passed); None without one.
pub fn remaining() -> Option<Duration> {
    deadline().map(|d| d.saturating_duration_since(Instant::now()))
}

/// The deadline for an invocation whose Lambda context says it must end by
/// `deadline_epoch_ms` (milliseconds since the epoch), keeping `reserve` for answering.
/// A context deadline already past (a clock skew, a test event) gives no time at all
/// rather than a panic.
pub fn from_lambda_deadline(deadline_epoch_ms: u64, reserve: Duration) -> Instant {
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    let left = Duration::from_millis(deadline_epoch_ms.saturating_sub(now_ms));
    Instant::now() + left.saturating_sub(reserve)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_budget_counts_down_and_an_inner_one_never_extends_the_outer() {
        assert_eq!(remaining(), None, "no budget outside `within`");
        let outer = Instant::now() + Duration::from_secs(5);
        within(outer, async {
            assert_eq!(remaining(), Some(Duration::from_secs(5)));
            tokio::time::sleep(Duration::from_secs(2)).await;
            assert_eq!(remaining(), Some(Duration::from_secs(3)));
            within(Instant::now() + Duration::from_secs(60), async {
                assert_eq!(deadline(), Some(outer), "the outer deadline still binds");
            })
            .await;
            within(Instant::now() + Duration::from_secs(1), async {
                assert_eq!(remaining(), Some(Duration::from_secs(1)));
            })
            .await;
            tokio::time::sleep(Duration::from_secs(10)).await;
            assert_eq!(remaining(), Some(Duration::ZERO));
        })
        .await;
    }

    #[test]
    fn the_lambda_deadline_keeps_the_reserve_and_a_past_one_gives_nothing() {
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64;
        let start = Instant::now();
        let d = from_lambda_deadline(now_ms + 20_000, Duration::from_secs(2));
        let left = d.saturating_duration_since(start);
        assert!(
            left <= Duration::from_millis(18_001) && left > Duration::from_secs(17),
            "{left:?}"
        );
        let past = from_lambda_deadline(now_ms.saturating_sub(5_000), Duration::from_secs(2));
        assert!(past <= Instant::now());
    }
}

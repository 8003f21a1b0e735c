//! The time an invocation has left, for the calls made inside it.
//!
//! A handler runs its work [`within`] a deadline taken from the Lambda context, less a
//! reserve for answering and recording the outcome. Outbound clients (the Stripe client)
//! read [`remaining`] and never start an attempt, wait for a retry or honour a
//! `Retry-After` past it: a call that cannot finish in time fails at once as transient,
//! so the caller answers a retryable error instead of being killed by the Lambda timeout
//! halfway through. Outside [`within`] (tests, the CLI) there is no deadline.

use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;

use crate::clock::{Clock, SystemClock};

/// Now, in ms since the epoch (Lambda's deadline is one).
fn epoch_ms() -> u64 {
    u64::try_from(SystemClock.now_millis()).unwrap_or(0)
}

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
/// less `reserve`. A deadline that is not in the future sets no budget: Lambda never sends
/// one, but hand-built test requests carry 0 and `cargo lambda watch` sends its timeout
/// itself (600000) rather than a time, and starving every call of time would turn a
/// tool's quirk into an outage.
pub async fn within_invocation<F: Future>(
    deadline_epoch_ms: Option<u64>,
    reserve: Duration,
    work: F,
) -> F::Output {
    match deadline_epoch_ms.filter(|ms| *ms > epoch_ms()) {
        Some(ms) => within(from_lambda_deadline(ms, reserve), work).await,
        None => {
            if let Some(ms) = deadline_epoch_ms.filter(|ms| *ms > 0) {
                tracing::warn!(
                    deadline_ms = ms,
                    "the invocation's deadline is not a future time; running without a time budget"
                );
            }
            work.await
        }
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
/// `deadline_epoch_ms` (milliseconds since the epoch), keeping `reserve` for answering,
/// but never more than a tenth of the time left: a function deployed (or run locally)
/// with a shorter timeout than planned still gets most of it. A context deadline already
/// past (a clock skew, a test event) gives no time at all rather than a panic.
pub fn from_lambda_deadline(deadline_epoch_ms: u64, reserve: Duration) -> Instant {
    let left = Duration::from_millis(deadline_epoch_ms.saturating_sub(epoch_ms()));
    Instant::now() + left.saturating_sub(reserve.min(left / 10))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{SystemTime, UNIX_EPOCH};

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

    #[tokio::test]
    async fn an_invocation_deadline_in_the_past_sets_no_budget_and_a_future_one_does() {
        let seen =
            |ms: Option<u64>| within_invocation(ms, Duration::from_secs(2), async { remaining() });
        assert_eq!(seen(None).await, None);
        assert_eq!(seen(Some(0)).await, None);
        assert_eq!(
            seen(Some(600_000)).await,
            None,
            "cargo lambda's relative value"
        );
        let in_a_minute = epoch_ms() + 60_000;
        let left = seen(Some(in_a_minute)).await.expect("a budget");
        assert!(left > Duration::from_secs(57) && left <= Duration::from_secs(58));
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
        // A reserve larger than a tenth of the time left shrinks to that tenth.
        let short = from_lambda_deadline(now_ms + 30_000, Duration::from_secs(30));
        let left = short.saturating_duration_since(start);
        assert!(
            left <= Duration::from_millis(27_001) && left > Duration::from_secs(26),
            "{left:?}"
        );
        let past = from_lambda_deadline(now_ms.saturating_sub(5_000), Duration::from_secs(2));
        assert!(past <= Instant::now());
    }
}

//! One invocation moves a feed forward at a time. Before it uploads or polls, it writes a
//! lease into the feed's slot (a versioned write, so only one of several racing
//! invocations gets it); every other invocation that comes along meanwhile (the schedule's
//! tick, an S3 event, an import event in the webhooks function) sees the lease and leaves
//! the feed alone. The lease runs out on its own when its holder's invocation ends
//! (it lasts as long as the invocation's time budget, at most 15 minutes), so a crash
//! delays the feed but never blocks it; a holder that finishes gives it back at once.

use super::{CatalogStore, UploadError, Uploader};
use crate::budget;
use crate::clock::Clock;
use crate::imports::Feed;
use crate::imports::model::{FeedSlot, Lease};

/// The longest lease: the uploader's own timeout.
const MAX_LEASE_MILLIS: i64 = 15 * 60 * 1000;

/// A fresh owner name for one `drive`.
pub(super) fn owner() -> String {
    format!("lease-{:016x}", fastrand::u64(..))
}

/// How long a lease taken now lasts: what is left of this invocation, at most 15 minutes.
fn lease_millis() -> i64 {
    budget::remaining()
        .map(|left| left.as_millis() as i64)
        .unwrap_or(MAX_LEASE_MILLIS)
        .min(MAX_LEASE_MILLIS)
}

impl<M, C: CatalogStore, I, O, A, K: Clock> Uploader<M, C, I, O, A, K> {
    /// `slot` with a lease for `owner` written into it, or None when another writer moved
    /// the slot first (the caller reads it again). A lease `owner` already holds is kept.
    pub(super) async fn take_lease(
        &self,
        slot: FeedSlot,
        owner: &str,
    ) -> Result<Option<FeedSlot>, UploadError> {
        let now = self.clock.now_millis();
        if slot
            .lease
            .as_ref()
            .is_some_and(|l| l.owner == owner && l.until > now)
        {
            return Ok(Some(slot));
        }
        let mut leased = slot;
        leased.lease = Some(lease_for(owner, now));
        if !self.catalog.save_slot(&leased).await? {
            return Ok(None);
        }
        leased.version += 1;
        Ok(Some(leased))
    }

    /// Gives back `owner`'s lease on the feed, if it still has it, trying again through
    /// conflicts and throttling for a little while. Failing that, the lease runs out on
    /// its own: logged, not an error.
    pub(super) async fn give_back_lease(&self, account_id: &str, feed: Feed, owner: &str) {
        for attempt in 0..8u32 {
            if attempt > 0 {
                tokio::time::sleep(std::time::Duration::from_millis(20 << attempt.min(5))).await;
            }
            let slot = match self.catalog.slot(account_id, feed).await {
                Ok(Some(slot)) => slot,
                Ok(None) => return,
                Err(e) => {
                    tracing::warn!(account = account_id, feed = feed.as_str(), attempt, error = %e, "lease not given back yet");
                    continue;
                }
            };
            if slot.lease.as_ref().is_none_or(|l| l.owner != owner) {
                return;
            }
            let mut free = slot;
            free.lease = None;
            match self.catalog.save_slot(&free).await {
                Ok(true) => return,
                Ok(false) => continue,
                Err(e) => {
                    tracing::warn!(account = account_id, feed = feed.as_str(), attempt, error = %e, "lease not given back yet");
                }
            }
        }
        tracing::warn!(
            account = account_id,
            feed = feed.as_str(),
            "lease not given back; it runs out on its own"
        );
    }
}

pub(super) fn lease_for(owner: &str, now_millis: i64) -> Lease {
    Lease {
        owner: owner.to_string(),
        until: now_millis + lease_millis(),
    }
}

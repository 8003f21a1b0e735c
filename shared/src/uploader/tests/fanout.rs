//! Due feeds through the uploader's queue: one message per feed while one waits, the
//! consumer doing the work, and nothing lost when the queue refuses.

use std::sync::Mutex;

use super::*;
use crate::uploader::fanout::REDISPATCH_AFTER_MILLIS;

fn queued_harness() -> (Harness, Arc<Mutex<Vec<FeedDue>>>) {
    let mut h = harness(vec![merchant(ApiGeneration::V1, ValidationMode::Lenient)]);
    let sent = Arc::new(Mutex::new(Vec::new()));
    h.uploader.dispatch = Dispatch::Recorded(sent.clone());
    (h, sent)
}

fn take(sent: &Mutex<Vec<FeedDue>>) -> Vec<FeedDue> {
    std::mem::take(&mut *sent.lock().unwrap())
}

fn due() -> FeedDue {
    FeedDue {
        account_id: ACCOUNT.into(),
        feed: Feed::Product,
    }
}

#[tokio::test]
async fn with_a_queue_a_new_file_sends_its_feed_once_and_the_consumer_uploads_it() {
    let (h, sent) = queued_harness();
    let dir = format!("incoming/{ACCOUNT}/catalog");
    h.drop_file(
        &format!("{dir}/a.csv"),
        &csv(&[row("A", "Mug", 5, "18.00 USD")]),
    )
    .await;
    assert!(
        h.uploader.stripe.uploads().is_empty(),
        "intake calls no Stripe"
    );
    assert_eq!(take(&sent), vec![due()]);
    assert!(h.slot().await.dispatched_at.is_some());

    // A second file while the message waits: no second message.
    h.drop_file(
        &format!("{dir}/b.csv"),
        &csv(&[row("B", "Bowl", 3, "25.00 USD")]),
    )
    .await;
    assert!(take(&sent).is_empty());

    h.uploader.on_queued(QueuedWork::Feed(due())).await.unwrap();
    assert_eq!(h.uploader.stripe.uploads().len(), 1, "both files, merged");
    let slot = h.slot().await;
    assert_eq!(slot.dispatched_at, None, "the consumer took the claim");
    assert!(slot.in_flight.is_some());
}

#[tokio::test]
async fn the_tick_sends_each_active_feed_once_until_its_message_is_taken_or_stale() {
    let (h, sent) = queued_harness();
    h.drop_file(
        &format!("incoming/{ACCOUNT}/catalog/a.csv"),
        &csv(&[row("A", "Mug", 5, "18.00 USD")]),
    )
    .await;
    take(&sent);
    let tick = h.uploader.on_schedule().await.unwrap();
    assert_eq!(
        (tick.feeds, tick.dispatched),
        (1, 0),
        "its message still waits"
    );
    assert!(
        h.uploader.stripe.uploads().is_empty(),
        "the tick calls no Stripe"
    );

    h.uploader.on_queued(QueuedWork::Feed(due())).await.unwrap();
    let tick = h.uploader.on_schedule().await.unwrap();
    assert_eq!(tick.dispatched, 0, "just sent to Stripe: no poll due yet");
    h.clock
        .advance_millis(crate::imports::cadence::FIRST_POLL_AFTER_MILLIS);
    let tick = h.uploader.on_schedule().await.unwrap();
    assert_eq!(tick.dispatched, 1, "in flight: sent again to be polled");
    assert_eq!(take(&sent), vec![due()]);
    assert_eq!(h.uploader.on_schedule().await.unwrap().dispatched, 0);

    // A message lost on the way: once the claim is stale the tick sends the feed again.
    h.clock.advance_millis(REDISPATCH_AFTER_MILLIS + 1);
    assert_eq!(h.uploader.on_schedule().await.unwrap().dispatched, 1);

    // The consumer polls; Stripe finished, so the feed has no more work and is not sent.
    let import_id = h.last_import_id();
    h.uploader.stripe.finish(&import_id, "succeeded", 1, None);
    h.uploader.on_queued(QueuedWork::Feed(due())).await.unwrap();
    assert!(h.slot().await.in_flight.is_none());
    take(&sent);
    let tick = h.uploader.on_schedule().await.unwrap();
    assert_eq!((tick.feeds, tick.dispatched), (0, 0));
}

#[tokio::test]
async fn a_nudge_from_the_queue_finishes_its_import() {
    let (h, _sent) = queued_harness();
    h.drop_file(
        &format!("incoming/{ACCOUNT}/catalog/a.csv"),
        &csv(&[row("A", "Mug", 5, "18.00 USD")]),
    )
    .await;
    h.uploader.on_queued(QueuedWork::Feed(due())).await.unwrap();
    let import_id = h.last_import_id();
    h.uploader.stripe.finish(&import_id, "succeeded", 1, None);
    let nudge = ImportNudge {
        account_id: ACCOUNT.into(),
        import_id: import_id.clone(),
    };
    h.uploader
        .on_queued(QueuedWork::Nudge(nudge))
        .await
        .unwrap();
    assert!(h.slot().await.in_flight.is_none());
    assert_eq!(h.status("a.csv")["status"], "succeeded");
}

#[tokio::test]
async fn a_feed_the_queue_refuses_is_unclaimed_so_the_next_tick_sends_it() {
    let (mut h, sent) = queued_harness();
    h.uploader.dispatch = Dispatch::Refusing("the queue is down".into());
    let outcome = h
        .drop_file(
            &format!("incoming/{ACCOUNT}/catalog/a.csv"),
            &csv(&[row("A", "Mug", 5, "18.00 USD")]),
        )
        .await;
    assert!(
        matches!(outcome, FileOutcome::Queued { .. }),
        "the file is kept"
    );
    assert_eq!(h.slot().await.dispatched_at, None);
    let tick = h.uploader.on_schedule().await.unwrap();
    assert_eq!((tick.dispatched, tick.failed), (0, 1));
    assert_eq!(h.slot().await.dispatched_at, None);

    h.uploader.dispatch = Dispatch::Recorded(sent.clone());
    assert_eq!(h.uploader.on_schedule().await.unwrap().dispatched, 1);
    assert_eq!(take(&sent), vec![due()]);
}

#[tokio::test]
async fn a_due_feed_for_an_unknown_merchant_is_dropped() {
    let (h, _sent) = queued_harness();
    let stranger = FeedDue {
        account_id: "acct_1Stranger".into(),
        feed: Feed::Product,
    };
    h.uploader
        .on_queued(QueuedWork::Feed(stranger))
        .await
        .unwrap();
    assert!(h.uploader.stripe.uploads().is_empty());
}

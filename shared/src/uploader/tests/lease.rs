//! One invocation moves a feed at a time (`uploader::lease`): a feed another invocation
//! holds is left alone until that lease runs out or is given back, and an import is
//! completed, and counted, once.

use super::*;
use crate::imports::model::Lease;

/// Writes another invocation's lease on the product feed, lasting `for_millis`.
async fn lease_to_another(h: &Harness, for_millis: i64) {
    let mut slot = h.slot().await;
    slot.lease = Some(Lease {
        owner: "lease-of-another-invocation".into(),
        until: h.clock.now_millis() + for_millis,
    });
    assert!(h.uploader.catalog.save_slot(&slot).await.unwrap());
}

#[tokio::test]
async fn a_feed_another_invocation_holds_is_left_alone_until_its_lease_runs_out() {
    let h = harness(vec![merchant(ApiGeneration::V1, ValidationMode::Lenient)]);
    h.drop_file(
        &format!("incoming/{ACCOUNT}/catalog/all.csv"),
        &csv(&[row("A", "Mug", 5, "18.00 USD")]),
    )
    .await;
    assert!(
        h.slot().await.lease.is_none(),
        "the upload gave its lease back"
    );
    h.uploader
        .stripe
        .finish(&h.last_import_id(), "succeeded", 1, None);
    lease_to_another(&h, 5 * MINUTE).await;

    // The import is done at Stripe, but the feed is someone else's right now.
    h.uploader.on_schedule().await.unwrap();
    assert_eq!(h.status("all.csv")["status"], "processing");
    assert!(h.slot().await.in_flight.is_some());
    assert_eq!(h.metrics.sum("ImportsFinished", &[]), 0.0);

    // Its holder stopped without giving it back: once it runs out, the tick takes over.
    h.clock.advance_millis(5 * MINUTE + 1);
    h.uploader.on_schedule().await.unwrap();
    assert_eq!(h.status("all.csv")["status"], "succeeded");
    let slot = h.slot().await;
    assert!(slot.in_flight.is_none() && slot.lease.is_none(), "{slot:?}");
    assert_eq!(
        h.metrics.sum("ImportsFinished", &[("Status", "succeeded")]),
        1.0
    );

    // Further ticks and events find nothing to complete: counted once.
    h.uploader.on_schedule().await.unwrap();
    assert_eq!(h.metrics.sum("ImportsFinished", &[]), 1.0);
}

#[tokio::test]
async fn a_new_file_for_a_leased_feed_is_queued_but_not_uploaded_by_its_event() {
    let h = harness(vec![merchant(ApiGeneration::V2, ValidationMode::Lenient)]);
    let dir = format!("incoming/{ACCOUNT}/catalog");
    h.drop_file(
        &format!("{dir}/first.csv"),
        &csv(&[row("A", "Mug", 5, "18.00 USD")]),
    )
    .await;
    let first = h.last_import_id();
    h.uploader.stripe.finish(&first, "succeeded", 1, None);
    h.clock.advance_millis(16 * MINUTE);
    lease_to_another(&h, MINUTE).await;

    // Due by cadence, but the feed is leased: the file waits in the queue.
    let outcome = h
        .drop_file(
            &format!("{dir}/second.csv"),
            &csv(&[row("B", "Bowl", 3, "25.00 USD")]),
        )
        .await;
    assert!(matches!(outcome, FileOutcome::Queued { .. }), "{outcome:?}");
    assert_eq!(h.uploader.stripe.uploads().len(), 1);
    assert_eq!(h.slot().await.queue.len(), 1);

    h.clock.advance_millis(MINUTE + 1);
    h.uploader.on_schedule().await.unwrap();
    assert_eq!(
        h.uploader.stripe.uploads().len(),
        2,
        "the tick after the lease ran out uploaded it"
    );
    assert!(h.slot().await.lease.is_none());
}

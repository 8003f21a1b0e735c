//! An S3 event that comes again (Lambda's retry after a failure late in the invocation, a
//! claim that expired) never sends a file twice, and a failure after the file is queued
//! is the schedule's to retry, not the event's.

use super::*;
use crate::imports::identity::object_identity;
use crate::store::IdempotencyStore;
use crate::stripe::StripeError;

#[tokio::test]
async fn an_event_that_comes_again_after_its_file_went_out_queues_nothing() {
    let h = harness(vec![merchant(ApiGeneration::V1, ValidationMode::Lenient)]);
    let key = format!("incoming/{ACCOUNT}/catalog/a.csv");
    let object = h.bucket.put_version(
        BUCKET,
        &key,
        csv(&[row("A", "Mug", 1, "1.00 USD")]).as_bytes(),
    );
    let deliver = || {
        h.uploader
            .on_object_created(BUCKET, &key, object.version_id.clone(), None, object.size)
    };
    assert!(matches!(
        deliver().await.unwrap(),
        FileOutcome::Queued { .. }
    ));
    assert_eq!(h.uploader.stripe.uploads().len(), 1);
    // The event's claim is gone (it was never completed, and it expired): the event
    // is handled again from the start.
    let object_ref = crate::bucket::ObjectRef {
        bucket: BUCKET.into(),
        key: key.clone(),
        version_id: object.version_id.clone(),
        etag: None,
        size: object.size,
    };
    h.uploader
        .idempotency
        .release(&object_identity(&object_ref))
        .await
        .unwrap();
    h.clock.advance_millis(20 * MINUTE);
    assert_eq!(deliver().await.unwrap(), FileOutcome::Duplicate);
    let slot = h.slot().await;
    assert!(slot.queue.is_empty(), "{slot:?}");
    h.uploader.on_schedule().await.unwrap();
    assert_eq!(
        h.uploader.stripe.uploads().len(),
        1,
        "the file went to Stripe once"
    );
}

#[tokio::test]
async fn a_queued_file_whose_upload_fails_now_is_queued_and_the_schedule_sends_it() {
    let h = harness(vec![merchant(ApiGeneration::V1, ValidationMode::Lenient)]);
    h.uploader
        .stripe
        .refuse_next_start(StripeError::Network("connection reset".into()));
    let outcome = h
        .drop_file(
            &format!("incoming/{ACCOUNT}/catalog/a.csv"),
            &csv(&[row("A", "Mug", 1, "1.00 USD")]),
        )
        .await;
    assert!(
        matches!(outcome, FileOutcome::Queued { .. }),
        "the event succeeded: {outcome:?}"
    );
    assert!(h.uploader.stripe.import_ids().is_empty());
    // The upload is in flight from the claim on, so it is tried again when a poll would be.
    h.uploader.on_schedule().await.unwrap();
    assert!(h.uploader.stripe.import_ids().is_empty());
    h.clock
        .advance_millis(crate::imports::cadence::FIRST_POLL_AFTER_MILLIS);
    h.uploader.on_schedule().await.unwrap();
    assert_eq!(h.uploader.stripe.import_ids().len(), 1);
    assert!(h.slot().await.lease.is_none());
}

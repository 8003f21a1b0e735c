//! What happens to a new file: broken, strict, duplicated, from an unknown account, or one of several inside an interval.

use super::*;

#[tokio::test]
async fn a_structurally_broken_file_is_reported_and_never_uploaded() {
    for generation in [ApiGeneration::V1, ApiGeneration::V2] {
        let stack = Stack::start(generation, ValidationMode::Lenient).await;
        let body = b"id,title,link\nSKU-1,Mug,https://shop.example/p/1\n";
        let outcome = stack
            .drop_file(&format!("incoming/{ACCOUNT}/catalog/broken.csv"), body)
            .await;
        assert_eq!(outcome["files"][0]["outcome"], "rejected", "{outcome}");
        let status = stack.status("broken.csv").await;
        assert_eq!(status["status"], "rejected");
        assert!(
            status["reason"]
                .as_str()
                .unwrap()
                .contains("missing required column"),
            "{status}"
        );
        stack.tick().await;
        assert_eq!(stack.imports_at_stripe(ACCOUNT).await, 0);
    }
}

#[tokio::test]
async fn strict_merchants_reject_files_with_row_errors() {
    let stack = Stack::start(ApiGeneration::V1, ValidationMode::Strict).await;
    let rows = vec![
        row("SKU-1", "Mug", "12.50 USD", 5),
        row("SKU-2", "Bowl", "free", 5),
    ];
    stack
        .drop_file(
            &format!("incoming/{ACCOUNT}/catalog/strict.csv"),
            &csv(&rows),
        )
        .await;
    assert_eq!(stack.status("strict.csv").await["status"], "rejected");
    assert!(stack.report("strict.csv", "validation.csv").await.is_some());
    assert_eq!(stack.imports_at_stripe(ACCOUNT).await, 0);
}

#[tokio::test]
async fn a_duplicated_s3_event_makes_one_import() {
    let stack = Stack::start(ApiGeneration::V2, ValidationMode::Lenient).await;
    let event = testkit::put_and_event(
        &stack.s3,
        &stack.bucket,
        &format!("incoming/{ACCOUNT}/catalog/once.csv"),
        &csv(&[row("SKU-1", "Mug", "1.00 USD", 1)]),
    )
    .await;
    // Two deliveries at once: one does the work; the other either sees it done or is told
    // to retry (an error, so Lambda redelivers it later).
    let (a, b) = tokio::join!(
        catalog_uploader::handle(&stack.function, event.clone()),
        catalog_uploader::handle(&stack.function, event.clone())
    );
    let outcomes: Vec<String> = [a, b]
        .into_iter()
        .map(|r| match r {
            Ok(outcome) => serde_json::to_value(outcome).unwrap()["files"][0]["outcome"]
                .as_str()
                .unwrap()
                .to_string(),
            Err(e) => format!("retry: {e}"),
        })
        .collect();
    assert_eq!(
        outcomes.iter().filter(|o| *o == "queued").count(),
        1,
        "{outcomes:?}"
    );
    let again = stack.send(event).await;
    assert_eq!(again["files"][0]["outcome"], "duplicate", "{again}");
    stack.tick().await;
    assert_eq!(stack.imports_at_stripe(ACCOUNT).await, 1);
}

#[tokio::test]
async fn files_under_an_unknown_account_are_rejected_and_not_uploaded() {
    let stack = Stack::start(ApiGeneration::V1, ValidationMode::Lenient).await;
    let stranger = "acct_1Stranger";
    let outcome = stack
        .drop_file(
            &format!("incoming/{stranger}/catalog/x.csv"),
            &csv(&[row("SKU-1", "Mug", "1.00 USD", 1)]),
        )
        .await;
    assert_eq!(outcome["files"][0]["outcome"], "rejected", "{outcome}");
    let status = testkit::read_object(
        &stack.s3,
        &stack.bucket,
        &format!("reports/{stranger}/x.csv/status.json"),
    )
    .await
    .unwrap();
    let status: Value = serde_json::from_slice(&status).unwrap();
    assert!(
        status["reason"]
            .as_str()
            .unwrap()
            .contains("unknown account")
    );
    stack.tick().await;
    assert_eq!(stack.imports_at_stripe(stranger).await, 0);
    assert_eq!(stack.imports_at_stripe(ACCOUNT).await, 0);
    // Keys outside the layout are ignored.
    let outcome = stack
        .drop_file(&format!("incoming/{ACCOUNT}/notes.txt"), b"hello")
        .await;
    assert_eq!(outcome["files"][0]["outcome"], "ignored", "{outcome}");
}

/// Three files inside one interval go out as one merged upload at the next slot, in
/// arrival order with the last row per id winning. Driven with a manual clock.
#[tokio::test]
async fn files_within_an_interval_are_merged_into_one_upload() {
    for generation in [ApiGeneration::V1, ApiGeneration::V2] {
        let stack = Stack::start(generation, ValidationMode::Lenient).await;
        let clock = Arc::new(ManualClock::at_seconds(1_800_000_000));
        let settings = shared::config::StripeSettings::from_env(&Env::from_map([
            ("STRIPE_API_BASE", stack.sim.base_url()),
            ("STRIPE_FILES_BASE", stack.sim.base_url()),
        ]))
        .unwrap();
        let client = shared::stripe::StripeClient::new(
            shared::stripe::http_client(&settings).unwrap(),
            &settings,
            shared::secret::Secret::new(KEY),
        );
        let uploader = Uploader {
            merchants: stack.merchants(),
            catalog: stack.catalog(),
            idempotency: DynamoIdempotency::new(
                stack.dynamo.clone(),
                &stack.idempotency_table,
                3600,
                60,
            ),
            objects: S3Objects::new(stack.s3.clone()),
            stripe: StripeCatalog::new(
                client,
                CatalogApiSettings::from_env(&Env::default()).unwrap(),
            ),
            clock: clock.clone(),
            metrics: shared::metrics::Metrics::recording("catalog-uploader").0,
            dispatch: Default::default(),
            settings: UploaderSettings {
                bucket: stack.bucket.clone(),
                interval_millis: 15 * 60_000,
                concurrency: 2,
                max_report_rows: 100,
            },
        };
        let put = |name: &str, rows: Vec<String>| {
            let key = format!("incoming/{ACCOUNT}/catalog/{name}");
            let s3 = stack.s3.clone();
            let bucket = stack.bucket.clone();
            async move {
                let event = testkit::put_and_event(&s3, &bucket, &key, &csv(&rows)).await;
                let object = &event["Records"][0]["s3"]["object"];
                (
                    object["key"].as_str().unwrap().to_string(),
                    object["versionId"].as_str().map(str::to_string),
                    object["size"].as_u64().unwrap(),
                )
            }
        };
        // The first file goes at once and opens the interval.
        let (key, version, size) = put(
            "a.csv",
            vec![
                row("SKU-1", "One", "1.00 USD", 1),
                row("SKU-2", "Two", "2.00 USD", 2),
            ],
        )
        .await;
        uploader
            .on_object_created(&stack.bucket, &key, version, None, size)
            .await
            .unwrap();
        uploader.on_schedule().await.unwrap();
        assert_eq!(stack.imports_at_stripe(ACCOUNT).await, 1);

        clock.advance_millis(60_000);
        for (name, rows) in [
            (
                "b.csv",
                vec![
                    row("SKU-2", "Two (b)", "2.50 USD", 2),
                    row("SKU-3", "Three (b)", "3.00 USD", 3),
                ],
            ),
            (
                "c.csv",
                vec![
                    row("SKU-3", "Three (c)", "3.50 USD", 3),
                    row("SKU-4", "Four (c)", "4.00 USD", 4),
                ],
            ),
            ("d.csv", vec![row("SKU-1", "One (d)", "1.50 USD", 1)]),
        ] {
            let (key, version, size) = put(name, rows).await;
            let outcome = uploader
                .on_object_created(&stack.bucket, &key, version, None, size)
                .await
                .unwrap();
            assert!(
                matches!(outcome, shared::uploader::FileOutcome::Queued { .. }),
                "{outcome:?}"
            );
            clock.advance_millis(60_000);
        }
        uploader.on_schedule().await.unwrap();
        assert_eq!(
            stack.imports_at_stripe(ACCOUNT).await,
            1,
            "the interval holds the queued files"
        );

        clock.advance_millis(15 * 60_000);
        uploader.on_schedule().await.unwrap();
        // The merged upload's first poll is due 30 seconds after it went.
        clock.advance_millis(shared::imports::cadence::FIRST_POLL_AFTER_MILLIS);
        uploader.on_schedule().await.unwrap();
        let stripe = stack.stripe_catalog(ACCOUNT).await;
        assert_eq!(
            stripe["imports"].as_array().unwrap().len(),
            2,
            "one merged upload for three files: {stripe}"
        );
        let products = &stripe["products"];
        assert_eq!(products["SKU-1"]["title"], "One (d)");
        assert_eq!(products["SKU-2"]["title"], "Two (b)");
        assert_eq!(products["SKU-3"]["title"], "Three (c)");
        assert_eq!(products["SKU-4"]["title"], "Four (c)");

        let imports = stack.catalog().imports(ACCOUNT, 10).await.unwrap();
        let merged = imports
            .iter()
            .find(|i| i.sources.len() == 3)
            .expect("a merged import");
        assert_eq!(merged.status, ImportStatus::Succeeded, "{merged:?}");
        assert_eq!(merged.feed, Feed::Product);
        let body = testkit::read_object(&stack.s3, &stack.bucket, &merged.upload.key)
            .await
            .unwrap();
        let text = String::from_utf8(body).unwrap();
        let ids: Vec<&str> = text
            .lines()
            .skip(1)
            .map(|l| l.split(',').next().unwrap())
            .collect();
        assert_eq!(
            ids,
            ["SKU-2", "SKU-3", "SKU-4", "SKU-1"],
            "last row per id, in arrival order:\n{text}"
        );
        for name in ["b.csv", "c.csv", "d.csv"] {
            assert_eq!(stack.status(name).await["status"], "succeeded");
        }
    }
}

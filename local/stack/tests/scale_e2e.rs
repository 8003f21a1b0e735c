//! The scale run at a size `make test` can afford: 200 merchants each drop a feed at once
//! and every import must end, with stripe-sim enforcing Stripe's live-mode limits and never
//! having to refuse a request. `make bench-scale` runs it at 10 000.

#[path = "common/scale_run.rs"]
mod scale_run;

use std::path::PathBuf;
use std::time::Duration;

use scale_run::ScalePlan;

#[tokio::test(flavor = "multi_thread")]
async fn two_hundred_merchants_feeds_all_end_without_one_429() {
    let root =
        std::fs::canonicalize(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")).unwrap();
    let bin_dir = PathBuf::from(env!("CARGO_BIN_EXE_local-stack"))
        .parent()
        .unwrap()
        .to_path_buf();
    std::env::set_current_dir(&root).unwrap();
    let (stack, aws_proxy) = scale_run::start_stack(&root, bin_dir, 5)
        .await
        .expect("the local stack starts");
    let plan = ScalePlan {
        merchants: 200,
        drop_concurrency: 16,
        settle_within: Duration::from_secs(300),
    };
    let report = scale_run::run(&stack, &aws_proxy, &plan)
        .await
        .unwrap_or_else(|e| panic!("the scale run did not settle: {e}"));
    report.print();
    assert_eq!(report.problems(), Vec::<String>::new());
    let stripe = &report.stripe;
    // Every merchant's upload reached Stripe once: one file or one import created each.
    let created = |endpoint: &str| stripe["by_endpoint"][endpoint].as_u64().unwrap_or(0);
    assert_eq!(
        created("POST /v1/files") + created("POST /v2/commerce/product_catalog/imports"),
        200,
        "{stripe}"
    );
    let uploader = &report.functions["CatalogUploaderFunction"];
    assert!(
        uploader.invocations >= 200,
        "one S3 event each at least: {uploader:?}"
    );
    assert!(report.dynamo_write_units > 0.0, "capacity is metered");
    assert!(
        report.aws_requests.contains_key("SendMessageBatch"),
        "{:?}",
        report.aws_requests
    );
}

//! What the uploader's benches share: the process's memory figures, and an uploader wired
//! to fresh tables and a fresh bucket on the local services and stripe-sim.

use shared::bucket::S3Objects;
use shared::clock::SystemClock;
use shared::config::{Env, StripeSettings};
use shared::merchants::Merchant;
use shared::secret::Secret;
use shared::store::MerchantAdmin;
use shared::store::dynamo::{DynamoCatalog, DynamoIdempotency, DynamoMerchants};
use shared::stripe::catalog::{CatalogApiSettings, StripeCatalog};
use shared::stripe::{StripeClient, http_client};
use shared::uploader::{Uploader, UploaderSettings};

/// A field of `/proc/self/status` in KiB (`VmRSS:`, `VmHWM:`).
pub fn status_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// Resets the process's RSS high-water mark; returns the RSS now (KiB).
pub fn reset_peak() -> u64 {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    status_kib("VmRSS:")
}

pub type BenchUploader = Uploader<
    DynamoMerchants,
    DynamoCatalog,
    DynamoIdempotency,
    S3Objects,
    StripeCatalog,
    SystemClock,
>;

/// The uploader as deployed, against DynamoDB (fresh tables from the template), S3 (a
/// fresh bucket named `<bucket_prefix>-…`) and stripe-sim at `sim_url`, with `merchant`
/// registered; and the S3 client and bucket.
pub async fn rig(
    dynamo_endpoint: String,
    s3_endpoint: &str,
    sim_url: &str,
    merchant: &Merchant,
    bucket_prefix: &str,
) -> Result<(BenchUploader, aws_sdk_s3::Client, String), Box<dyn std::error::Error>> {
    let env = Env::from_map([("DYNAMODB_ENDPOINT", dynamo_endpoint)]);
    let dynamo =
        shared::store::dynamo::client(&shared::config::DynamoSettings::from_env(&env)?).await;
    let s3 = S3Objects::client(Some(s3_endpoint)).await;
    let suffix = format!(
        "{}-{:06x}",
        std::process::id(),
        fastrand::u32(..) & 0xffffff
    );
    let mut tables = Vec::new();
    for logical_id in [testkit::MERCHANTS, testkit::CATALOG, testkit::IDEMPOTENCY] {
        tables.push(testkit::fresh_table(&dynamo, logical_id).await);
    }
    let bucket = format!("{bucket_prefix}-{suffix}");
    s3.create_bucket().bucket(&bucket).send().await?;

    let merchants = DynamoMerchants::new(dynamo.clone(), &tables[0]);
    merchants.put_merchant(merchant).await?;

    let settings = StripeSettings::from_env(&Env::from_map([
        ("STRIPE_API_BASE", sim_url.to_string()),
        ("STRIPE_FILES_BASE", sim_url.to_string()),
        ("STRIPE_TIMEOUT_MS", "600000".into()),
    ]))?;
    let client = StripeClient::new(
        http_client(&settings)?,
        &settings,
        Secret::new("sk_test_sim"),
    );
    let uploader = Uploader {
        merchants,
        catalog: DynamoCatalog::new(dynamo.clone(), &tables[1]),
        idempotency: DynamoIdempotency::new(dynamo.clone(), &tables[2], 3600, 900),
        objects: S3Objects::new(s3.clone()),
        stripe: StripeCatalog::new(client, CatalogApiSettings::from_env(&Env::default())?),
        clock: SystemClock,
        metrics: shared::metrics::Metrics::recording("catalog-uploader").0,
        dispatch: Default::default(),
        settings: UploaderSettings {
            bucket: bucket.clone(),
            interval_millis: 0,
            concurrency: 4,
            max_report_rows: 10_000,
        },
    };
    Ok((uploader, s3, bucket))
}

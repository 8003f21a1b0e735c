//! The uploader as deployed: DynamoDB stores, the S3 bucket, Stripe's catalog APIs. The
//! catalog-uploader function and the webhooks function (for v2 import events) run the same
//! code on the same stores.

use super::Uploader;

pub type DeployedUploader = Uploader<
    crate::store::dynamo::DynamoMerchants,
    crate::store::dynamo::DynamoCatalog,
    crate::store::dynamo::DynamoIdempotency,
    crate::bucket::S3Objects,
    crate::stripe::catalog::StripeCatalog,
    crate::clock::SystemClock,
>;

impl DeployedUploader {
    /// Wires the uploader from its settings: the catalog-uploader function, and the
    /// webhooks function for v2 import events, run the same code on the same stores.
    pub fn deployed(
        config: &crate::config::UploaderConfig,
        api: &crate::stripe::catalog::CatalogApiSettings,
        dynamo: &aws_sdk_dynamodb::Client,
        s3: &aws_sdk_s3::Client,
        stripe: crate::stripe::StripeClient,
        metrics: crate::metrics::Metrics,
        dispatch: super::Dispatch,
    ) -> Self {
        use crate::store::dynamo::{DynamoCatalog, DynamoIdempotency, DynamoMerchants};
        super::Uploader {
            merchants: DynamoMerchants::new(dynamo.clone(), &config.merchants_table),
            catalog: DynamoCatalog::new(dynamo.clone(), &config.catalog_table),
            idempotency: DynamoIdempotency::new(
                dynamo.clone(),
                &config.idempotency_table,
                config.idempotency.ttl_seconds,
                config.idempotency.in_progress_seconds,
            ),
            objects: crate::bucket::S3Objects::new(s3.clone()),
            stripe: crate::stripe::catalog::StripeCatalog::new(stripe, api.clone()),
            clock: crate::clock::SystemClock,
            metrics,
            dispatch,
            settings: super::UploaderSettings {
                bucket: config.bucket.clone(),
                interval_millis: config.interval_seconds * 1000,
                concurrency: config.concurrency,
                max_report_rows: config.max_report_rows,
            },
        }
    }
}

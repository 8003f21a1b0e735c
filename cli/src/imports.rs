//! `acb catalog imports list|show`: catalog imports as the uploader recorded them.

use aws_sdk_s3::error::ProvideErrorMetadata;
use clap::{Args, Subcommand};
use serde::Serialize;
use shared::imports::ImportRecord;
use shared::merchants::is_account_id;
use shared::store::ImportLog;
use shared::store::dynamo::{self, DynamoCatalog};

use crate::common::{CATALOG_TABLE, print_json};

#[derive(Args)]
pub struct ImportsArgs {
    /// The Catalog table (the stack output CatalogTableName).
    #[arg(long, env = "CATALOG_TABLE", global = true)]
    table: Option<String>,
    /// DynamoDB endpoint, for DynamoDB Local; unset uses AWS with your credentials.
    #[arg(long, env = "DYNAMODB_ENDPOINT", global = true)]
    dynamodb_endpoint: Option<String>,
    /// Print JSON instead of the human-readable text.
    #[arg(long, global = true)]
    json: bool,
}

#[derive(Subcommand)]
pub enum ImportsCommand {
    /// ACCOUNT's imports, newest first: key, feed, API, status, our row counts and Stripe's,
    /// source files.
    List {
        /// The merchant's connected account, acct_…
        account: String,
        /// Show at most this many imports.
        #[arg(long, default_value_t = 20)]
        limit: usize,
    },
    /// One import, every field, as JSON (with or without --json).
    Show {
        /// The merchant's connected account, acct_…
        account: String,
        /// The import's key, the first column of `acb catalog imports list`.
        import_key: String,
    },
}

fn line(record: &ImportRecord) -> String {
    let status = serde_json::to_value(record.status)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default();
    format!(
        "{}  {:<9} {} {:<22} rows={} ours_flagged={} stripe_ok={} stripe_failed={}  {}",
        record.import_key,
        record.feed.as_str(),
        record.generation,
        status,
        record.counts.rows,
        record.counts.rows_with_errors,
        record
            .counts
            .stripe_successes
            .map_or("-".into(), |n| n.to_string()),
        record
            .counts
            .stripe_errors
            .map_or("-".into(), |n| n.to_string()),
        record
            .sources
            .iter()
            .map(|s| s.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    )
}

fn check_account(account: &str) -> Result<(), String> {
    if is_account_id(account) {
        Ok(())
    } else {
        Err(format!(
            "{account:?} is not a connected account id (acct_…)"
        ))
    }
}

pub async fn run(command: ImportsCommand, args: ImportsArgs) -> Result<(), String> {
    let account = match &command {
        ImportsCommand::List { account, .. } | ImportsCommand::Show { account, .. } => account,
    };
    check_account(account)?;
    let table = CATALOG_TABLE.resolve(args.table.clone(), args.dynamodb_endpoint.clone())?;
    let catalog = DynamoCatalog::new(
        dynamo::client(&table.dynamo_settings()?).await,
        table.name.clone(),
    );
    match command {
        ImportsCommand::List { account, limit } => {
            let all = catalog
                .imports(&account, limit)
                .await
                .map_err(|e| table.error(e))?;
            if args.json {
                return print_json(&all);
            }
            if all.is_empty() {
                println!("no imports for {account}");
            }
            all.iter().for_each(|r| println!("{}", line(r)));
        }
        ImportsCommand::Show {
            account,
            import_key,
        } => {
            let record = catalog
                .import(&account, &import_key)
                .await
                .map_err(|e| table.error(e))?
                .ok_or_else(|| {
                    format!(
                        "no import {import_key} for {account} in the table {}; `acb catalog imports list {account}` shows its imports",
                        table.name
                    )
                })?;
            print_json(&record)?;
        }
    }
    Ok(())
}

/// Where `acb catalog upload` put the file, and where its reports will appear.
#[derive(Debug, Serialize)]
pub struct Uploaded {
    pub bucket: String,
    pub key: String,
    /// The object's version, when the bucket is versioned (the stack's is).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version_id: Option<String>,
    /// `reports/<account>/<file name>/`: validation.csv, stripe-errors.csv, status.json.
    pub reports_prefix: String,
}

/// Puts a local file where a merchant's drop would land.
pub async fn upload(
    file: &std::path::Path,
    account: &str,
    feed: Option<shared::catalog::FeedKind>,
    bucket: &str,
    s3_endpoint: Option<&str>,
) -> Result<Uploaded, String> {
    check_account(account)?;
    let name = file
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| format!("{} has no usable file name", file.display()))?;
    let feed = feed
        .or_else(|| shared::catalog::FeedKind::from_path(&file.to_string_lossy()))
        .unwrap_or(shared::catalog::FeedKind::Product);
    let key = format!("incoming/{account}/{}/{name}", feed.folder());
    // The uploader would refuse anything else: say so before uploading.
    let incoming = shared::imports::keys::parse_incoming_key(&key).map_err(|e| {
        format!("{e}: the uploader takes .csv or .tsv files with a plain name, so it would ignore this one")
    })?;
    let metadata =
        std::fs::metadata(file).map_err(|e| format!("reading {}: {e}", file.display()))?;
    if !metadata.is_file() {
        return Err(format!("{} is not a file", file.display()));
    }
    let client = shared::bucket::S3Objects::client(s3_endpoint).await;
    let body = aws_sdk_s3::primitives::ByteStream::from_path(file)
        .await
        .map_err(|e| format!("reading {}: {e}", file.display()))?;
    let put = client
        .put_object()
        .bucket(bucket)
        .key(&key)
        .body(body)
        .send()
        .await
        .map_err(|e| {
            // A service error's code and message say it all; other errors need their causes.
            let detail = match e.as_service_error() {
                Some(service) => format!(
                    "{}: {}",
                    service.code().unwrap_or("error"),
                    service.message().unwrap_or("(no message)")
                ),
                None => aws_sdk_s3::error::DisplayErrorContext(e).to_string(),
            };
            let place = s3_endpoint.map_or("S3 in AWS".to_string(), |e| format!("S3 at {e}"));
            let hint = if detail.contains("NoSuchBucket") {
                format!(
                    "; there is no bucket {bucket:?} in {place}: pass --bucket or set CATALOG_BUCKET (the stack output CatalogBucketName)"
                )
            } else if detail.contains("dispatch failure") || detail.contains("timed out") {
                match s3_endpoint {
                    Some(_) => format!(
                        "; could not reach {place}: is it running? (`local/scripts/services.sh start`)"
                    ),
                    None => format!(
                        "; could not reach {place}: check your AWS credentials and AWS_REGION, or set S3_ENDPOINT for the local S3 emulator"
                    ),
                }
            } else {
                String::new()
            };
            format!("uploading to s3://{bucket}/{key}: {detail}{hint}")
        })?;
    Ok(Uploaded {
        bucket: bucket.to_string(),
        reports_prefix: incoming.report_key(""),
        key,
        version_id: put.version_id().map(str::to_string),
    })
}

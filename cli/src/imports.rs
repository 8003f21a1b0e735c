//! `acb catalog imports list|show`: catalog imports as the uploader recorded them.

use std::fs::File;
use std::io::Read;
use std::path::Path;

use aws_sdk_s3::error::ProvideErrorMetadata;
use clap::{Args, Subcommand};
use indicatif::ProgressBar;
use serde::Serialize;
use shared::bucket::{BucketError, ObjectStore, ObjectWriter, PART_SIZE, S3Objects};
use shared::imports::ImportRecord;
use shared::merchants::is_account_id;
use shared::store::dynamo::{self, DynamoCatalog};
use shared::store::{ImportLog, ImportPages};

use crate::common::{CATALOG_TABLE, print_json};
use crate::paging::{Listing, PageArgs, page_size, resume_command};
use crate::progress::{ClearOnDrop, Progress};

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
    /// source files; a page at a time (--cursor, --all).
    List {
        /// The merchant's connected account, acct_…
        account: String,
        /// Imports per page (1 to 1000).
        #[arg(long, default_value_t = LIST_LIMIT, value_parser = page_size)]
        limit: usize,
        #[command(flatten)]
        pages: PageArgs,
    },
    /// One import, every field, as JSON (with or without --json).
    Show {
        /// The merchant's connected account, acct_…
        account: String,
        /// The import's key, the first column of `acb catalog imports list`.
        import_key: String,
    },
}

const LIST_LIMIT: usize = 20;

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
        ImportsCommand::List {
            account,
            limit,
            pages,
        } => {
            let listing = Listing {
                json: args.json,
                size: limit,
                pages,
                line,
                empty: format!("no imports for {account}"),
                command: resume_command(
                    &["catalog", "imports", "list", &account],
                    limit,
                    LIST_LIMIT,
                ),
            };
            let (catalog, table, account) = (&catalog, &table, &account);
            listing
                .print(|request| async move {
                    catalog
                        .import_page(account, &request)
                        .await
                        .map_err(|e| table.error(e))
                })
                .await?;
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
    file: &Path,
    account: &str,
    feed: Option<shared::catalog::FeedKind>,
    bucket: &str,
    s3_endpoint: Option<&str>,
    progress: Progress,
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
    let size = metadata.len();
    let bar = progress.bar(size, "uploading");
    let _clear = ClearOnDrop(bar.clone());
    let failed = |detail: String| upload_error(&detail, bucket, &key, s3_endpoint);
    // Small files in one PUT; larger ones in parts, as `aws s3 cp` does: a part that fails
    // is retried alone, and no request has to carry gigabytes within one timeout.
    let version_id = if size <= PART_SIZE as u64 {
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
            .map_err(|e| failed(sdk_error_detail(e)))?;
        bar.set_position(size);
        put.version_id().map(str::to_string)
    } else {
        upload_in_parts(S3Objects::new(client), file, bucket, &key, &bar)
            .await
            .map_err(|e| match e {
                PartsFailed::Reading(e) => format!("reading {}: {e}", file.display()),
                PartsFailed::Sending(e) => failed(e.to_string()),
            })?
    };
    Ok(Uploaded {
        bucket: bucket.to_string(),
        reports_prefix: incoming.report_key(""),
        key,
        version_id,
    })
}

enum PartsFailed {
    Reading(std::io::Error),
    Sending(BucketError),
}

/// Streams `file` into a multipart upload, one part (8 MiB) in memory at a time, moving
/// `bar` as S3 acknowledges each part. On failure the upload is aborted, so no parts are
/// left to pay for (an interrupted `acb` leaves them to the bucket's lifecycle rule).
async fn upload_in_parts(
    objects: S3Objects,
    file: &Path,
    bucket: &str,
    key: &str,
    bar: &ProgressBar,
) -> Result<Option<String>, PartsFailed> {
    let mut input = File::open(file).map_err(PartsFailed::Reading)?;
    let mut writer = objects
        .writer(bucket, key, "application/octet-stream")
        .await
        .map_err(PartsFailed::Sending)?;
    let mut chunk = vec![0u8; 1024 * 1024];
    loop {
        let n = match input.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => {
                writer.abort().await;
                return Err(PartsFailed::Reading(e));
            }
        };
        if let Err(e) = writer.write(&chunk[..n]).await {
            writer.abort().await;
            return Err(PartsFailed::Sending(e));
        }
        bar.set_position(writer.bytes_sent());
    }
    let completed = writer.complete().await.map_err(PartsFailed::Sending)?;
    bar.set_position(completed.size);
    Ok(completed.version_id)
}

/// A service error's code and message say it all; other errors need their causes.
fn sdk_error_detail<E, R>(e: aws_sdk_s3::error::SdkError<E, R>) -> String
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    match e.as_service_error() {
        Some(service) => format!(
            "{}: {}",
            service.code().unwrap_or("error"),
            service.message().unwrap_or("(no message)")
        ),
        None => aws_sdk_s3::error::DisplayErrorContext(e).to_string(),
    }
}

/// What went wrong uploading, and what to check.
fn upload_error(detail: &str, bucket: &str, key: &str, s3_endpoint: Option<&str>) -> String {
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
}

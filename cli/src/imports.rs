//! `acb catalog imports list|show`: catalog imports as the uploader recorded them.

use clap::{Args, Subcommand};
use shared::config::{DynamoSettings, Env};
use shared::imports::ImportRecord;
use shared::merchants::is_account_id;
use shared::store::ImportLog;
use shared::store::dynamo::{self, DynamoCatalog};

#[derive(Args)]
pub struct ImportsArgs {
    /// The Catalog table (stack output CatalogTableName).
    #[arg(long, env = "CATALOG_TABLE", global = true)]
    table: Option<String>,
    #[arg(long, env = "DYNAMODB_ENDPOINT", global = true)]
    dynamodb_endpoint: Option<String>,
    #[arg(long, global = true)]
    json: bool,
}

#[derive(Subcommand)]
pub enum ImportsCommand {
    /// ACCOUNT's imports, newest first.
    List {
        account: String,
        #[arg(long, default_value_t = 20)]
        limit: usize,
    },
    /// One import, every field.
    Show { account: String, import_key: String },
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

pub async fn run(command: ImportsCommand, args: ImportsArgs) -> Result<(), String> {
    let table = args
        .table
        .clone()
        .ok_or("the Catalog table is not set: pass --table or set CATALOG_TABLE")?;
    let env = Env::from_map(
        args.dynamodb_endpoint
            .iter()
            .map(|e| ("DYNAMODB_ENDPOINT", e.clone())),
    );
    let catalog = DynamoCatalog::new(
        dynamo::client(&DynamoSettings::from_env(&env).map_err(|e| e.to_string())?).await,
        table,
    );
    match command {
        ImportsCommand::List { account, limit } => {
            if !is_account_id(&account) {
                return Err(format!(
                    "{account:?} is not a connected account id (acct_…)"
                ));
            }
            let all = catalog
                .imports(&account, limit)
                .await
                .map_err(|e| e.to_string())?;
            if args.json {
                println!("{}", serde_json::to_string_pretty(&all).unwrap_or_default());
            } else if all.is_empty() {
                println!("no imports for {account}");
            } else {
                all.iter().for_each(|r| println!("{}", line(r)));
            }
        }
        ImportsCommand::Show {
            account,
            import_key,
        } => {
            if !is_account_id(&account) {
                return Err(format!(
                    "{account:?} is not a connected account id (acct_…)"
                ));
            }
            let record = catalog
                .import(&account, &import_key)
                .await
                .map_err(|e| e.to_string())?
                .ok_or_else(|| format!("no import {import_key} for {account}"))?;
            println!(
                "{}",
                serde_json::to_string_pretty(&record).unwrap_or_default()
            );
        }
    }
    Ok(())
}

/// Puts a local file where a merchant's drop would land; returns the object key.
pub async fn upload(
    file: &std::path::Path,
    account: &str,
    feed: Option<shared::catalog::FeedKind>,
    bucket: &str,
    s3_endpoint: Option<&str>,
) -> Result<String, String> {
    if !is_account_id(account) {
        return Err(format!(
            "{account:?} is not a connected account id (acct_…)"
        ));
    }
    let name = file
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| format!("{} has no usable file name", file.display()))?;
    let feed = feed
        .or_else(|| shared::catalog::FeedKind::from_path(&file.to_string_lossy()))
        .unwrap_or(shared::catalog::FeedKind::Product);
    let key = format!("incoming/{account}/{}/{name}", feed.folder());
    // The uploader would refuse anything else: say so before uploading.
    shared::imports::keys::parse_incoming_key(&key).map_err(|e| e.to_string())?;
    let client = shared::objects::S3Objects::client(s3_endpoint).await;
    let body = aws_sdk_s3::primitives::ByteStream::from_path(file)
        .await
        .map_err(|e| format!("reading {}: {e}", file.display()))?;
    client
        .put_object()
        .bucket(bucket)
        .key(&key)
        .body(body)
        .send()
        .await
        .map_err(|e| {
            format!(
                "uploading to s3://{bucket}/{key}: {}",
                aws_sdk_s3::error::DisplayErrorContext(e)
            )
        })?;
    Ok(key)
}

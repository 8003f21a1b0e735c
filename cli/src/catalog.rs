//! `acb catalog validate`: the uploader's validation of a feed file, offline.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::progress::{ClearOnDrop, CountingReader, Progress};
use clap::{Subcommand, ValueEnum};
use shared::catalog::{
    ErrorCsvWriter, Fatal, FeedKind, Limits, Summary, ValidationReport, validate_reader,
};

#[derive(Subcommand)]
pub enum CatalogCommand {
    /// Check a feed file against Stripe's feed rules, offline (exit status 0, 1 or 2).
    ///
    /// Checks FILE (CSV or TSV) as the uploader would, without uploading anything. Exit
    /// status: 0 the file is accepted with no row errors, 1 it has row errors (Stripe would
    /// skip those rows), 2 it is rejected as a whole.
    Validate {
        /// The feed file to check, .csv or .tsv.
        file: PathBuf,
        /// Feed type (product, inventory, pricing, promotion); by default taken from a
        /// catalog/, inventory/, pricing/ or promotion/ directory in FILE's path, else
        /// product.
        #[arg(long, value_parser = parse_feed)]
        feed: Option<FeedKind>,
        /// Report format: text (a summary and one line per error) or json.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
        /// Print JSON instead of the human-readable text (the same as --format json).
        #[arg(long, conflicts_with = "format")]
        json: bool,
        /// API generation the file is headed for, which sets the size limit (v1 200 MB,
        /// v2 4 GB).
        #[arg(long, value_enum, default_value_t = Api::V1)]
        api: Api,
        /// Also write the rows with errors to PATH, behind a leading validation_error
        /// column, like Stripe's error file.
        #[arg(long, value_name = "PATH")]
        errors_csv: Option<PathBuf>,
        /// No progress bar (one is drawn on stderr only when it is a terminal, and never
        /// with --json).
        #[arg(long)]
        no_progress: bool,
    },
    /// Upload a feed file where a merchant's own drop lands, which starts an import.
    ///
    /// Puts FILE into the catalog bucket under incoming/ACCOUNT/<feed>/. The bucket's
    /// notification starts the import; `acb catalog imports list ACCOUNT` follows it, and
    /// its reports land under reports/ACCOUNT/<file name>/.
    Upload {
        /// The feed file to upload, .csv or .tsv; its name is kept.
        file: PathBuf,
        /// The merchant's connected account, acct_…
        #[arg(long)]
        account: String,
        /// product, inventory, pricing or promotion; by default taken from a catalog/,
        /// inventory/, pricing/ or promotion/ directory in FILE's path, else product.
        #[arg(long, value_parser = parse_feed)]
        feed: Option<FeedKind>,
        /// The catalog bucket (the stack output CatalogBucketName).
        #[arg(long, env = "CATALOG_BUCKET")]
        bucket: Option<String>,
        /// S3 endpoint, for the local S3 emulator; unset uses AWS with your credentials.
        #[arg(long, env = "S3_ENDPOINT")]
        s3_endpoint: Option<String>,
        /// Print JSON instead of the human-readable text: bucket, key, version_id (when
        /// the bucket is versioned) and reports_prefix.
        #[arg(long)]
        json: bool,
        /// No progress bar (one is drawn on stderr only when it is a terminal, and never
        /// with --json).
        #[arg(long)]
        no_progress: bool,
    },
    /// Catalog imports as the uploader recorded them (list, show).
    Imports {
        #[command(subcommand)]
        command: crate::imports::ImportsCommand,
        #[command(flatten)]
        table: crate::imports::ImportsArgs,
    },
}

#[derive(Clone, Copy, ValueEnum)]
pub enum Format {
    Text,
    Json,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum Api {
    V1,
    V2,
}

fn parse_feed(s: &str) -> Result<FeedKind, String> {
    s.parse()
        .map_err(|e: shared::catalog::UnknownFeed| e.to_string())
}

const ACCEPTED: u8 = 0;
const ROW_ERRORS: u8 = 1;
const REJECTED: u8 = 2;

pub async fn run(command: CatalogCommand) -> ExitCode {
    match command {
        CatalogCommand::Upload {
            file,
            account,
            feed,
            bucket,
            s3_endpoint,
            json,
            no_progress,
        } => match upload(
            &file,
            &account,
            feed,
            bucket,
            s3_endpoint,
            json,
            no_progress,
        )
        .await
        {
            Ok(()) => ExitCode::SUCCESS,
            Err(message) => {
                crate::common::print_error(&message);
                ExitCode::FAILURE
            }
        },
        CatalogCommand::Imports { command, table } => {
            match crate::imports::run(command, table).await {
                Ok(()) => ExitCode::SUCCESS,
                Err(message) => {
                    crate::common::print_error(&message);
                    ExitCode::FAILURE
                }
            }
        }
        CatalogCommand::Validate {
            file,
            feed,
            format,
            json,
            api,
            errors_csv,
            no_progress,
        } => {
            let format = if json { Format::Json } else { format };
            let feed = feed
                .or_else(|| FeedKind::from_path(&file.to_string_lossy()))
                .unwrap_or(FeedKind::Product);
            let limits = match api {
                Api::V1 => Limits::v1(),
                Api::V2 => Limits::v2(),
            };
            let progress = Progress {
                json: matches!(format, Format::Json),
                no_progress,
            };
            validate(&file, feed, limits, format, errors_csv.as_deref(), progress)
        }
    }
}

async fn upload(
    file: &Path,
    account: &str,
    feed: Option<FeedKind>,
    bucket: Option<String>,
    s3_endpoint: Option<String>,
    json: bool,
    no_progress: bool,
) -> Result<(), String> {
    let bucket = bucket
        .map(|b| b.trim().to_string())
        .filter(|b| !b.is_empty())
        .ok_or_else(|| {
            format!(
                "the catalog bucket is not set: pass --bucket or set CATALOG_BUCKET (the stack \
                 output CatalogBucketName); for the local stack, `source {}`",
                crate::common::STACK_ENV
            )
        })?;
    let s3_endpoint = s3_endpoint
        .map(|e| e.trim().to_string())
        .filter(|e| !e.is_empty());
    let progress = Progress { json, no_progress };
    let uploaded = crate::imports::upload(
        file,
        account,
        feed,
        &bucket,
        s3_endpoint.as_deref(),
        progress,
    )
    .await?;
    if json {
        return crate::common::print_json(&uploaded);
    }
    println!(
        "uploaded {} to s3://{}/{}{}",
        file.display(),
        uploaded.bucket,
        uploaded.key,
        uploaded
            .version_id
            .as_deref()
            .map(|v| format!(" (version {v})"))
            .unwrap_or_default()
    );
    println!(
        "the uploader imports it next (`acb catalog imports list {account}`); its reports will be under s3://{}/{}",
        uploaded.bucket, uploaded.reports_prefix
    );
    Ok(())
}

fn validate(
    file: &Path,
    feed: FeedKind,
    limits: Limits,
    format: Format,
    errors_csv: Option<&Path>,
    progress: Progress,
) -> ExitCode {
    let mut report = ValidationReport::new();
    let outcome = check(file, feed, limits, errors_csv, &mut report, progress);
    report.set_outcome(&outcome);
    let printed = match format {
        Format::Json => print_json(file, feed, &report),
        Format::Text => print_text(file, feed, &report),
    };
    // A closed pipe (`| head`) is the reader's choice, not a failure of the file.
    if let Err(e) = printed {
        if e.kind() != io::ErrorKind::BrokenPipe {
            eprintln!("error: writing the report: {e}");
        }
    }
    let status = if !report.is_accepted() {
        REJECTED
    } else if report.rows_with_errors > 0 {
        ROW_ERRORS
    } else {
        ACCEPTED
    };
    ExitCode::from(status)
}

fn check(
    file: &Path,
    feed: FeedKind,
    limits: Limits,
    errors_csv: Option<&Path>,
    report: &mut ValidationReport,
    progress: Progress,
) -> Result<Summary, Fatal> {
    let input = File::open(file).map_err(|e| Fatal::Io(format!("{}: {e}", file.display())))?;
    // Without a size (a FIFO, /dev/stdin) the bar still shows bytes and rate.
    let size = input.metadata().map(|m| m.len()).unwrap_or(0);
    let bar = progress.bar(size, "validating");
    let input = CountingReader::new(input, bar.clone());
    // Cleared before the report is printed, whatever the outcome.
    let _clear = ClearOnDrop(bar);
    let Some(path) = errors_csv else {
        return validate_reader(feed, limits, input, report);
    };
    let out =
        File::create(path).map_err(|e| Fatal::Sink(format!("creating {}: {e}", path.display())))?;
    let mut sink = (report, ErrorCsvWriter::new(BufWriter::new(out)));
    let summary = validate_reader(feed, limits, input, &mut sink)?;
    sink.1
        .into_inner()
        .flush()
        .map_err(|e| Fatal::Sink(format!("writing {}: {e}", path.display())))?;
    Ok(summary)
}

fn print_json(file: &Path, feed: FeedKind, report: &ValidationReport) -> io::Result<()> {
    let mut json = report.to_json();
    if let Some(object) = json.as_object_mut() {
        object.insert("file".into(), file.to_string_lossy().into());
        object.insert("feed".into(), feed.as_str().into());
    }
    let mut out = io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, &json).map_err(io::Error::other)?;
    writeln!(out)
}

fn print_text(file: &Path, feed: FeedKind, report: &ValidationReport) -> io::Result<()> {
    let mut out = BufWriter::new(io::stdout().lock());
    writeln!(
        out,
        "{} ({feed} feed): {} rows, {} with errors",
        file.display(),
        report.rows,
        report.rows_with_errors
    )?;
    for e in &report.errors {
        write!(out, "line {}", e.line)?;
        if let Some(id) = &e.id {
            write!(out, " [{id}]")?;
        }
        match e.column {
            Some(column) => writeln!(out, ": {column}: {}", e.message)?,
            None => writeln!(out, ": {}", e.message)?,
        }
    }
    if report.errors_omitted > 0 {
        writeln!(out, "… and {} more errors not shown", report.errors_omitted)?;
    }
    match &report.fatal {
        Some(fatal) => writeln!(out, "REJECTED: {fatal}")?,
        None if report.rows_with_errors > 0 => writeln!(
            out,
            "accepted with row errors: Stripe would skip the {} rows above",
            report.rows_with_errors
        )?,
        None => writeln!(out, "OK: every row is valid")?,
    }
    out.flush()
}

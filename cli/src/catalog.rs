//! `acb catalog validate`: the uploader's validation of a feed file, offline.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Subcommand, ValueEnum};
use shared::catalog::{
    ErrorCsvWriter, Fatal, FeedKind, Limits, Summary, ValidationReport, validate_reader,
};

#[derive(Subcommand)]
pub enum CatalogCommand {
    /// Check FILE (CSV or TSV) against Stripe's feed rules as the uploader would, without
    /// uploading anything. Exit status: 0 the file is accepted with no row errors, 1 it
    /// has row errors (Stripe would skip those rows), 2 it is rejected as a whole.
    Validate {
        file: PathBuf,
        /// Feed type (product, inventory, pricing, promotion); by default taken from a
        /// catalog/, inventory/, pricing/ or promotion/ directory in FILE's path, else
        /// product.
        #[arg(long, value_parser = parse_feed)]
        feed: Option<FeedKind>,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
        /// API generation the file is headed for, which sets the size limit (v1 200 MB,
        /// v2 4 GB).
        #[arg(long, value_enum, default_value_t = Api::V1)]
        api: Api,
        /// Also write the rows with errors to PATH, behind a leading validation_error
        /// column, like Stripe's error file.
        #[arg(long, value_name = "PATH")]
        errors_csv: Option<PathBuf>,
    },
    /// Put FILE into the catalog bucket under incoming/ACCOUNT/<feed>/: the same path as a
    /// merchant's own drop (the bucket's notification starts the upload).
    Upload {
        file: PathBuf,
        #[arg(long)]
        account: String,
        /// product (default: from the path, else product), inventory, pricing, promotion.
        #[arg(long, value_parser = parse_feed)]
        feed: Option<FeedKind>,
        /// The catalog bucket (stack output CatalogBucketName).
        #[arg(long, env = "CATALOG_BUCKET")]
        bucket: String,
        /// S3 endpoint, for the local S3 emulator.
        #[arg(long, env = "S3_ENDPOINT")]
        s3_endpoint: Option<String>,
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
        } => {
            match crate::imports::upload(&file, &account, feed, &bucket, s3_endpoint.as_deref())
                .await
            {
                Ok(key) => {
                    println!(
                        "uploaded s3://{bucket}/{key}; its report will be under reports/{account}/"
                    );
                    ExitCode::SUCCESS
                }
                Err(message) => {
                    eprintln!("error: {message}");
                    ExitCode::FAILURE
                }
            }
        }
        CatalogCommand::Imports { command, table } => {
            match crate::imports::run(command, table).await {
                Ok(()) => ExitCode::SUCCESS,
                Err(message) => {
                    eprintln!("error: {message}");
                    ExitCode::FAILURE
                }
            }
        }
        CatalogCommand::Validate {
            file,
            feed,
            format,
            api,
            errors_csv,
        } => {
            let feed = feed
                .or_else(|| FeedKind::from_path(&file.to_string_lossy()))
                .unwrap_or(FeedKind::Product);
            let limits = match api {
                Api::V1 => Limits::v1(),
                Api::V2 => Limits::v2(),
            };
            validate(&file, feed, limits, format, errors_csv.as_deref())
        }
    }
}

fn validate(
    file: &Path,
    feed: FeedKind,
    limits: Limits,
    format: Format,
    errors_csv: Option<&Path>,
) -> ExitCode {
    let mut report = ValidationReport::new();
    let outcome = check(file, feed, limits, errors_csv, &mut report);
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
) -> Result<Summary, Fatal> {
    let input = File::open(file).map_err(|e| Fatal::Io(format!("{}: {e}", file.display())))?;
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

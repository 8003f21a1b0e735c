//! Incremental uploads on a large catalog: a v2 merchant drops a generated catalog (about
//! 200 MB) as a `.replace.` file, Stripe (stripe-sim) imports it, then the merchant drops
//! the same catalog with 1% of its rows changed. Reported: what the second upload sent
//! against the file's size, the time and peak RSS of the second drop (validation at
//! intake, the comparison with the snapshot, the delta upload), and of the comparison
//! alone (snapshot load, file pass, carry-over; in process, outputs discarded).
//!
//! Each import is finished through stripe-sim's `/_sim/imports/{id}/complete` and then
//! completed by the uploader on Stripe's event about it, timed on its own: that step writes the SKU records from the
//! whole file (one DynamoDB item per row, as before incremental uploads) and promotes the
//! snapshot.
//!
//! Needs the local services and a stripe-sim process whose imports wait to be completed
//! (`--processing-delay-ms 3600000`; `make bench-incremental` starts them):
//! DYNAMODB_ENDPOINT, S3_ENDPOINT, STRIPE_SIM_URL. BENCH_CATALOG_MB sets the size (200),
//! BENCH_CHANGED_PERCENT the share of changed rows (1).

mod common;

use std::io::{Read, Write};
use std::time::Instant;

use shared::catalog::{Limits, Validator};
use shared::imports::Feed;
use shared::imports::delta::DeltaPass;
use shared::imports::snapshot::{BaseLoader, Loaded, SNAPSHOT_MAX_ROWS, SnapshotReader};
use shared::merchants::{ApiGeneration, Merchant, ValidationMode};

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// Writes `rows` catalog rows; with `changed_every`, every such row has another stock
/// count. Returns the file's size.
fn write_catalog(
    path: &std::path::Path,
    rows: u64,
    changed_every: Option<u64>,
) -> std::io::Result<u64> {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    let header = "id,title,description,link,image_link,brand,gtin,product_category,availability,inventory_quantity,price,shipping,color,size,item_group_id\n";
    out.write_all(header.as_bytes())?;
    let mut written = header.len() as u64;
    for i in 0..rows {
        let changed = changed_every.is_some_and(|n| i % n == n / 2);
        let line = format!(
            "SKU-{i:09},Trail Mug {i},\"Enamel mug, 12 oz, made for camp coffee; dishwasher safe, with a rolled rim and a sturdy handle. Item {i}\",https://shop.example/p/{i},https://shop.example/i/{i}.jpg,Acme Outdoor,{gtin:014},Home > Kitchen > Mugs,in_stock,{q},{p}.{c:02} USD,US:ALL:Standard:3-5:5.00 USD,Blue,M,GRP-{g}\n",
            gtin = 10_000_000_000_000u64 + i,
            q = i % 500 + if changed { 1_000 } else { 0 },
            p = 5 + i % 90,
            c = i % 100,
            g = i / 4,
        );
        out.write_all(line.as_bytes())?;
        written += line.len() as u64;
    }
    out.flush()?;
    Ok(written)
}

/// The comparison alone, as the uploader runs it, from bytes in memory and a local file.
fn diff_pass(snapshot: &[u8], file: &std::path::Path) -> Result<(u64, String), String> {
    let mut loader = BaseLoader::new(Feed::Product, SNAPSHOT_MAX_ROWS, snapshot.len() as u64);
    for chunk in snapshot.chunks(1 << 20) {
        loader.push(chunk).map_err(|e| e.to_string())?;
    }
    let Loaded::Snapshot(mut base) = loader.finish().map_err(|e| e.to_string())? else {
        return Err("no usable snapshot".into());
    };
    let mut pass = DeltaPass::new(Feed::Product, Some(&mut base), true, 0);
    let mut validator = Validator::new(Feed::Product, Limits::v2());
    let mut input = std::fs::File::open(file).map_err(|e| e.to_string())?;
    let mut buffer = vec![0u8; 1 << 20];
    let mut delta_bytes = 0u64;
    loop {
        let n = input.read(&mut buffer).map_err(|e| e.to_string())?;
        if n == 0 {
            break;
        }
        validator
            .push(&buffer[..n], &mut pass)
            .map_err(|e| e.to_string())?;
        delta_bytes += pass.take_delta().len() as u64;
        pass.take_candidate();
    }
    validator.finish(&mut pass).map_err(|e| e.to_string())?;
    let mut reader = SnapshotReader::default();
    for chunk in snapshot.chunks(1 << 20) {
        reader
            .push(chunk, |_, entry| {
                pass.carry_over(&entry);
                Ok(())
            })
            .map_err(|e| e.to_string())?;
        delta_bytes += pass.take_delta().len() as u64;
        pass.take_candidate();
    }
    pass.finish();
    delta_bytes += pass.take_delta().len() as u64;
    Ok((delta_bytes, format!("{:?}", pass.counts)))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let endpoint = |name: &str| {
        std::env::var(name)
            .unwrap_or_else(|_| panic!("{name} is not set: run `make bench-incremental`"))
    };
    let (dynamo_endpoint, s3_endpoint, sim_url) = (
        endpoint("DYNAMODB_ENDPOINT"),
        endpoint("S3_ENDPOINT"),
        endpoint("STRIPE_SIM_URL"),
    );
    let number = |name: &str, default: u64| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let megabytes = number("BENCH_CATALOG_MB", 200);
    let percent = number("BENCH_CHANGED_PERCENT", 1).clamp(1, 100);
    // About 340 bytes a row.
    let rows = megabytes * 1_000_000 / 340;

    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let base_path = dir.join("bench-incremental-base.csv");
    let changed_path = dir.join("bench-incremental-changed.csv");
    let base_size = write_catalog(&base_path, rows, None)?;
    let changed_size = write_catalog(&changed_path, rows, Some(100 / percent))?;

    let account = "acct_1BenchIncremental";
    let name = "bench.replace.csv";
    let key = format!("incoming/{account}/catalog/{name}");
    let mut merchant = Merchant::new(account);
    merchant.api_generation = ApiGeneration::V2;
    merchant.validation = ValidationMode::Lenient;
    let (uploader, s3, bucket) = common::rig(
        dynamo_endpoint,
        &s3_endpoint,
        &sim_url,
        &merchant,
        "bench-incr",
    )
    .await?;
    let status = || async {
        let object = s3
            .get_object()
            .bucket(&bucket)
            .key(format!("reports/{account}/{name}/status.json"))
            .send()
            .await
            .ok()?;
        let bytes = object.body.collect().await.ok()?.into_bytes();
        serde_json::from_slice::<serde_json::Value>(&bytes).ok()
    };

    println!(
        "incremental upload of a {:.1} MB catalog ({rows} rows), {percent}% of its rows changed (v2, replace file)",
        base_size as f64 / 1e6
    );
    let mut drops = Vec::new();
    for (index, (label, path, size)) in [
        (
            "first drop (whole upload, snapshot candidate)",
            &base_path,
            base_size,
        ),
        (
            "second drop (compared, delta sent)",
            &changed_path,
            changed_size,
        ),
    ]
    .into_iter()
    .enumerate()
    {
        if index == 1 {
            // The changed file against the first import's snapshot, in process.
            let snapshot = s3
                .get_object()
                .bucket(&bucket)
                .key(format!("state/{account}/catalog/sent.snapshot"))
                .send()
                .await?
                .body
                .collect()
                .await?
                .into_bytes();
            let before = common::reset_peak();
            let started = Instant::now();
            let (delta_bytes, counts) = diff_pass(&snapshot, &changed_path)?;
            let elapsed = started.elapsed();
            let peak = common::status_kib("VmHWM:");
            println!(
                "  comparison alone: {:.2} s ({:.0} MB/s), snapshot {:.1} MB, delta {:.2} MB, {counts}",
                elapsed.as_secs_f64(),
                changed_size as f64 / 1e6 / elapsed.as_secs_f64(),
                snapshot.len() as f64 / 1e6,
                delta_bytes as f64 / 1e6
            );
            println!(
                "    RSS              {:.1} MiB before (the snapshot's bytes included), peak {:.1} MiB",
                mib(before),
                mib(peak)
            );
        }
        let put = s3
            .put_object()
            .bucket(&bucket)
            .key(&key)
            .body(aws_sdk_s3::primitives::ByteStream::from_path(path).await?)
            .send()
            .await?;
        let before = common::reset_peak();
        let started = Instant::now();
        let outcome = uploader
            .on_object_created(
                &bucket,
                &key,
                put.version_id().map(str::to_string),
                put.e_tag().map(str::to_string),
                size,
            )
            .await?;
        let elapsed = started.elapsed();
        let peak = common::status_kib("VmHWM:");
        let uploaded = status().await.unwrap_or_default();
        let import = uploaded["stripe_import_id"].as_str().unwrap_or_default();
        if !import.is_empty() {
            let done = reqwest::Client::new()
                .post(format!("{sim_url}/_sim/imports/{import}/complete"))
                .json(&serde_json::json!({}))
                .send()
                .await?;
            if !done.status().is_success() {
                println!(
                    "    (stripe-sim did not complete {import}: {})",
                    done.text().await?
                );
            }
        }
        // Stripe's event about the import nudges the uploader, which completes it.
        let started = Instant::now();
        uploader.on_import_event(account, import).await?;
        let completion = started.elapsed();
        let status = status().await.unwrap_or_default();
        println!("  {label}");
        println!("    outcome          {outcome:?}");
        println!(
            "    drop → Stripe    {:.2} s (intake validation, comparison, upload)",
            elapsed.as_secs_f64()
        );
        println!(
            "    RSS              {:.1} MiB before, peak {:.1} MiB",
            mib(before),
            mib(peak)
        );
        println!(
            "    completion       {:.2} s (poll, SKU records from the whole file, snapshot promoted); status {}, stripe_successes {}",
            completion.as_secs_f64(),
            status["status"],
            status["stripe_successes"]
        );
        println!("    incremental      {}", status["incremental"]);
        drops.push(status);
    }
    let incremental = &drops[1]["incremental"];
    let sent = incremental["bytes_sent"].as_u64().unwrap_or(0);
    let file = incremental["bytes_in_file"].as_u64().unwrap_or(1);
    println!(
        "  sent {:.2} MB of {:.1} MB ({:.2}%)",
        sent as f64 / 1e6,
        file as f64 / 1e6,
        100.0 * sent as f64 / file as f64
    );

    let _ = std::fs::remove_file(&base_path);
    let _ = std::fs::remove_file(&changed_path);
    Ok(())
}

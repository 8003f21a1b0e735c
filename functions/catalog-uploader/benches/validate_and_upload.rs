//! Peak memory and time of the whole validate-and-upload path on a large catalog: the file
//! is read from the S3 emulator, validated as it streams, and streamed on to stripe-sim's
//! Files API (v1). The process's peak RSS is measured around that path alone
//! (`/proc/self/clear_refs` resets the high-water mark; `VmHWM` reads it).
//!
//! Needs the local services and a stripe-sim process (`make bench-upload` starts them):
//! DYNAMODB_ENDPOINT, S3_ENDPOINT, STRIPE_SIM_URL. BENCH_CATALOG_MB sets the size (190).
//! BENCH_BAD_ROWS=1 makes every row fail validation (a price and an availability the spec
//! refuses, a long description): the hostile case, where the failed rows stream to
//! `validation.csv` under its row and byte caps (`make bench-upload-bad`).
//! BENCH_GENERATION=v2 uploads through a v2 import's upload URL instead (files up to 4 GB),
//! and BENCH_ROW_BYTES pads each row's description to about that many bytes (real feeds'
//! descriptions run to hundreds of characters): `make bench-upload-4gb`.

mod common;

use std::io::Write;
use std::time::Instant;

use shared::merchants::{Merchant, ValidationMode};

fn write_catalog(
    path: &std::path::Path,
    target_bytes: u64,
    bad: bool,
    row_bytes: usize,
) -> std::io::Result<u64> {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    let header = "id,title,description,link,image_link,brand,gtin,product_category,availability,inventory_quantity,price,shipping,color,size,item_group_id\n";
    out.write_all(header.as_bytes())?;
    // The file stays within `target_bytes`, header included: 4 000 MB is Stripe's v2
    // limit to the byte, and a file one row over it is rejected, not uploaded.
    let mut written = header.len() as u64;
    let mut i = 0u64;
    let filler = "y".repeat(2_000);
    // Good rows are about 250 bytes before padding.
    let padding = " tested".repeat(row_bytes.saturating_sub(250) / 7);
    while written < target_bytes {
        if bad {
            let line = format!(
                "SKU-{i:09},Trail Mug {i},\"{filler} {i}\",https://shop.example/p/{i},https://shop.example/i/{i}.jpg,Acme Outdoor,{gtin:014},Home > Kitchen > Mugs,maybe,{q},about {p} dollars,US:ALL:Standard:3-5:5.00 USD,Blue,M,GRP-{g}\n",
                gtin = 10_000_000_000_000u64 + i,
                q = i % 500,
                p = 5 + i % 90,
                g = i / 4,
            );
            if written + line.len() as u64 > target_bytes {
                break;
            }
            out.write_all(line.as_bytes())?;
            written += line.len() as u64;
            i += 1;
            continue;
        }
        let line = format!(
            "SKU-{i:09},Trail Mug {i},\"Enamel mug, 12 oz, made for camp coffee; dishwasher safe, with a rolled rim and a sturdy handle.{padding} Item {i}\",https://shop.example/p/{i},https://shop.example/i/{i}.jpg,Acme Outdoor,{gtin:014},Home > Kitchen > Mugs,in_stock,{q},{p}.{c:02} USD,US:ALL:Standard:3-5:5.00 USD,Blue,M,GRP-{g}\n",
            gtin = 10_000_000_000_000u64 + i,
            q = i % 500,
            p = 5 + i % 90,
            c = i % 100,
            g = i / 4,
        );
        if written + line.len() as u64 > target_bytes {
            break;
        }
        out.write_all(line.as_bytes())?;
        written += line.len() as u64;
        i += 1;
    }
    out.flush()?;
    Ok(written)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let endpoint = |name: &str| {
        std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set: run `make bench-upload`"))
    };
    let (dynamo_endpoint, s3_endpoint, sim_url) = (
        endpoint("DYNAMODB_ENDPOINT"),
        endpoint("S3_ENDPOINT"),
        endpoint("STRIPE_SIM_URL"),
    );
    let megabytes: u64 = std::env::var("BENCH_CATALOG_MB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(190);

    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let path = dir.join("bench-catalog.csv");
    let bad = std::env::var("BENCH_BAD_ROWS").is_ok_and(|v| v == "1");
    let row_bytes: usize = std::env::var("BENCH_ROW_BYTES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let v2 = std::env::var("BENCH_GENERATION").is_ok_and(|v| v == "v2");
    let size = write_catalog(&path, megabytes * 1_000_000, bad, row_bytes)?;

    let account = "acct_1BenchMerchant";
    let key = format!("incoming/{account}/catalog/bench.csv");
    let mut merchant = Merchant::new(account);
    merchant.validation = ValidationMode::Lenient;
    if v2 {
        merchant.api_generation = shared::merchants::ApiGeneration::V2;
    }
    let (uploader, s3, bucket) =
        common::rig(dynamo_endpoint, &s3_endpoint, &sim_url, &merchant, "bench").await?;
    let put = s3
        .put_object()
        .bucket(&bucket)
        .key(&key)
        .body(aws_sdk_s3::primitives::ByteStream::from_path(&path).await?)
        .send()
        .await?;

    let before = common::reset_peak();
    let started = Instant::now();
    let outcome = uploader
        .on_object_created(
            &bucket,
            &key,
            put.version_id().map(str::to_string),
            None,
            size,
        )
        .await?;
    let elapsed = started.elapsed();
    let peak = common::status_kib("VmHWM:");
    let _ = std::fs::remove_file(&path);

    println!(
        "validate-and-upload of a {:.1} MB catalog{} ({})",
        size as f64 / 1e6,
        if bad { " of failing rows" } else { "" },
        if v2 {
            "v2: S3 -> validation -> import + upload URL PUT"
        } else {
            "v1: S3 -> validation -> Files API + ImportSet"
        }
    );
    let report = s3
        .head_object()
        .bucket(&bucket)
        .key(format!("reports/{account}/bench.csv/validation.csv"))
        .send()
        .await
        .ok()
        .and_then(|h| h.content_length());
    println!(
        "  validation.csv {}",
        report.map_or("none".to_string(), |b| format!("{:.1} MB", b as f64 / 1e6))
    );
    println!("  outcome        {outcome:?}");
    println!(
        "  elapsed        {:.2} s ({:.0} MB/s end to end, through the S3 emulator and stripe-sim)",
        elapsed.as_secs_f64(),
        size as f64 / 1e6 / elapsed.as_secs_f64()
    );
    println!("  RSS before     {:.1} MiB", before as f64 / 1024.0);
    println!(
        "  peak RSS       {:.1} MiB (process high-water mark during the path)",
        peak as f64 / 1024.0
    );
    Ok(())
}

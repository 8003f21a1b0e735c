//! Catalog validation throughput on a generated ~200 MB product feed, beside a plain scan
//! of the same bytes (memchr counting newlines): the gap is what parsing and the column
//! rules cost. Both are fed in 64 KiB chunks, as an S3 body stream delivers them.
//!
//! `CATALOG_BENCH_OUT=/path/file.csv cargo bench -p shared --bench catalog_validation`
//! also writes the generated file, e.g. to measure peak RSS of `acb catalog validate`.
//! `CATALOG_BENCH_QUICK=1` skips criterion and prints the best of seven validations: on a
//! shared 2-core machine other builds inflate criterion's mean, and the minimum is the
//! run they disturbed least.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use shared::catalog::{Discard, FeedKind, Limits, Validator};

const CHUNK: usize = 64 * 1024;
/// Just under the v1 limit (200 MB), so the same file validates on both upload paths.
const TARGET_BYTES: usize = 199_000_000;

/// xorshift64*: deterministic, so every run measures the same file.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }
}

const WORDS: &[&str] = &[
    "durable",
    "lightweight",
    "breathable",
    "waterproof",
    "recycled",
    "organic",
    "cotton",
    "merino",
    "stainless",
    "steel",
    "ergonomic",
    "compact",
    "trail",
    "everyday",
    "premium",
    "handmade",
    "soft",
    "warm",
    "classic",
    "modern",
    "design",
    "comfort",
    "fit",
    "grip",
    "outdoor",
    "travel",
    "kitchen",
    "garden",
    "camping",
    "hiking",
    "the",
    "and",
    "with",
    "for",
    "a",
    "of",
    "to",
    "in",
    "is",
    "made",
    "from",
    "built",
    "gentle",
    "machine",
    "washable",
    "résistant",
    "qualité",
    "größe",
];
const NOUNS: &[&str] = &[
    "Shoe", "Jacket", "Backpack", "Mug", "Tent", "Lantern", "Sock", "Tee", "Hoodie", "Bottle",
    "Stove", "Chair", "Blanket", "Scarf", "Cap",
];
const BRANDS: &[&str] = &["Acme", "Loomwell", "Northpeak", "Riverstone", "Élan"];
const COLORS: &[&str] = &[
    "Red",
    "Blue",
    "Forest Green",
    "Black",
    "Sand",
    "Heather Grey",
];
const SIZES: &[&str] = &["XS", "S", "M", "L", "XL", "38", "40", "42", "44"];
const CATEGORIES: &[&str] = &[
    "Apparel & Accessories > Clothing > Outerwear",
    "Apparel & Accessories > Shoes",
    "Sporting Goods > Outdoor Recreation > Camping & Hiking",
    "Home & Garden > Kitchen & Dining > Tableware",
];

const HEADER: &str = "id,title,description,link,image_link,additional_image_link,brand,gtin,mpn,condition,google_product_category,product_category,age_group,material,length,width,height,weight,item_group_id,item_group_title,color,size,size_system,gender,availability,inventory_not_tracked,inventory_quantity,price,sale_price,sale_price_effective_date,stripe_product_tax_code,tax_behavior,shipping,shipping_cost_basis,free_shipping_threshold,popularity_score,return_rate,product_review_count,product_review_rating,related_products,custom_label_0\n";

fn description(rng: &mut Rng, out: &mut String) {
    let target = 200 + rng.below(1000) as usize;
    out.push('"');
    let start = out.len();
    while out.len() - start < target {
        out.push_str(rng.pick(WORDS));
        match rng.below(12) {
            0 => out.push_str(", "),
            1 => out.push_str(". "),
            2 => out.push_str(" \"\"best\"\" "),
            _ => out.push(' '),
        }
    }
    out.push('"');
}

/// A product feed of about `target` bytes: groups of three variants, every column a real
/// feed fills, quoted descriptions with commas and escaped quotes, and a bad row now and
/// then (wrong price format, shouting title, dangling speed range).
fn catalog(target: usize) -> Vec<u8> {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut out = String::with_capacity(target + 8192);
    out.push_str(HEADER);
    let mut row = 0u64;
    while out.len() < target {
        let group = row / 3;
        let mut grng = Rng(group.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
        let noun = grng.pick(NOUNS);
        let brand = grng.pick(BRANDS);
        let category = grng.pick(CATEGORIES);
        let color = grng.pick(COLORS);
        let size = rng.pick(SIZES);
        let price = 5 + grng.below(300);
        let title = if row % 1499 == 7 {
            format!(
                "{} {} FOR EVERYONE",
                brand.to_uppercase(),
                noun.to_uppercase()
            )
        } else {
            format!("{brand} {noun} {size}")
        };
        let price_field = if row % 997 == 13 {
            format!("{price},99 EUR")
        } else {
            format!("{price}.99 USD")
        };
        let speed = if row % 1201 == 5 { "5-3" } else { "3-5" };
        let sale = if row % 4 == 0 {
            format!("{}.49 USD,2025-11-28/2025-12-01", price - 1)
        } else {
            ",".to_string()
        };
        out.push_str(&format!("SKU-{row:08},{title},"));
        description(&mut rng, &mut out);
        out.push_str(&format!(
            ",https://shop.example/p/{group}?v={row},https://cdn.example/img/{row}.jpg,\"https://cdn.example/img/{row}-2.jpg,https://cdn.example/img/{row}-3.jpg\",{brand},{gtin:014},MPN-{row},new,{gpc},{category},adult,Cotton,{l} cm,{w} cm,{h} cm,{kg}.{g} kg,G-{group},{brand} {noun},{color},{size},US,unisex,{avail},false,{qty},{price_field},{sale},txcd_99999999,exclusive,\"US:ALL:Standard:{speed}:5.00 USD,US:CA:Express:1-2:15.00 USD\",per_order,US:ALL:Standard:75.00 USD,{pop}.{pop2},{rr}.5,{reviews},4.{rating},\"upsell:SKU-{up:08},accessory:SKU-{acc:08}\",summer-{lbl}\n",
            gtin = 10_000_000_000_000 + row,
            gpc = 100 + grng.below(5000),
            l = 10 + rng.below(90),
            w = 5 + rng.below(40),
            h = 2 + rng.below(30),
            kg = rng.below(10),
            g = rng.below(10),
            avail = ["in_stock", "in_stock", "out_of_stock", "backorder"][rng.below(4) as usize],
            qty = rng.below(500),
            pop = rng.below(5),
            pop2 = rng.below(10),
            rr = rng.below(30),
            reviews = rng.below(2000),
            rating = rng.below(10),
            up = row + 1,
            acc = row + 2,
            lbl = rng.below(100),
        ));
        row += 1;
    }
    out.into_bytes()
}

fn validate(data: &[u8]) -> u64 {
    let mut validator = Validator::new(FeedKind::Product, Limits::v2());
    let mut sink = Discard;
    for chunk in data.chunks(CHUNK) {
        if validator.push(chunk, &mut sink).is_err() {
            return 0;
        }
    }
    validator
        .finish(&mut sink)
        .map(|s| s.rows_with_errors)
        .unwrap_or(0)
}

fn bench(c: &mut Criterion) {
    let data = catalog(TARGET_BYTES);
    if let Ok(path) = std::env::var("CATALOG_BENCH_OUT") {
        if let Err(e) = std::fs::write(&path, &data) {
            eprintln!("could not write {path}: {e}");
        }
    }
    // The file must be what it claims: valid but for the few planted bad rows.
    let mut validator = Validator::new(FeedKind::Product, Limits::v2());
    for chunk in data.chunks(CHUNK) {
        validator
            .push(chunk, &mut Discard)
            .expect("generated catalog is well-formed");
    }
    let summary = validator
        .finish(&mut Discard)
        .expect("generated catalog is well-formed");
    eprintln!(
        "generated catalog: {} bytes, {} rows, {} rows with errors",
        summary.bytes, summary.rows, summary.rows_with_errors
    );

    if std::env::var_os("CATALOG_BENCH_QUICK").is_some() {
        let mut best = f64::MAX;
        for _ in 0..7 {
            let t = std::time::Instant::now();
            black_box(validate(black_box(&data)));
            best = best.min(t.elapsed().as_secs_f64());
            eprintln!("QUICK run {:.1} ms", t.elapsed().as_secs_f64() * 1e3);
        }
        eprintln!(
            "QUICK best {:.1} ms, {:.1} MB/s",
            best * 1e3,
            data.len() as f64 / best / 1e6
        );
        return;
    }
    let mut group = c.benchmark_group("catalog_200MB");
    group.sample_size(10);
    group.warm_up_time(Duration::from_secs(2));
    group.measurement_time(Duration::from_secs(10));
    group.throughput(Throughput::Bytes(data.len() as u64));
    group.bench_function("byte_scan_newlines", |b| {
        b.iter(|| {
            data.chunks(CHUNK)
                .map(|chunk| memchr::memchr_iter(b'\n', black_box(chunk)).count())
                .sum::<usize>()
        })
    });
    group.bench_function("validate_product", |b| {
        b.iter(|| validate(black_box(&data)))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

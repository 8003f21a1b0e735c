//! The catalog validator through its public API: fixtures, structure (encodings, quoting,
//! line endings, limits), streaming in arbitrary chunks, and the error file.

use std::path::Path;

use proptest::prelude::*;
use shared::catalog::{
    ERROR_COLUMN, ErrorCsvWriter, Fatal, FeedKind, Header, Limits, Record, RowError, RowSink,
    Summary, ValidationReport, Validator, validate_reader,
};

fn fixture(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/catalog")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Everything a sink can observe, to compare runs.
#[derive(Debug, Default, PartialEq)]
struct Capture {
    header: Vec<String>,
    delimiter: u8,
    header_raw: Vec<u8>,
    rows: Vec<CapturedRow>,
}

#[derive(Debug, PartialEq)]
struct CapturedRow {
    line: u64,
    id: Option<String>,
    fields: Vec<String>,
    raw: Vec<u8>,
    errors: Vec<RowError>,
}

impl RowSink for Capture {
    type Error = std::convert::Infallible;

    fn header(&mut self, header: &Header) -> Result<(), Self::Error> {
        self.header = header.columns().to_vec();
        self.delimiter = header.delimiter();
        self.header_raw = header.raw().to_vec();
        Ok(())
    }

    fn row(&mut self, r: &Record<'_>, _: &Header, errors: &[RowError]) -> Result<(), Self::Error> {
        self.rows.push(CapturedRow {
            line: r.line(),
            id: r.id().map(str::to_string),
            fields: r.fields().map(str::to_string).collect(),
            raw: r.raw().to_vec(),
            errors: errors.to_vec(),
        });
        Ok(())
    }
}

/// The outcome, the captured rows and the error file of one run, feeding `chunks` sizes
/// in turn (cycling), or the whole input at once when empty.
fn run_chunked(
    feed: FeedKind,
    input: &[u8],
    chunks: &[usize],
) -> (Result<Summary, Fatal>, Capture, Vec<u8>) {
    let mut sink = (Capture::default(), ErrorCsvWriter::new(Vec::new()));
    let mut validator = Validator::new(feed, Limits::v2());
    let mut pos = 0;
    let mut i = 0;
    let mut outcome = Ok(());
    while pos < input.len() && outcome.is_ok() {
        let n = if chunks.is_empty() {
            input.len()
        } else {
            chunks[i % chunks.len()].max(1)
        };
        let end = (pos + n).min(input.len());
        outcome = validator.push(&input[pos..end], &mut sink);
        pos = end;
        i += 1;
    }
    let result = match outcome {
        Ok(()) => validator.finish(&mut sink),
        Err(fatal) => Err(fatal),
    };
    let (capture, writer) = sink;
    (result, capture, writer.into_inner())
}

fn run(feed: FeedKind, input: &[u8]) -> (Result<Summary, Fatal>, Capture) {
    let (result, capture, _) = run_chunked(feed, input, &[]);
    (result, capture)
}

fn report(feed: FeedKind, input: &[u8]) -> ValidationReport {
    let mut report = ValidationReport::new();
    let outcome = validate_reader(feed, Limits::v1(), input, &mut report);
    report.set_outcome(&outcome);
    report
}

fn crlf(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len() * 2);
    for &b in input {
        if b == b'\n' {
            out.push(b'\r');
        }
        out.push(b);
    }
    out
}

const FIXTURES: &[(&str, FeedKind)] = &[
    ("product_valid.csv", FeedKind::Product),
    ("product_bad_rows.csv", FeedKind::Product),
    ("product_missing_column.csv", FeedKind::Product),
    ("product_valid.tsv", FeedKind::Product),
    ("inventory.csv", FeedKind::Inventory),
    ("pricing.csv", FeedKind::Pricing),
    ("promotion.csv", FeedKind::Promotion),
];

// ---------------------------------------------------------------- fixtures

#[test]
fn valid_fixtures_have_no_errors() {
    for (name, feed, rows) in [
        ("product_valid.csv", FeedKind::Product, 10),
        ("product_valid.tsv", FeedKind::Product, 2),
        ("inventory.csv", FeedKind::Inventory, 3),
        ("pricing.csv", FeedKind::Pricing, 3),
        ("promotion.csv", FeedKind::Promotion, 4),
    ] {
        let report = report(feed, &fixture(name));
        assert_eq!(report.fatal, None, "{name}");
        assert!(report.errors.is_empty(), "{name}: {:#?}", report.errors);
        assert_eq!(report.rows, rows, "{name}");
    }
}

#[test]
fn valid_product_fixture_lines_follow_multi_line_records() {
    let (result, capture) = run(FeedKind::Product, &fixture("product_valid.csv"));
    assert_eq!(result.map(|s| s.rows), Ok(10));
    let lines: Vec<(u64, &str)> = capture
        .rows
        .iter()
        .map(|r| (r.line, r.id.as_deref().unwrap_or("")))
        .collect();
    assert_eq!(lines[6], (8, "BOOK-1"));
    // BOOK-1's description spans two lines, so MUG-1 starts on line 10.
    assert_eq!(lines[7], (10, "MUG-1"));
    assert_eq!(lines[9], (12, "GIFT-1"));
    let book = &capture.rows[6];
    assert_eq!(
        book.fields[2],
        "A walker's memoir.\nSecond printing, with a new afterword."
    );
}

#[test]
fn bad_rows_fixture_reports_each_problem_on_its_line() {
    let report = report(FeedKind::Product, &fixture("product_bad_rows.csv"));
    assert_eq!(report.fatal, None);
    assert_eq!(report.rows, 7);
    let at = |line: u64| -> Vec<Option<&str>> {
        report
            .errors
            .iter()
            .filter(|e| e.line == line)
            .map(|e| e.column)
            .collect()
    };
    assert!(at(2).is_empty());
    assert_eq!(at(3), [Some("price")]);
    assert_eq!(
        at(4),
        [
            Some("title"),
            Some("description"),
            Some("availability_date"),
            Some("sale_price_effective_date")
        ]
    );
    assert_eq!(at(5), [Some("id")]);
    assert_eq!(at(6), [None]);
    // The deletion row: only its id is read.
    assert!(at(7).is_empty());
    let chair = at(8);
    for column in [
        "link",
        "image_link",
        "product_category",
        "brand",
        "mpn",
        "availability",
        "inventory_quantity",
        "shipping",
    ] {
        assert!(chair.contains(&Some(column)), "{column}: {chair:?}");
    }
    assert_eq!(report.rows_with_errors, 5);
    let dup = report
        .errors
        .iter()
        .find(|e| e.line == 5)
        .map(|e| e.id.clone());
    assert_eq!(dup, Some(Some("OK-1".to_string())));
}

#[test]
fn missing_required_column_is_fatal() {
    let (result, capture) = run(FeedKind::Product, &fixture("product_missing_column.csv"));
    assert_eq!(result, Err(Fatal::MissingColumns(vec!["price".into()])));
    assert!(capture.rows.is_empty());
    assert!(
        Fatal::MissingColumns(vec!["price".into()])
            .to_string()
            .contains("missing required column(s): price")
    );
}

#[test]
fn tsv_fixture_is_read_with_tabs() {
    let (result, capture) = run(FeedKind::Product, &fixture("product_valid.tsv"));
    assert!(result.is_ok());
    assert_eq!(capture.delimiter, b'\t');
    assert_eq!(capture.rows[0].fields[2], "Cushioned, warm, merino socks.");
    assert_eq!(
        capture.rows[1].fields[2],
        "Enamel mug; holds 12 oz, \"camp\" classic."
    );
}

#[test]
fn a_feed_read_as_another_is_rejected_for_its_columns() {
    let (result, _) = run(FeedKind::Promotion, &fixture("pricing.csv"));
    assert!(matches!(result, Err(Fatal::MissingColumns(_))));
}

// ---------------------------------------------------------------- structure

#[test]
fn crlf_and_bom_change_nothing() {
    for (name, feed) in FIXTURES {
        let plain = fixture(name);
        let (want, want_capture) = run(*feed, &plain);
        let mut variants = vec![crlf(&plain)];
        let mut bom = b"\xEF\xBB\xBF".to_vec();
        bom.extend_from_slice(&plain);
        variants.push(bom.clone());
        variants.push(crlf(&bom));
        for input in variants {
            let (got, got_capture) = run(*feed, &input);
            assert_eq!(got.map(|s| s.rows), want.clone().map(|s| s.rows), "{name}");
            let strip = |c: &Capture| -> Vec<(u64, Vec<String>, Vec<RowError>)> {
                c.rows
                    .iter()
                    .map(|r| {
                        let fields = r.fields.iter().map(|f| f.replace("\r\n", "\n")).collect();
                        (r.line, fields, r.errors.clone())
                    })
                    .collect()
            };
            assert_eq!(strip(&got_capture), strip(&want_capture), "{name}");
            assert_eq!(got_capture.header, want_capture.header, "{name}");
        }
    }
}

#[test]
fn raw_rows_are_the_original_bytes_without_terminators() {
    let input = b"id,price\r\n\"A\",\"1.00 USD\"\r\n\r\nB,\"2.00\r\nUSD\"\r\nC,3.00 USD";
    let (result, capture) = run(FeedKind::Pricing, input);
    assert_eq!(result.map(|s| s.rows), Ok(3));
    assert_eq!(capture.header_raw, b"id,price");
    let raws: Vec<&[u8]> = capture.rows.iter().map(|r| r.raw.as_slice()).collect();
    assert_eq!(
        raws,
        [
            &b"\"A\",\"1.00 USD\""[..],
            &b"B,\"2.00\r\nUSD\""[..],
            &b"C,3.00 USD"[..]
        ]
    );
    let lines: Vec<u64> = capture.rows.iter().map(|r| r.line).collect();
    assert_eq!(lines, [2, 4, 6]);
    assert_eq!(capture.rows[1].fields[1], "2.00\r\nUSD");
}

#[test]
fn blank_lines_and_empty_rows_are_skipped_but_counted_as_lines() {
    let input = b"\n\nid,price\n\nA,1.00 USD\n   \n,\n , \nB,x\n\n";
    let (result, capture) = run(FeedKind::Pricing, input);
    assert_eq!(result.map(|s| s.rows), Ok(2));
    let lines: Vec<u64> = capture.rows.iter().map(|r| r.line).collect();
    assert_eq!(lines, [5, 9]);
    assert_eq!(capture.rows[1].errors.len(), 1);
}

#[test]
fn header_only_is_accepted_with_no_rows() {
    for input in [
        &b"id,price"[..],
        b"id,price\n",
        b"\xEF\xBB\xBFid,price\r\n\r\n",
    ] {
        let (result, capture) = run(FeedKind::Pricing, input);
        assert_eq!(result.map(|s| s.rows), Ok(0));
        assert_eq!(capture.header, ["id", "price"]);
    }
}

#[test]
fn structural_errors() {
    let cases: &[(&[u8], Fatal)] = &[
        (b"", Fatal::Empty),
        (b"\xEF\xBB\xBF", Fatal::Empty),
        (b"\r\n \n\t\n", Fatal::Empty),
        (b"id;price\nA;1.00 USD\n", Fatal::NoDelimiter),
        (b"id\nA\n", Fatal::NoDelimiter),
        (b"id,price,ID\n", Fatal::DuplicateColumn("id".into())),
        (b"id,pr\xFFice\n", Fatal::NotUtf8 { line: 1 }),
        (
            b"id,price\nA,1.00 USD\n\"B\nB\",\"\xC3\"\xA9\n",
            Fatal::NotUtf8 { line: 4 },
        ),
        (
            b"id,price\nA,1.00 USD\nB,\"2.00 USD\nC,3.00 USD\nD,4.00 USD\n",
            Fatal::UnterminatedQuote { line: 3 },
        ),
        (b"id,\"price\n", Fatal::UnterminatedQuote { line: 1 }),
    ];
    for (input, want) in cases {
        let (got, _) = run(FeedKind::Pricing, input);
        assert_eq!(
            got.as_ref().err(),
            Some(want),
            "{}",
            String::from_utf8_lossy(input)
        );
        // The same in one-byte chunks.
        let (got, _, _) = run_chunked(FeedKind::Pricing, input, &[1]);
        assert_eq!(
            got.as_ref().err(),
            Some(want),
            "{}",
            String::from_utf8_lossy(input)
        );
    }
}

#[test]
fn an_unclosed_quote_in_a_large_file_stops_at_the_record_bound() {
    let mut input = b"id,price\nA,\"1.00 USD\n".to_vec();
    let row = b"B,2.00 USD\n";
    while input.len() < 3 * shared::catalog::MAX_RECORD_BYTES {
        input.extend_from_slice(row);
    }
    for chunks in [&[][..], &[65_536], &[1_000_003]] {
        let (got, _, _) = run_chunked(FeedKind::Pricing, &input, chunks);
        assert_eq!(
            got,
            Err(Fatal::RecordTooLong {
                line: 2,
                limit: shared::catalog::MAX_RECORD_BYTES
            })
        );
    }
}

#[test]
fn too_many_fields_is_fatal() {
    let mut input = b"id,price\nA,".to_vec();
    input.extend(std::iter::repeat_n(b',', shared::catalog::MAX_FIELDS + 5));
    input.push(b'\n');
    let (got, _) = run(FeedKind::Pricing, &input);
    assert!(
        matches!(got, Err(Fatal::TooManyFields { line: 2, .. })),
        "{got:?}"
    );
}

#[test]
fn size_limit_stops_as_soon_as_it_is_exceeded() {
    let mut validator = Validator::new(FeedKind::Pricing, Limits { max_bytes: 100 });
    let mut sink = Capture::default();
    let chunk = b"id,price\nA,1.00 USD\nB,2.00 USD\nC,3.00 USD\nD,4.00 USD\nE,5.00 USD\n";
    assert_eq!(chunk.len(), 64);
    assert_eq!(validator.push(chunk, &mut sink), Ok(()));
    let fatal = Fatal::TooLarge {
        limit: 100,
        at_least: 128,
    };
    assert_eq!(validator.push(chunk, &mut sink), Err(fatal.clone()));
    // Sticky: nothing more is parsed.
    assert_eq!(
        validator.push(b"F,6.00 USD\n", &mut sink),
        Err(fatal.clone())
    );
    assert_eq!(validator.finish(&mut sink), Err(fatal));
    assert_eq!(sink.rows.len(), 5);
    assert_eq!(Limits::v1().max_bytes, 200_000_000);
    assert_eq!(Limits::v2().max_bytes, 4_000_000_000);
}

#[test]
fn records_expose_fields_by_name_and_id() {
    struct Check(Vec<(Option<String>, Option<String>, String)>);
    impl RowSink for Check {
        type Error = String;
        fn header(&mut self, h: &Header) -> Result<(), String> {
            assert_eq!(h.index_of(" PRICE "), Some(1));
            assert_eq!(h.index_of("nope"), None);
            assert_eq!(h.id_index(), Some(0));
            Ok(())
        }
        fn row(&mut self, r: &Record<'_>, h: &Header, _: &[RowError]) -> Result<(), String> {
            self.0.push((
                r.id().map(Into::into),
                r.field(h, "price").map(Into::into),
                r.get(99).to_string(),
            ));
            Ok(())
        }
    }
    let mut check = Check(Vec::new());
    let input = b"Id,Price\n\"A\" ,1.00 USD\n,2.00 USD\n";
    let result = validate_reader(FeedKind::Pricing, Limits::v1(), &input[..], &mut check);
    assert!(result.is_ok());
    assert_eq!(
        check.0,
        [
            (Some("A".into()), Some("1.00 USD".into()), String::new()),
            (None, Some("2.00 USD".into()), String::new())
        ]
    );
}

#[test]
fn sink_errors_stop_validation() {
    struct Fails;
    impl RowSink for Fails {
        type Error = &'static str;
        fn header(&mut self, _: &Header) -> Result<(), Self::Error> {
            Ok(())
        }
        fn row(&mut self, _: &Record<'_>, _: &Header, _: &[RowError]) -> Result<(), Self::Error> {
            Err("disk full")
        }
    }
    let result = validate_reader(
        FeedKind::Pricing,
        Limits::v1(),
        &b"id,price\nA,1.00 USD\n"[..],
        &mut Fails,
    );
    assert_eq!(result, Err(Fatal::Sink("disk full".into())));
}

#[test]
fn reports_cap_their_errors() {
    let mut input = b"id,price\n".to_vec();
    for i in 0..50 {
        input.extend_from_slice(format!("S{i},bad\n").as_bytes());
    }
    let mut report = ValidationReport::with_cap(10);
    let outcome = validate_reader(FeedKind::Pricing, Limits::v1(), &input[..], &mut report);
    report.set_outcome(&outcome);
    assert_eq!(report.errors.len(), 10);
    assert_eq!(report.errors_omitted, 40);
    assert_eq!(report.error_count(), 50);
    let json = report.to_json();
    assert_eq!(json["fatal"], serde_json::Value::Null);
    assert_eq!(json["rows"], 50);
    assert_eq!(json["errors"][0]["line"], 2);
    assert_eq!(json["errors"][0]["id"], "S0");
    assert_eq!(json["errors"][0]["column"], "price");
    assert!(json["errors"][0]["message"].as_str().is_some());
}

// ---------------------------------------------------------------- error file

/// The error file of `input`, re-parsed: its header and rows as fields.
fn error_file_roundtrip(feed: FeedKind, input: &[u8]) -> (Capture, Capture) {
    let (result, original, error_file) = run_chunked(feed, input, &[]);
    assert!(result.is_ok());
    // Read back through the validator only to get at the fields; the leading column is
    // unknown to the feed and so ignored, and the re-checked rows' errors do not matter.
    let mut reread = Capture::default();
    let outcome = validate_reader(feed, Limits::v1(), &error_file[..], &mut reread);
    assert!(
        outcome.is_ok(),
        "{outcome:?}\n{}",
        String::from_utf8_lossy(&error_file)
    );
    (original, reread)
}

#[test]
fn error_file_has_a_leading_error_column_and_the_original_rows() {
    for name in ["product_bad_rows.csv", "product_valid.tsv"] {
        let mut input = fixture(name);
        if name.ends_with(".tsv") {
            // Break one TSV row so the file has something to report.
            input.extend_from_slice(b"X 1\tT\tD\tL\tI\tB\tG\tC\tsoon\t1\t1 USD\n");
        }
        let (original, reread) = error_file_roundtrip(FeedKind::Product, &input);
        assert_eq!(reread.delimiter, original.delimiter, "{name}");
        assert_eq!(reread.header[0], ERROR_COLUMN);
        assert_eq!(&reread.header[1..], &original.header[..]);
        let failed: Vec<&CapturedRow> = original
            .rows
            .iter()
            .filter(|r| !r.errors.is_empty())
            .collect();
        assert!(!failed.is_empty());
        assert_eq!(reread.rows.len(), failed.len(), "{name}");
        for (back, orig) in reread.rows.iter().zip(&failed) {
            let messages: Vec<String> = orig.errors.iter().map(ToString::to_string).collect();
            assert_eq!(back.fields[0], messages.join("; "));
            assert_eq!(&back.fields[1..], &orig.fields[..], "{name}");
        }
    }
}

#[test]
fn error_file_quotes_messages_with_quotes_and_delimiters() {
    let input = b"id,price\n\"A\"\"1\",\"x, \"\"y\"\"\"\n";
    let (original, reread) = error_file_roundtrip(FeedKind::Pricing, input);
    assert_eq!(original.rows.len(), 1);
    assert!(reread.rows[0].fields[0].contains("`x, \"y\"`"));
    assert_eq!(reread.rows[0].fields[1], "A\"1");
    assert_eq!(reread.rows[0].fields[2], "x, \"y\"");
}

// ---------------------------------------------------------------- streaming

#[test]
fn one_byte_chunks_give_the_same_result() {
    for (name, feed) in FIXTURES {
        let input = fixture(name);
        let whole = run_chunked(*feed, &input, &[]);
        let bytes = run_chunked(*feed, &input, &[1]);
        assert_eq!(whole.0, bytes.0, "{name}");
        assert_eq!(whole.1, bytes.1, "{name}");
        assert_eq!(whole.2, bytes.2, "{name}");
        let crlf_input = crlf(&input);
        assert_eq!(
            run_chunked(*feed, &crlf_input, &[]),
            run_chunked(*feed, &crlf_input, &[1]),
            "{name}"
        );
    }
}

fn all_fixtures() -> Vec<(Vec<u8>, FeedKind)> {
    FIXTURES
        .iter()
        .map(|(name, feed)| (fixture(name), *feed))
        .collect()
}

/// A CSV value as a writer would quote it.
fn quoted(v: &str) -> String {
    if v.contains([',', '"', '\n', '\r']) || v.is_empty() {
        format!("\"{}\"", v.replace('"', "\"\""))
    } else {
        v.to_string()
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn random_chunking_gives_the_same_result(
        which in 0usize..7,
        chunks in proptest::collection::vec(1usize..200, 1..8),
        line_ending_crlf in any::<bool>(),
        bom in any::<bool>(),
    ) {
        let (mut input, feed) = all_fixtures().swap_remove(which);
        if line_ending_crlf {
            input = crlf(&input);
        }
        if bom {
            input.splice(0..0, b"\xEF\xBB\xBF".iter().copied());
        }
        let whole = run_chunked(feed, &input, &[]);
        let chunked = run_chunked(feed, &input, &chunks);
        prop_assert_eq!(whole, chunked);
    }

    #[test]
    fn arbitrary_bytes_never_panic(
        input in proptest::collection::vec(any::<u8>(), 0..600),
        chunks in proptest::collection::vec(1usize..64, 1..4),
        feed in 0usize..4,
    ) {
        let feed = FeedKind::ALL[feed];
        let a = run_chunked(feed, &input, &[]);
        let b = run_chunked(feed, &input, &chunks);
        prop_assert_eq!(a, b);
    }

    #[test]
    fn csv_like_bytes_never_panic(
        header in prop::sample::select(vec![
            "id,price,sale_price,sale_price_effective_date\n",
            "id\tavailability\tinventory_quantity\n",
            "promotion_id,title,benefit_type,active_period,target_selection,application_type,percent_off\n",
            "id,title,description,link,image_link,availability,price,shipping,free_shipping_threshold,related_products,product_warning,item_group_id,color\n",
        ]),
        body in proptest::collection::vec(
            prop::sample::select(vec![
                "a", ",", "\t", "\"", "\n", "\r\n", "\r", ":", "-", "1", "15.00 USD", "US", "*",
                "https://x.example", "2025-01-01", "/", "true", "é", "\u{FEFF}", " ", "_", "\x00",
            ]),
            0..200,
        ),
        chunks in proptest::collection::vec(1usize..32, 1..4),
        feed in 0usize..4,
    ) {
        let mut input = header.as_bytes().to_vec();
        for piece in &body {
            input.extend_from_slice(piece.as_bytes());
        }
        let feed = FeedKind::ALL[feed];
        let a = run_chunked(feed, &input, &[]);
        let b = run_chunked(feed, &input, &chunks);
        prop_assert_eq!(a, b);
    }

    /// Whatever the values hold (delimiters, quotes, newlines, non-ASCII), quoting them
    /// the standard way gets them back exactly, with the right start lines.
    #[test]
    fn quoted_values_round_trip(
        rows in proptest::collection::vec(
            (
                "[A-Za-z0-9]{1,8}",
                proptest::collection::vec("[ -~éß\n\r,\"\t]{0,12}", 2),
            ),
            1..12,
        ),
        crlf_endings in any::<bool>(),
        chunks in proptest::collection::vec(1usize..50, 1..4),
    ) {
        let eol = if crlf_endings { "\r\n" } else { "\n" };
        let mut text = format!("id,price,note{eol}");
        let mut want = Vec::new();
        let mut line = 2u64;
        for (id, values) in &rows {
            let row = format!("{},{},{}{eol}", quoted(id), quoted(&values[0]), quoted(&values[1]));
            want.push((line, vec![id.clone(), values[0].clone(), values[1].clone()]));
            line += row.matches('\n').count() as u64;
            text += &row;
        }
        let (result, capture, _) = run_chunked(FeedKind::Pricing, text.as_bytes(), &chunks);
        prop_assert!(result.is_ok(), "{:?}", result);
        // Rows whose every value is blank are skipped as blank lines; ids never are.
        let got: Vec<(u64, Vec<String>)> =
            capture.rows.iter().map(|r| (r.line, r.fields.clone())).collect();
        prop_assert_eq!(got, want);
    }
}

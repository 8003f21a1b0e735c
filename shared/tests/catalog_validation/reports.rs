//! The report and the error file: capped errors, a leading error column, quoting.

use super::*;

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

/// A malformed US wildcard range is reported on the `shipping` column with what is wrong
/// with it; a well-formed one passes (docs/stripe.md §2.2).
#[test]
fn shipping_wildcard_ranges_are_reported_with_their_fault() {
    let fixture = String::from_utf8(fixture("product_valid.csv")).expect("utf-8");
    let mut lines = fixture.lines();
    let (header, row) = (lines.next().expect("header"), lines.next().expect("row"));
    let shipping = "\"US:ALL:Standard:3-5:5.00 USD,US:ALL:Express:1-2:15.00 USD\"";
    assert!(row.contains(shipping));
    let with_area = |area: &str| {
        let entries = format!("\"US:{area}:Standard:3-5:5.00 USD,US:ALL:Express:1-2:15.00 USD\"");
        report(
            FeedKind::Product,
            format!("{header}\n{}\n", row.replace(shipping, &entries)).as_bytes(),
        )
    };
    assert!(with_area("94*-95*").errors.is_empty());
    for (area, says) in [
        ("94*-9x*", "two prefixes of 1 to 4 digits"),
        ("94*-95123", "two prefixes of 1 to 4 digits"),
        ("95*-94*", "starts above its end"),
        ("94*-955*", "same number of digits"),
    ] {
        let report = with_area(area);
        assert_eq!(report.errors.len(), 1, "{area}: {:#?}", report.errors);
        let error = &report.errors[0];
        assert_eq!(error.column, Some("shipping"));
        assert!(
            error.message.contains(area) && error.message.contains(says),
            "{area}: {}",
            error.message
        );
    }
}

//! The committed fixtures: valid feeds pass, the bad-rows file reports each problem on its line.

use super::*;

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

//! Whole-file behaviour: the base rows, field counts against the header, tolerated
//! header quirks, deletions, and feed kinds.

use super::*;

#[test]
fn the_base_rows_are_valid() {
    for feed in FeedKind::ALL {
        ok(feed, &[]);
    }
}

#[test]
fn field_counts_must_match_the_header() {
    let report = run(Product, "id,title\nA,b,c\nB\n");
    assert_eq!(
        report.fatal.as_deref(),
        Some(
            Fatal::MissingColumns(vec![
                "description".into(),
                "link".into(),
                "image_link".into(),
                "availability".into(),
                "price".into()
            ])
            .to_string()
            .as_str()
        )
    );
    let report = run(Pricing, "id,price\nA,1.00 USD,extra\nB\nC,2.00 USD\n");
    let at: Vec<(u64, Option<&str>)> = report.errors.iter().map(|e| (e.line, e.column)).collect();
    assert_eq!(at, [(2, None), (3, None)]);
    assert!(
        report.errors[0]
            .message
            .contains("3 fields but the header has 2")
    );
}

#[test]
fn unknown_columns_and_header_case_are_tolerated() {
    let report = run(Pricing, " ID ,Price,Notes\nA,1.00 USD,anything at all\n");
    assert_eq!(report.fatal, None);
    assert!(report.errors.is_empty(), "{report:#?}");
}

#[test]
fn deletions_need_only_the_id() {
    let mut blank: Vec<(&str, &str)> = PRODUCT.iter().map(|(c, _)| (*c, "")).collect();
    blank.push(("id", "SKU-1"));
    blank.push(("delete", "true"));
    ok(Product, &blank);
    blank.push(("id", ""));
    bad(Product, &blank, "id");
    bad(Product, &[("delete", "yes")], "delete");
    ok(Product, &[("delete", "false")]);

    // A deletions-only file: just the key and `delete`.
    let report = run(Product, "id,delete\nSKU-1,true\nSKU-2,true\nSKU-3,false\n");
    assert_eq!(report.fatal, None);
    assert_eq!(report.rows, 3);
    assert_eq!(report.rows_with_errors, 1);
    assert!(report.errors.iter().all(|e| e.line == 4));
    assert!(
        report
            .errors
            .iter()
            .any(|e| e.column == Some("title") && e.message.contains("file has no `title` column"))
    );
}

#[test]
fn feed_kinds_parse_and_come_from_paths() {
    assert_eq!("catalog".parse::<FeedKind>(), Ok(Product));
    assert_eq!("Product".parse::<FeedKind>(), Ok(Product));
    assert_eq!("promotion".parse::<FeedKind>(), Ok(Promotion));
    assert!("prices".parse::<FeedKind>().is_err());
    assert_eq!(
        FeedKind::from_path("incoming/acct_1/inventory/a.csv"),
        Some(Inventory)
    );
    assert_eq!(FeedKind::from_path("/tmp/catalog/x.tsv"), Some(Product));
    assert_eq!(FeedKind::from_path("/tmp/x.csv"), None);
    for feed in FeedKind::ALL {
        assert_eq!(feed.as_str().parse::<FeedKind>(), Ok(feed));
    }
}

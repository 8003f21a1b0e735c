//! File structure: line endings, BOM, blank lines, quoting, field and size limits, sink errors.

use super::*;

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

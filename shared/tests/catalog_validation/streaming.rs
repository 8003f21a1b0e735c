//! Streaming: any chunking of any input gives the same result as one pass.

use super::*;

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

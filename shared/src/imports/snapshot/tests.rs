//! Tests of `imports::snapshot`.

use super::*;

fn read_all(bytes: &[u8], chunk: usize) -> Result<(SnapshotHeader, Vec<String>), String> {
    let mut reader = SnapshotReader::default();
    let mut lines = Vec::new();
    for piece in bytes.chunks(chunk.max(1)) {
        reader
            .push(piece, |_, entry| {
                lines.push(format!("{entry:?}"));
                Ok(())
            })
            .map_err(|e| e.to_string())?;
    }
    let header = reader.finish().map_err(|e| e.to_string())?;
    Ok((header, lines))
}

fn load(bytes: &[u8], cap: usize) -> Loaded {
    let mut loader = BaseLoader::new(Feed::Product, cap, bytes.len() as u64);
    for piece in bytes.chunks(5) {
        loader.push(piece).unwrap();
    }
    loader.finish().unwrap()
}

fn sent(rows: &[(&str, u64)]) -> Vec<u8> {
    let mut lines = SnapshotLines::new(Kind::Sent, Feed::Product, 1_234);
    for (id, hash) in rows {
        lines.sent(*hash, id);
    }
    lines.end();
    lines.take()
}

#[test]
fn a_snapshot_round_trips_whatever_its_ids_hold_and_however_it_is_cut() {
    let ids = ["SKU-1", "tab\there", "new\nline", "100%", "cr\rlf\n", "é"];
    let bytes = sent(
        &ids.iter()
            .enumerate()
            .map(|(i, id)| (*id, 0x0123_4567_89ab_cdef + i as u64))
            .collect::<Vec<_>>(),
    );
    let text = String::from_utf8(bytes.clone()).unwrap();
    assert!(
        text.starts_with("acb-snapshot v1 sent product 1234\n"),
        "{text}"
    );
    assert!(text.contains("0123456789abcdef\tSKU-1\n"), "{text}");
    assert!(
        text.contains("\ttab%09here\n") && text.contains("\t100%25\n"),
        "{text}"
    );
    assert!(text.ends_with("end 6\n"), "{text}");
    for chunk in [1, 3, 7, 4096] {
        let (header, lines) = read_all(&bytes, chunk).unwrap();
        assert_eq!(
            header,
            SnapshotHeader {
                kind: Kind::Sent,
                feed: Feed::Product,
                computed_at: 1_234
            }
        );
        let expected: Vec<String> = ids
            .iter()
            .enumerate()
            .map(|(i, id)| {
                format!(
                    "{:?}",
                    Entry::Sent {
                        hash: 0x0123_4567_89ab_cdef + i as u64,
                        id: Cow::Borrowed(*id)
                    }
                )
            })
            .collect();
        assert_eq!(lines, expected, "chunks of {chunk}");
    }
    let Loaded::Snapshot(base) = load(&bytes, 10) else {
        panic!("loads");
    };
    assert_eq!(base.len(), 6);
    assert_eq!(base.computed_at, 1_234);
    assert_eq!(base.get("new\nline"), Some(0x0123_4567_89ab_cdef + 2));
    assert_eq!(base.get("SKU-2"), None);
}

#[test]
fn candidates_round_trip_with_missing_entries() {
    let mut lines = SnapshotLines::new(Kind::Candidate, Feed::Inventory, 9);
    lines.candidate(Some(5), None, "A");
    lines.candidate(None, Some(DIRTY), "B");
    lines.candidate(Some(7), Some(7), "C");
    lines.end();
    let (header, entries) = read_all(&lines.take(), 2).unwrap();
    assert_eq!(
        (header.kind, header.feed),
        (Kind::Candidate, Feed::Inventory)
    );
    assert_eq!(
        entries,
        [
            r#"Candidate { new: Some(5), old: None, id: "A" }"#,
            r#"Candidate { new: None, old: Some(0), id: "B" }"#,
            r#"Candidate { new: Some(7), old: Some(7), id: "C" }"#,
        ]
    );
}

#[test]
fn cut_or_foreign_snapshots_are_refused_not_half_read() {
    let whole = sent(&[("A", 1), ("B", 2)]);
    let cut = &whole[..whole.len() - 6];
    assert!(read_all(cut, 4).unwrap_err().contains("incomplete"));
    let mut lying = whole.clone();
    let at = lying.len() - 2;
    lying[at] = b'3';
    assert!(read_all(&lying, 4).unwrap_err().contains("end says 3"));
    for foreign in [
        &b"acb-snapshot v9 sent product 1\nend 0\n"[..],
        b"id,title\nA,B\n",
        b"acb-snapshot v1 sent product 1\nzz\tA\nend 1\n",
        b"acb-snapshot v1 sent product 1\n0000000000000001\tA%zz\nend 1\n",
    ] {
        assert!(read_all(foreign, 3).is_err(), "{foreign:?}");
    }
    let mut loader = BaseLoader::new(Feed::Inventory, 10, 0);
    assert!(
        loader.push(&whole).is_err(),
        "a product snapshot for inventory"
    );
}

#[test]
fn past_the_cap_nothing_is_kept_and_the_loader_says_so() {
    let rows: Vec<(String, u64)> = (0..50).map(|i| (format!("SKU-{i}"), i + 1)).collect();
    let refs: Vec<(&str, u64)> = rows.iter().map(|(id, h)| (id.as_str(), *h)).collect();
    let bytes = sent(&refs);
    assert!(matches!(load(&bytes, 50), Loaded::Snapshot(b) if b.len() == 50));
    assert!(matches!(load(&bytes, 49), Loaded::OverCap));
    let tombstone = SnapshotLines::tombstone(Feed::Product, 5);
    assert_eq!(tombstone, b"acb-snapshot v1 none product 5\nend 0\n");
    assert!(matches!(load(&tombstone, 10), Loaded::Absent));
}

#[test]
fn an_id_stored_twice_is_dirty_and_dirty_marks_stick() {
    let Loaded::Snapshot(mut base) = load(&sent(&[("A", 5), ("B", 6), ("A", 5)]), 10) else {
        panic!("loads");
    };
    assert_eq!((base.get("A"), base.get("B")), (Some(DIRTY), Some(6)));
    base.mark_dirty(id_hash("B"));
    base.mark_dirty(id_hash("nobody"));
    assert_eq!((base.get("B"), base.len()), (Some(DIRTY), 2));
    assert_eq!(base.visit("B"), Some((DIRTY, false)));
    assert_eq!(base.visit("B"), Some((DIRTY, true)));
}

#[test]
fn promotion_keeps_old_entries_for_failed_rows() {
    let mut candidate = SnapshotLines::new(Kind::Candidate, Feed::Product, 77);
    candidate.candidate(Some(10), Some(9), "changed-ok");
    candidate.candidate(Some(11), Some(8), "changed-failed");
    candidate.candidate(Some(12), None, "new-ok");
    candidate.candidate(Some(13), None, "new-failed");
    candidate.candidate(None, Some(7), "deleted-ok");
    candidate.candidate(None, Some(6), "deleted-failed");
    candidate.end();
    let bytes = candidate.take();
    let mut promotion = Promotion::new(|id: &str| id.ends_with("-failed"));
    let mut out = Vec::new();
    for piece in bytes.chunks(9) {
        out.extend(promotion.push(piece).unwrap());
    }
    out.extend(promotion.finish().unwrap());
    let text = String::from_utf8(out).unwrap();
    assert_eq!(
        text,
        "acb-snapshot v1 sent product 77\n\
         000000000000000a\tchanged-ok\n\
         0000000000000008\tchanged-failed\n\
         000000000000000c\tnew-ok\n\
         0000000000000006\tdeleted-failed\n\
         end 4\n"
    );
}

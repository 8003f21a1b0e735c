//! Tests of `imports::delta`.

use super::*;
use crate::catalog::{Limits, Validator};
use crate::imports::snapshot::{BaseLoader, Loaded, SnapshotReader};

/// Every row's hash, in file order.
fn hashes(feed: Feed, text: &str) -> Vec<u64> {
    struct Collect(Vec<u64>, Option<RowHasher>);
    impl RowSink for Collect {
        type Error = std::convert::Infallible;
        fn header(&mut self, header: &Header) -> Result<(), Self::Error> {
            self.1 = Some(RowHasher::new(header));
            Ok(())
        }
        fn row(&mut self, r: &Record<'_>, _: &Header, _: &[RowError]) -> Result<(), Self::Error> {
            if let Some(h) = self.1.as_ref() {
                self.0.push(h.hash(r));
            }
            Ok(())
        }
    }
    let mut sink = Collect(Vec::new(), None);
    let mut validator = Validator::new(feed, Limits::v2());
    validator.push(text.as_bytes(), &mut sink).unwrap();
    validator.finish(&mut sink).unwrap();
    sink.0
}

#[test]
fn the_row_hash_ignores_column_order_and_the_delimiter() {
    let a = hashes(
        Feed::Inventory,
        "id,availability,inventory_quantity\nA,in_stock,3\nB,out_of_stock,0\n",
    );
    let b = hashes(
        Feed::Inventory,
        "inventory_quantity\tID\tavailability\n3\tA\tin_stock\n0\tB\tout_of_stock\n",
    );
    let quoted = hashes(
        Feed::Inventory,
        "availability,id,inventory_quantity\n\"in_stock\",A,\"3\"\n",
    );
    assert_eq!(a, b);
    assert_eq!(a[0], quoted[0]);
    assert_ne!(a[0], a[1]);
    assert!(a.iter().all(|h| *h != DIRTY && *h >> 63 == 0));
}

#[test]
fn any_value_change_changes_the_row_hash() {
    let header = "id,title,price,color";
    let base = format!("{header}\nA,Mug,1.00 USD,Blue\n");
    let [original] = hashes(Feed::Pricing, &base)[..] else {
        panic!("one row");
    };
    for changed in [
        "A,Mug,1.01 USD,Blue",
        "A,mug,1.00 USD,Blue",
        "A,Mug,1.00 USD,",
        "A,Mug ,1.00 USD,Blue",
        "A,Mug,1.00 USD,Blue,",
        "A,Mug,1.00 USD",
        "A,\"Mug,\",1.00 USD,Blue",
        "B,Mug,1.00 USD,Blue",
    ] {
        let text = format!("{header}\n{changed}\n");
        assert_ne!(hashes(Feed::Pricing, &text), [original], "{changed}");
    }
    // Moving text from one field to the next is a change, though the bytes concatenate
    // the same; so are an added empty column and a renamed column.
    let shifted = hashes(Feed::Pricing, "id,title,price,color\nA,Mu,g1.00 USD,Blue\n");
    assert_ne!(shifted, [original]);
    let wider = hashes(
        Feed::Pricing,
        "id,title,price,color,size\nA,Mug,1.00 USD,Blue,\n",
    );
    assert_ne!(wider, [original]);
    let renamed = hashes(Feed::Pricing, "id,name,price,color\nA,Mug,1.00 USD,Blue\n");
    assert_ne!(renamed, [original]);
}

fn base_of(rows: &[(&str, u64)]) -> BaseSnapshot {
    let mut lines = SnapshotLines::new(Kind::Sent, Feed::Product, 1);
    for (id, hash) in rows {
        lines.sent(*hash, id);
    }
    lines.end();
    let bytes = lines.take();
    let mut loader = BaseLoader::new(Feed::Product, 100, 0);
    loader.push(&bytes).unwrap();
    match loader.finish().unwrap() {
        Loaded::Snapshot(base) => base,
        other => panic!("{other:?}"),
    }
}

/// Runs the pass (and the carry-over of `stored`) and returns (delta, candidate lines).
fn run(
    base: Option<&mut BaseSnapshot>,
    stored: &[(&str, u64)],
    replace: bool,
    text: &str,
) -> (String, Vec<String>, DeltaCounts) {
    let mut pass = DeltaPass::new(Feed::Product, base, replace, 42);
    let mut validator = Validator::new(Feed::Product, Limits::v2());
    validator.push(text.as_bytes(), &mut pass).unwrap();
    validator.finish(&mut pass).unwrap();
    for (id, hash) in stored {
        pass.carry_over(&Entry::Sent {
            hash: *hash,
            id: (*id).into(),
        });
    }
    pass.finish();
    let delta = String::from_utf8(pass.take_delta()).unwrap();
    let candidate = pass.take_candidate();
    let mut reader = SnapshotReader::default();
    let mut lines = Vec::new();
    reader
        .push(&candidate, |_, e| {
            if let Entry::Candidate { new, old, id } = e {
                lines.push(format!("{id} {new:?} {old:?}"));
            }
            Ok(())
        })
        .unwrap();
    reader.finish().unwrap();
    (delta, lines, pass.counts)
}

const HEADER: &str = "id,title,description,link,image_link,availability,price";

fn product(id: &str, title: &str) -> String {
    format!("{id},{title},Nice,https://s.example/{id},https://s.example/{id}.jpg,in_stock,1.00 USD")
}

#[test]
fn a_replace_file_sends_changes_and_deletions_and_keeps_the_rest_out() {
    let text = format!(
        "{HEADER}\n{}\n{}\n{}\n",
        product("A", "Mug"),
        product("B", "Bowl v2"),
        product("D", "Dish")
    );
    let first = hashes(
        Feed::Product,
        &format!(
            "{HEADER}\n{}\n{}\n",
            product("A", "Mug"),
            product("B", "Bowl")
        ),
    );
    let stored = [("A", first[0]), ("B", first[1]), ("C", 99)];
    let mut base = base_of(&stored);
    let (delta, candidate, counts) = run(Some(&mut base), &stored, true, &text);
    assert_eq!(
        delta,
        format!(
            "{HEADER},delete\n{},\n{},\nC,,,,,,,true\n",
            product("B", "Bowl v2"),
            product("D", "Dish")
        )
    );
    assert_eq!(
        counts,
        DeltaCounts {
            unchanged: 1,
            new: 1,
            changed: 1,
            deleted: 1
        }
    );
    let now = hashes(Feed::Product, &text);
    assert_eq!(
        candidate,
        [
            format!("A Some({}) Some({})", now[0], first[0]),
            format!("B Some({}) Some({})", now[1], first[1]),
            format!("D Some({}) None", now[2]),
            "C None Some(99)".to_string(),
        ]
    );
}

#[test]
fn an_upsert_file_keeps_what_it_does_not_name_and_dirty_ids_go_again() {
    let text = format!("{HEADER}\n{}\n", product("A", "Mug"));
    let [hash] = hashes(Feed::Product, &text)[..] else {
        panic!("one row");
    };
    let stored = [("A", hash), ("C", 7)];
    let mut base = base_of(&stored);
    let (delta, candidate, counts) = run(Some(&mut base), &stored, false, &text);
    assert_eq!(
        (delta.as_str(), counts.unchanged),
        ("", 1),
        "nothing to send"
    );
    assert_eq!(
        candidate,
        [
            format!("A Some({hash}) Some({hash})"),
            "C Some(7) Some(7)".into()
        ]
    );
    let mut base = base_of(&stored);
    base.mark_dirty(id_hash("A"));
    let (delta, _, counts) = run(Some(&mut base), &stored, false, &text);
    assert_eq!(delta, format!("{HEADER}\n{}\n", product("A", "Mug")));
    assert_eq!((counts.changed, counts.unchanged), (1, 0));
}

#[test]
fn without_a_base_only_the_candidate_is_written() {
    let text = format!("{HEADER},delete\n{},\nZ,,,,,,,true\n", product("A", "Mug"));
    let (delta, candidate, counts) = run(None, &[], true, &text);
    assert_eq!(delta, "");
    assert_eq!(candidate.len(), 1, "{candidate:?}");
    assert!(candidate[0].starts_with("A Some("));
    assert_eq!((counts.new, counts.deleted), (1, 1));
}

#[test]
fn a_repeated_id_goes_again_and_is_dirty_in_the_candidate() {
    let text = format!(
        "{HEADER}\n{}\n{}\n",
        product("A", "Mug"),
        product("A", "Mug 2")
    );
    let [first, _] = hashes(Feed::Product, &text)[..] else {
        panic!("two rows");
    };
    let stored = [("A", first)];
    let mut base = base_of(&stored);
    let (delta, candidate, counts) = run(Some(&mut base), &stored, false, &text);
    assert_eq!(delta, format!("{HEADER}\n{}\n", product("A", "Mug 2")));
    assert_eq!((counts.unchanged, counts.changed), (1, 1));
    assert_eq!(candidate[1], format!("A Some(0) Some({first})"));
}

//! Rules across rows (`rules::ids`, `rules::variants`): key format and duplicate keys,
//! variant attributes per item group.

use super::*;

#[test]
fn product_ids() {
    bad(Product, &[("id", "")], "id");
    bad(Product, &[("id", &"x".repeat(101))], "id");
    bad(Product, &[("id", "SKU 1")], "id");
    bad(Product, &[("id", "SKU,1")], "id");
    ok(Product, &[("id", &"x".repeat(100))]);
    ok(Product, &[("id", "Sku_1.b-2")]);
}

#[test]
fn duplicate_ids_fail_on_the_later_rows() {
    let text = csv(
        PRODUCT,
        &[&[], &[("id", "SKU-7")], &[], &[("id", " SKU-1 ")]],
    );
    let report = run(Product, &text);
    let lines: Vec<u64> = report.errors.iter().map(|e| e.line).collect();
    assert_eq!(lines, [4, 5]);
    assert!(report.errors.iter().all(|e| e.column == Some("id")));
    assert!(report.errors[0].message.contains("earlier row"));
}

#[test]
fn variant_groups_carry_the_same_attributes() {
    let text = csv(
        PRODUCT,
        &[
            &[("id", "A-S"), ("item_group_id", "A"), ("size", "S")],
            &[("id", "A-M"), ("item_group_id", "A"), ("size", "M")],
            &[("id", "A-L"), ("item_group_id", "A"), ("size", "")],
            &[
                ("id", "B-1"),
                ("item_group_id", "B"),
                ("color", ""),
                ("size", ""),
            ],
            &[
                ("id", "B-2"),
                ("item_group_id", "B"),
                ("color", ""),
                ("size", ""),
            ],
            &[
                ("id", "B-3"),
                ("item_group_id", "B"),
                ("color", ""),
                ("size", ""),
                ("material", "Wool"),
            ],
        ],
    );
    let report = run(Product, &text);
    let at: Vec<(u64, Option<&str>)> = report.errors.iter().map(|e| (e.line, e.column)).collect();
    assert_eq!(
        at,
        [(4, Some("item_group_id")), (7, Some("item_group_id"))],
        "{report:#?}"
    );
    assert!(
        report.errors[0].message.contains("line 2"),
        "{}",
        report.errors[0].message
    );
}

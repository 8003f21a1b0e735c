//! Long `acb … list` output a page at a time, against DynamoDB Local: the `more:` line
//! resumes where the page ended, JSON carries `next_cursor`, `--all` prints every page, and
//! a cursor that was altered or belongs to another account is refused with a clear error.

use std::process::Command;

use serde_json::Value;
use shared::orders::Order;
use shared::store::OrderStore;
use shared::store::dynamo::DynamoOrders;
use shared::stripe::objects::CheckoutSession;

const ACCOUNT: &str = "acct_1CliPages";
const OTHER: &str = "acct_1CliPagesOther";
const ORDERS: usize = 5;

fn acb(table: &str, args: &[&str]) -> (Option<i32>, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_acb"))
        .args(args)
        .env("ORDERS_TABLE", table)
        .output()
        .expect("run acb");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into(),
        String::from_utf8_lossy(&output.stderr).into(),
    )
}

fn session(i: usize) -> String {
    format!("cs_test_page{i}")
}

async fn orders_table() -> String {
    let dynamo = testkit::dynamo().await;
    let table = testkit::fresh_table(&dynamo, testkit::ORDERS).await;
    let store = DynamoOrders::new(dynamo, &table);
    let fixture: CheckoutSession = serde_json::from_str(include_str!(
        "../../shared/tests/fixtures/checkout_session_expanded.json"
    ))
    .unwrap();
    let sessions = (0..ORDERS).map(|i| (ACCOUNT, session(i)));
    let theirs = (0..2).map(|i| (OTHER, format!("cs_test_other{i}")));
    for (account, id) in sessions.chain(theirs) {
        let mut object = fixture.clone();
        object.id = id;
        let order = Order::from_session(account, &object).unwrap();
        assert!(store.insert_if_absent(&order).await.unwrap());
    }
    table
}

/// The session ids that start the lines of a text listing.
fn sessions_in(out: &str) -> Vec<String> {
    out.lines()
        .filter(|l| l.starts_with("cs_"))
        .map(|l| l.split_whitespace().next().unwrap().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn text_pages_end_with_the_command_for_the_next_one() {
    let table = orders_table().await;
    let mut args: Vec<String> = ["orders", "list", ACCOUNT, "--limit", "2"]
        .map(String::from)
        .to_vec();
    let mut seen = Vec::new();
    let mut pages = 0;
    loop {
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let (status, out, err) = acb(&table, &refs);
        assert_eq!(status, Some(0), "{out}{err}");
        pages += 1;
        seen.extend(sessions_in(&out));
        let Some(more) = out.lines().last().and_then(|l| l.strip_prefix("more: ")) else {
            break;
        };
        assert_eq!(out.lines().count(), 3, "two orders, then more: {out}");
        assert!(
            more.starts_with(&format!("acb orders list {ACCOUNT} --limit 2 --cursor ")),
            "{more}"
        );
        // Run what it says, as an operator would paste it.
        args = more.split_whitespace().skip(1).map(String::from).collect();
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, (0..ORDERS).map(session).collect::<Vec<_>>());

    let (status, out, _) = acb(
        &table,
        &["orders", "list", ACCOUNT, "--limit", "2", "--all"],
    );
    assert_eq!(status, Some(0));
    assert_eq!(sessions_in(&out), seen, "--all: every page, in order");
    assert_eq!(
        out.lines().count(),
        ORDERS,
        "no more: line after the last page"
    );

    let (status, out, _) = acb(&table, &["orders", "list", ACCOUNT]);
    assert_eq!(status, Some(0));
    assert_eq!(out.lines().count(), ORDERS, "fits the default page: {out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_pages_carry_next_cursor_and_all_ends_with_null() {
    let table = orders_table().await;
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut args = vec!["orders", "list", ACCOUNT, "--limit", "2", "--json"];
        if let Some(cursor) = &cursor {
            args.extend(["--cursor", cursor.as_str()]);
        }
        let (status, out, err) = acb(&table, &args);
        assert_eq!(status, Some(0), "{err}");
        let page: Value = serde_json::from_str(&out).expect("one JSON object");
        let orders = page["data"].as_array().expect("data").clone();
        seen.extend(orders.iter().map(|o| o["checkout_session_id"].clone()));
        match &page["next_cursor"] {
            Value::String(next) => {
                assert_eq!(orders.len(), 2);
                cursor = Some(next.clone());
            }
            Value::Null => break,
            other => panic!("next_cursor is a string or null, not {other}"),
        }
    }
    let expected: Vec<Value> = (0..ORDERS).map(|i| Value::from(session(i))).collect();
    assert_eq!(seen, expected);

    let (status, out, _) = acb(
        &table,
        &["orders", "list", ACCOUNT, "--limit", "2", "--all", "--json"],
    );
    assert_eq!(status, Some(0));
    let all: Value = serde_json::from_str(&out).expect("--all is one JSON object too");
    let ids: Vec<Value> = all["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["checkout_session_id"].clone())
        .collect();
    assert_eq!(ids, expected);
    assert_eq!(all["next_cursor"], Value::Null);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn altered_and_foreign_cursors_are_refused_clearly() {
    let table = orders_table().await;
    let next_cursor = |account: &str| {
        let (_, out, _) = acb(
            &table,
            &["orders", "list", account, "--limit", "1", "--json"],
        );
        let page: Value = serde_json::from_str(&out).unwrap();
        page["next_cursor"]
            .as_str()
            .expect("more than one")
            .to_string()
    };
    let mine = next_cursor(ACCOUNT);
    let theirs = next_cursor(OTHER);

    let (status, out, err) = acb(&table, &["orders", "list", ACCOUNT, "--cursor", &theirs]);
    assert_eq!(status, Some(1), "refused, not a panic (101): {err}");
    assert!(out.is_empty(), "{out}");
    assert!(
        err.contains("page cursor is not valid")
            && err.contains("another account")
            && err.contains("--cursor"),
        "{err}"
    );
    let swapped = if mine.ends_with('x') { 'y' } else { 'x' };
    for altered in [
        format!("{}{swapped}", &mine[..mine.len() - 1]),
        mine[..mine.len() / 2].to_string(),
        "%%%".to_string(),
        "A".repeat(10_000),
    ] {
        let (status, out, err) = acb(&table, &["orders", "list", ACCOUNT, "--cursor", &altered]);
        assert_eq!(status, Some(1), "{altered}: {err}");
        assert!(
            out.is_empty() && err.contains("page cursor is not valid"),
            "{err}"
        );
    }
    let (status, _, err) = acb(&table, &["orders", "list", ACCOUNT, "--limit", "0"]);
    assert_eq!(status, Some(2), "a usage error: {err}");
    assert!(err.contains("1 to 1000"), "{err}");
}

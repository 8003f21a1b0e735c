//! Listings a page at a time, in memory and on DynamoDB Local (started by `make test`):
//! walking the pages returns every item once, in the listing's order, and a cursor that was
//! altered, or that another account's listing handed out, is refused.

use std::future::Future;

use shared::agreements::Agreement;
use shared::bucket::ObjectRef;
use shared::dead_letters::DeadLetter;
use shared::imports::{Feed, FileFormat, ImportCounts, ImportRecord, ImportStatus, QueuedFile};
use shared::merchants::{ApiGeneration, Merchant};
use shared::orders::Order;
use shared::store::dynamo::{
    DynamoAgreements, DynamoCatalog, DynamoDeadLetters, DynamoMerchants, DynamoOrders,
};
use shared::store::memory::{
    MemoryAgreements, MemoryCatalog, MemoryDeadLetters, MemoryMerchants, MemoryOrders,
};
use shared::store::{
    AgreementPages, AgreementStore, Cursor, DeadLetterPages, DeadLetterStore, ImportLog,
    ImportPages, MerchantAdmin, MerchantPages, OrderPages, OrderStore, Page, PageRequest,
    StoreError,
};
use shared::stripe::objects::CheckoutSession;

const MINE: &str = "acct_1PagesMine";
const THEIRS: &str = "acct_1PagesTheirs";
/// Seven items in pages of three: two full pages and a short one.
const ITEMS: usize = 7;
const PAGE: usize = 3;

/// Every page from the first, checking each one's size, and everything they held.
async fn walk<T, F, Fut>(size: usize, mut page: F) -> Vec<T>
where
    F: FnMut(PageRequest) -> Fut,
    Fut: Future<Output = Result<Page<T>, StoreError>>,
{
    let mut request = PageRequest::first(size);
    let mut all = Vec::new();
    loop {
        let Page { items, next } = page(request).await.expect("a page");
        match next {
            Some(cursor) => {
                assert_eq!(items.len(), size, "every page but the last is full");
                request = PageRequest::after(size, cursor);
            }
            None => {
                assert!(items.len() <= size);
                all.extend(items);
                return all;
            }
        }
        all.extend(items);
    }
}

/// `real` altered: cut short, with a character no cursor has, and rewritten with a key
/// that fits no listing.
fn tampered(real: &Cursor) -> Vec<Cursor> {
    use base64::Engine;
    let text = real.as_str();
    let forged = serde_json::json!({"account_id": MINE, "sk": "SKU#MUG", "extra": "x"});
    vec![
        Cursor::new(&text[..text.len() - 5]),
        Cursor::new(format!("{text}!")),
        Cursor::new(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(forged.to_string())),
    ]
}

fn assert_refused<T: std::fmt::Debug>(result: Result<Page<T>, StoreError>, why: &str) {
    match result {
        Err(StoreError::BadCursor(message)) => assert!(message.contains(why), "{message}"),
        other => panic!("expected a refused cursor ({why}), got {other:?}"),
    }
}

/// A listing of one account refuses its cursors altered in any way, and another
/// account's cursor (`page(account, request)` reads one page).
async fn refuses_altered_and_foreign_cursors<T, F, Fut>(page: F)
where
    T: std::fmt::Debug,
    F: Fn(&'static str, PageRequest) -> Fut,
    Fut: std::future::Future<Output = Result<Page<T>, StoreError>>,
{
    let theirs = page(THEIRS, PageRequest::first(1))
        .await
        .unwrap()
        .next
        .expect("two of theirs");
    for cursor in tampered(&theirs) {
        assert_refused(page(THEIRS, PageRequest::after(PAGE, cursor)).await, "");
    }
    assert_refused(
        page(MINE, PageRequest::after(PAGE, theirs)).await,
        "another account",
    );
}

fn order(account: &str, session: &str) -> Order {
    let mut session_object: CheckoutSession =
        serde_json::from_str(include_str!("fixtures/checkout_session_expanded.json")).unwrap();
    session_object.id = session.to_string();
    Order::from_session(account, &session_object).unwrap()
}

async fn orders_page_through<S: OrderStore + OrderPages>(store: &S) {
    for i in (0..ITEMS).rev() {
        store
            .insert_if_absent(&order(MINE, &format!("cs_test_{i}")))
            .await
            .unwrap();
    }
    for i in 0..2 {
        store
            .insert_if_absent(&order(THEIRS, &format!("cs_test_t{i}")))
            .await
            .unwrap();
    }
    let ids = |orders: Vec<Order>| -> Vec<String> {
        orders.into_iter().map(|o| o.checkout_session_id).collect()
    };
    let paged = ids(walk(PAGE, |r| async move { store.order_page(MINE, &r).await }).await);
    let expected: Vec<String> = (0..ITEMS).map(|i| format!("cs_test_{i}")).collect();
    assert_eq!(paged, expected, "each once, by session id, only mine");

    refuses_altered_and_foreign_cursors(
        |account, r| async move { store.order_page(account, &r).await },
    )
    .await;
}

fn import(account: &str, key: &str) -> ImportRecord {
    let object = ObjectRef {
        bucket: "b".into(),
        key: format!("incoming/{account}/catalog/{key}.csv"),
        version_id: None,
        etag: None,
        size: 10,
    };
    ImportRecord {
        account_id: account.into(),
        import_key: key.into(),
        feed: Feed::Product,
        generation: ApiGeneration::V2,
        mode: shared::imports::ImportMode::Upsert,
        sources: vec![QueuedFile {
            object: object.clone(),
            name: format!("{key}.csv"),
            format: FileFormat::Csv,
            replace: false,
            arrived_at: 1,
            rows: 5,
            rows_with_errors: 0,
            rows_left_out_of_report: 0,
        }],
        upload: object,
        status: ImportStatus::Succeeded,
        stripe_status: None,
        stripe_file_id: None,
        stripe_import_id: None,
        counts: ImportCounts {
            rows: 5,
            rows_with_errors: 0,
            stripe_successes: None,
            stripe_errors: None,
        },
        failure: None,
        report_keys: vec![],
        created_at: 1,
        updated_at: 1,
        incremental: None,
        sku_rows_applied: None,
    }
}

async fn imports_page_through<S: ImportLog + ImportPages>(store: &S) {
    let key = |i: usize| format!("000180000000000{i}-k");
    for i in 0..ITEMS {
        store.put_import(&import(MINE, &key(i))).await.unwrap();
    }
    for i in 0..2 {
        store.put_import(&import(THEIRS, &key(i))).await.unwrap();
    }
    let paged: Vec<String> = walk(PAGE, |r| async move { store.import_page(MINE, &r).await })
        .await
        .into_iter()
        .map(|record| record.import_key)
        .collect();
    let newest_first: Vec<String> = (0..ITEMS).rev().map(key).collect();
    assert_eq!(paged, newest_first);
    assert_eq!(
        store
            .imports(MINE, 2)
            .await
            .unwrap()
            .into_iter()
            .map(|record| record.import_key)
            .collect::<Vec<_>>(),
        newest_first[..2],
        "the first page, as the uploader reads it"
    );

    refuses_altered_and_foreign_cursors(|account, r| async move {
        store.import_page(account, &r).await
    })
    .await;
}

async fn agreements_page_through<S: AgreementStore + AgreementPages>(store: &S) {
    let agreement = |account: &str, id: String| {
        Agreement::from_stripe(
            account,
            &serde_json::json!({"id": id, "status": "initiated", "status_transitions": {}}),
        )
        .unwrap()
    };
    for i in (0..ITEMS).rev() {
        store
            .put_if_newer(&agreement(MINE, format!("orca_{i}")))
            .await
            .unwrap();
    }
    for i in 0..2 {
        store
            .put_if_newer(&agreement(THEIRS, format!("orca_t{i}")))
            .await
            .unwrap();
    }
    let paged: Vec<String> = walk(
        PAGE,
        |r| async move { store.agreement_page(MINE, &r).await },
    )
    .await
    .into_iter()
    .map(|a| a.agreement_id)
    .collect();
    assert_eq!(
        paged,
        (0..ITEMS).map(|i| format!("orca_{i}")).collect::<Vec<_>>()
    );
    refuses_altered_and_foreign_cursors(|account, r| async move {
        store.agreement_page(account, &r).await
    })
    .await;
}

async fn dead_letters_page_through<S: DeadLetterStore + DeadLetterPages>(store: &S) {
    let letter = |account: &str, id: String, at: i64| {
        let body = serde_json::json!({"id": id, "type": "x", "account": account}).to_string();
        DeadLetter::of("webhooks", body.as_bytes(), "kept", at)
    };
    for i in 0..ITEMS {
        store
            .keep(&letter(MINE, format!("evt_{i}"), 100 - i as i64))
            .await
            .unwrap();
    }
    for i in 0..2 {
        store
            .keep(&letter(THEIRS, format!("evt_t{i}"), i as i64))
            .await
            .unwrap();
    }
    let paged: Vec<String> = walk(PAGE, |r| async move {
        store.dead_letter_page(Some(MINE), &r).await
    })
    .await
    .into_iter()
    .map(|l| l.event_id)
    .collect();
    assert_eq!(
        paged,
        (0..ITEMS).map(|i| format!("evt_{i}")).collect::<Vec<_>>()
    );

    // Every account's: the table's order, whatever it is, the same in pages as at once.
    let all = |size| async move {
        walk(
            size,
            |r| async move { store.dead_letter_page(None, &r).await },
        )
        .await
        .into_iter()
        .map(|l| (l.account_id, l.event_id))
        .collect::<Vec<_>>()
    };
    let at_once = all(PageRequest::MAX_SIZE).await;
    assert_eq!(at_once.len(), ITEMS + 2);
    assert_eq!(all(PAGE).await, at_once);

    refuses_altered_and_foreign_cursors(|account, r| async move {
        store.dead_letter_page(Some(account), &r).await
    })
    .await;
}

async fn merchants_page_through<S: MerchantAdmin + MerchantPages>(store: &S) {
    for i in 0..ITEMS {
        store
            .put_merchant(&Merchant::new(format!("acct_1Pages{i}")))
            .await
            .unwrap();
    }
    let all = |size| async move {
        walk(size, |r| async move { store.merchant_page(&r).await })
            .await
            .into_iter()
            .map(|m| m.account_id)
            .collect::<Vec<_>>()
    };
    let at_once = all(PageRequest::MAX_SIZE).await;
    let mut sorted = at_once.clone();
    sorted.sort();
    assert_eq!(
        sorted,
        (0..ITEMS)
            .map(|i| format!("acct_1Pages{i}"))
            .collect::<Vec<_>>()
    );
    assert_eq!(all(PAGE).await, at_once, "pages keep the table's order");
    let next = store
        .merchant_page(&PageRequest::first(PAGE))
        .await
        .unwrap()
        .next
        .expect("more than a page");
    for cursor in tampered(&next) {
        assert_refused(
            store.merchant_page(&PageRequest::after(PAGE, cursor)).await,
            "",
        );
    }
}

#[tokio::test]
async fn memory_listings_page_through_every_item_once() {
    orders_page_through(&MemoryOrders::default()).await;
    imports_page_through(&MemoryCatalog::default()).await;
    agreements_page_through(&MemoryAgreements::default()).await;
    dead_letters_page_through(&MemoryDeadLetters::default()).await;
    merchants_page_through(&MemoryMerchants::default()).await;
}

async fn table(logical_id: &str) -> (aws_sdk_dynamodb::Client, String) {
    let client = testkit::dynamo().await;
    let name = testkit::fresh_table(&client, logical_id).await;
    (client, name)
}

#[tokio::test]
async fn dynamo_orders_page_through_every_item_once() {
    let (client, name) = table(testkit::ORDERS).await;
    orders_page_through(&DynamoOrders::new(client, name)).await;
}

#[tokio::test]
async fn dynamo_imports_page_through_newest_first() {
    let (client, name) = table(testkit::CATALOG).await;
    imports_page_through(&DynamoCatalog::new(client, name)).await;
}

#[tokio::test]
async fn dynamo_agreements_page_through_every_item_once() {
    let (client, name) = table(testkit::AGREEMENTS).await;
    agreements_page_through(&DynamoAgreements::new(client, name)).await;
}

#[tokio::test]
async fn dynamo_dead_letters_page_through_every_item_once() {
    let (client, name) = table(testkit::DEAD_LETTERS).await;
    dead_letters_page_through(&DynamoDeadLetters::new(client, name)).await;
}

#[tokio::test]
async fn dynamo_merchants_page_through_every_item_once() {
    let (client, name) = table(testkit::MERCHANTS).await;
    merchants_page_through(&DynamoMerchants::new(client, name)).await;
}

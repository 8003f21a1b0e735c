//! Listings one page at a time, resumed by an opaque cursor, the way AWS's own APIs page
//! (the cursor carries DynamoDB's `LastEvaluatedKey`).
//!
//! A cursor is base64url (no padding) of a JSON object holding the key attributes of the
//! last item of the page, e.g. `{"account_id":"acct_1…","checkout_session_id":"cs_…"}`.
//! It is not secret and not signed: it only says where to resume, and whoever holds it can
//! already read the table. What it must never do is widen a listing, so a cursor coming
//! back is treated as hostile input: its shape must be exactly the listing's key, and for a
//! listing of one account its partition must be that account.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};

use super::StoreError;

/// One page of a listing, and where the next one starts (None: this was the last).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<Cursor>,
}

/// How many items a page holds, and the cursor it resumes after (None: from the start).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRequest {
    pub size: usize,
    pub after: Option<Cursor>,
}

impl PageRequest {
    /// DynamoDB reads at most 1 MB per call anyway; larger pages only delay the first line.
    pub const MAX_SIZE: usize = 1000;

    pub fn first(size: usize) -> Self {
        Self { size, after: None }
    }

    pub fn after(size: usize, cursor: Cursor) -> Self {
        Self {
            size,
            after: Some(cursor),
        }
    }

    /// The size within 1..=[`Self::MAX_SIZE`].
    pub fn clamped_size(&self) -> usize {
        self.size.clamp(1, Self::MAX_SIZE)
    }
}

/// Where a listing resumes, opaque to its holder.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Cursor(String);

impl Cursor {
    pub fn new(text: impl Into<String>) -> Self {
        Self(text.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Cursor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// DynamoDB's key limits: 2048 bytes for a partition key, 1024 for a sort key. A cursor
/// longer than both, encoded, cannot be one of ours.
const MAX_PARTITION_BYTES: usize = 2048;
const MAX_SORT_BYTES: usize = 1024;
const MAX_CURSOR_CHARS: usize = 4096;

/// The primary key of the table a listing reads, as its cursors carry it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct KeySchema {
    pub partition: &'static str,
    pub sort: Option<&'static str>,
    /// What every sort key of this listing starts with (`IMPORT#` for imports among the
    /// catalog's other items); "" for any.
    pub sort_prefix: &'static str,
}

/// An item's primary key: where a page ended.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Position {
    pub partition: String,
    pub sort: Option<String>,
}

pub(crate) const ORDERS: KeySchema = KeySchema {
    partition: "account_id",
    sort: Some("checkout_session_id"),
    sort_prefix: "",
};
pub(crate) const MERCHANTS: KeySchema = KeySchema {
    partition: "account_id",
    sort: None,
    sort_prefix: "",
};
pub(crate) const IMPORTS: KeySchema = KeySchema {
    partition: "account_id",
    sort: Some("sk"),
    sort_prefix: "IMPORT#",
};
pub(crate) const AGREEMENTS: KeySchema = KeySchema {
    partition: "account_id",
    sort: Some("agreement_id"),
    sort_prefix: "",
};
pub(crate) const DEAD_LETTERS: KeySchema = KeySchema {
    partition: "account_id",
    sort: Some("event_id"),
    sort_prefix: "",
};

fn bad(reason: impl Into<String>) -> StoreError {
    StoreError::BadCursor(reason.into())
}

impl KeySchema {
    pub(crate) fn cursor(&self, position: &Position) -> Cursor {
        let mut key = Map::new();
        key.insert(self.partition.into(), position.partition.clone().into());
        if let (Some(name), Some(value)) = (self.sort, &position.sort) {
            key.insert(name.into(), value.clone().into());
        }
        Cursor(URL_SAFE_NO_PAD.encode(Value::Object(key).to_string()))
    }

    /// The position `cursor` resumes after, if it is a cursor of this listing;
    /// `account`: the one account the listing is confined to, if any.
    pub(crate) fn resume_after(
        &self,
        cursor: &Cursor,
        account: Option<&str>,
    ) -> Result<Position, StoreError> {
        let text = cursor.as_str();
        if text.is_empty() || text.len() > MAX_CURSOR_CHARS {
            return Err(bad("empty or too long"));
        }
        let bytes = URL_SAFE_NO_PAD
            .decode(text)
            .map_err(|_| bad("not base64url"))?;
        let mut key: Map<String, Value> =
            serde_json::from_slice(&bytes).map_err(|_| bad("not a JSON object"))?;
        let expected = 1 + usize::from(self.sort.is_some());
        if key.len() != expected {
            return Err(bad("not a key of this listing"));
        }
        let mut take = |name: &str, limit: usize| match key.remove(name) {
            Some(Value::String(value)) if !value.is_empty() && value.len() <= limit => Ok(value),
            _ => Err(bad("not a key of this listing")),
        };
        let partition = take(self.partition, MAX_PARTITION_BYTES)?;
        let sort = self
            .sort
            .map(|name| take(name, MAX_SORT_BYTES))
            .transpose()?;
        if account.is_some_and(|account| account != partition) {
            return Err(bad("it belongs to another account's listing"));
        }
        if sort
            .as_deref()
            .is_some_and(|sort| !sort.starts_with(self.sort_prefix))
        {
            return Err(bad("not a key of this listing"));
        }
        Ok(Position { partition, sort })
    }
}

/// A page out of items already in listing order, for the in-memory stores: the first
/// `size` after `after` (in that order: `is_past(position)` says an item comes after it).
#[cfg(any(test, feature = "memory"))]
pub(crate) fn page_of<T>(
    ordered: impl IntoIterator<Item = (Position, T)>,
    schema: &KeySchema,
    request: &PageRequest,
    account: Option<&str>,
    is_past: impl Fn(&Position, &Position) -> bool,
) -> Result<Page<T>, StoreError> {
    let after = request
        .after
        .as_ref()
        .map(|cursor| schema.resume_after(cursor, account))
        .transpose()?;
    let size = request.clamped_size();
    let mut rest = ordered
        .into_iter()
        .filter(|(position, _)| after.as_ref().is_none_or(|after| is_past(position, after)));
    let mut items = Vec::new();
    let mut last = None;
    for (position, item) in rest.by_ref().take(size) {
        items.push(item);
        last = Some(position);
    }
    let next = match (rest.next(), last) {
        (Some(_), Some(last)) => Some(schema.cursor(&last)),
        _ => None,
    };
    Ok(Page { items, next })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn position(account: &str, sort: &str) -> Position {
        Position {
            partition: account.into(),
            sort: Some(sort.into()),
        }
    }

    #[test]
    fn a_cursor_resumes_where_it_was_made() {
        let at = position("acct_1A", "cs_test_é/+=");
        let cursor = ORDERS.cursor(&at);
        assert!(
            cursor
                .as_str()
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
            "safe on a command line: {cursor}"
        );
        assert_eq!(ORDERS.resume_after(&cursor, Some("acct_1A")).unwrap(), at);
        assert_eq!(ORDERS.resume_after(&cursor, None).unwrap(), at);
        let merchant = Position {
            partition: "acct_1A".into(),
            sort: None,
        };
        let cursor = MERCHANTS.cursor(&merchant);
        assert_eq!(MERCHANTS.resume_after(&cursor, None).unwrap(), merchant);
    }

    #[test]
    fn another_accounts_cursor_is_refused() {
        let cursor = ORDERS.cursor(&position("acct_1Other", "cs_1"));
        let err = ORDERS
            .resume_after(&cursor, Some("acct_1Mine"))
            .unwrap_err();
        assert!(
            matches!(&err, StoreError::BadCursor(m) if m.contains("another account")),
            "{err}"
        );
    }

    #[test]
    fn tampered_and_foreign_cursors_are_refused_not_panicked_on() {
        let encode = |json: &str| Cursor::new(URL_SAFE_NO_PAD.encode(json));
        let long = "x".repeat(MAX_SORT_BYTES + 1);
        let too_long_sort = format!(r#"{{"account_id":"acct_1A","checkout_session_id":"{long}"}}"#);
        let hostile = [
            Cursor::new(""),
            Cursor::new("not base64!"),
            Cursor::new("a".repeat(MAX_CURSOR_CHARS + 1)),
            encode("not json"),
            encode("[1,2]"),
            encode(r#"{"account_id":"acct_1A"}"#),
            encode(r#"{"account_id":"acct_1A","checkout_session_id":7}"#),
            encode(r#"{"account_id":"acct_1A","checkout_session_id":""}"#),
            encode(r#"{"account_id":"acct_1A","sk":"IMPORT#1"}"#),
            encode(r#"{"account_id":"acct_1A","checkout_session_id":"cs","x":"y"}"#),
            encode(&too_long_sort),
        ];
        for cursor in &hostile {
            let err = ORDERS
                .resume_after(cursor, Some("acct_1A"))
                .expect_err(cursor.as_str());
            assert!(matches!(err, StoreError::BadCursor(_)), "{err}");
        }
        // An imports cursor cannot point outside the account's import records.
        let sku = encode(r#"{"account_id":"acct_1A","sk":"SKU#MUG"}"#);
        assert!(IMPORTS.resume_after(&sku, Some("acct_1A")).is_err());
    }

    #[test]
    fn pages_of_ordered_items_cover_each_item_once() {
        let items: Vec<(Position, u32)> = (0..7)
            .map(|i| (position("acct_1A", &format!("s{i}")), i))
            .collect();
        let mut request = PageRequest::first(3);
        let mut seen = Vec::new();
        let mut pages = 0;
        loop {
            let page = page_of(items.clone(), &ORDERS, &request, Some("acct_1A"), |p, a| {
                p > a
            })
            .unwrap();
            pages += 1;
            seen.extend(page.items);
            match page.next {
                Some(next) => request = PageRequest::after(3, next),
                None => break,
            }
        }
        assert_eq!(seen, (0..7).collect::<Vec<_>>());
        assert_eq!(pages, 3);
        // A full last page says there is no more, rather than sending to an empty one.
        let six = &items[..6];
        let first = page_of(
            six.to_vec(),
            &ORDERS,
            &PageRequest::first(3),
            None,
            |p, a| p > a,
        )
        .unwrap();
        let second = page_of(
            six.to_vec(),
            &ORDERS,
            &PageRequest::after(3, first.next.unwrap()),
            None,
            |p, a| p > a,
        )
        .unwrap();
        assert_eq!((second.items, second.next), (vec![3, 4, 5], None));
    }
}

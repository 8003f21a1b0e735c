//! The S3 layout merchants drop files into, and where reports go back.
//!
//! in:  `incoming/<acct_id>/{catalog,inventory,pricing,promotion}/<name>.{csv,tsv}`
//! out: `reports/<acct_id>/<name>/{validation.csv, stripe-errors.csv, status.json}`
//!
//! A name containing `.replace.` (e.g. `full.replace.csv`) asks for a v2 `replace` import
//! of the product feed: products missing from it are deleted.

use crate::merchants::is_account_id;

/// The feeds, as the validator knows them; the S3 layout and the upload APIs add their
/// own names for them here.
pub use crate::catalog::FeedKind as Feed;

impl Feed {
    /// The folder under `incoming/<acct>/`.
    pub fn folder(self) -> &'static str {
        match self {
            Feed::Product => "catalog",
            Feed::Inventory => "inventory",
            Feed::Pricing => "pricing",
            Feed::Promotion => "promotion",
        }
    }

    /// v1 `standard_data_format`; v1 knows only products and inventory.
    pub fn v1_format(self) -> Option<&'static str> {
        match self {
            Feed::Product => Some("product_catalog_feed"),
            Feed::Inventory => Some("inventory_feed"),
            _ => None,
        }
    }

    pub fn from_folder(folder: &str) -> Option<Feed> {
        Feed::ALL.into_iter().find(|f| f.folder() == folder)
    }

    /// `product`, `inventory`… or the folder name `catalog`.
    pub fn parse(text: &str) -> Option<Feed> {
        text.parse().ok()
    }
}

impl serde::Serialize for Feed {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for Feed {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FileFormat {
    Csv,
    Tsv,
}

impl FileFormat {
    pub fn content_type(self) -> &'static str {
        match self {
            FileFormat::Csv => "text/csv",
            FileFormat::Tsv => "text/tab-separated-values",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncomingKey {
    pub account_id: String,
    pub feed: Feed,
    /// The file name, e.g. `spring.csv`: it names the report folder.
    pub name: String,
    pub format: FileFormat,
    pub replace: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("the object key is not valid URL encoding or not UTF-8")]
    BadEncoding,
    #[error(
        "the key is outside the layout incoming/<acct_id>/<catalog|inventory|pricing|promotion>/<name>.<csv|tsv>: {0}"
    )]
    OutsideLayout(String),
}

/// S3 event keys are URL-encoded with `+` for spaces.
pub fn decode_event_key(raw: &str) -> Result<String, KeyError> {
    crate::encoding::decode_s3_event_key(raw).map_err(|_| KeyError::BadEncoding)
}

pub fn parse_incoming_key(key: &str) -> Result<IncomingKey, KeyError> {
    let outside = || KeyError::OutsideLayout(key.to_string());
    let parts: Vec<&str> = key.split('/').collect();
    let [root, account, folder, name] = parts.as_slice() else {
        return Err(outside());
    };
    if *root != "incoming" || !is_account_id(account) {
        return Err(outside());
    }
    let feed = Feed::from_folder(folder).ok_or_else(outside)?;
    let lower = name.to_ascii_lowercase();
    let format = if lower.ends_with(".csv") {
        FileFormat::Csv
    } else if lower.ends_with(".tsv") {
        FileFormat::Tsv
    } else {
        return Err(outside());
    };
    // The name becomes a report folder: keep it to one plain segment.
    let stem_ok = name.len() > 4 && !name.starts_with('.') && name.chars().all(|c| !c.is_control());
    if !stem_ok {
        return Err(outside());
    }
    Ok(IncomingKey {
        account_id: account.to_string(),
        feed,
        name: name.to_string(),
        format,
        replace: lower.contains(".replace."),
    })
}

impl IncomingKey {
    pub fn report_key(&self, file: &str) -> String {
        report_key(&self.account_id, &self.name, file)
    }
}

pub fn report_key(account_id: &str, source_name: &str, file: &str) -> String {
    format!("reports/{account_id}/{source_name}/{file}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_keys_are_url_decoded() {
        assert_eq!(
            decode_event_key("incoming/acct_1A/catalog/spring+sale%C3%A9.csv").unwrap(),
            "incoming/acct_1A/catalog/spring saleé.csv"
        );
        assert_eq!(decode_event_key("a%2Bb").unwrap(), "a+b");
        assert_eq!(decode_event_key("bad%zz"), Err(KeyError::BadEncoding));
        assert_eq!(decode_event_key("bad%"), Err(KeyError::BadEncoding));
        assert_eq!(decode_event_key("%ff%fe"), Err(KeyError::BadEncoding));
    }

    #[test]
    fn keys_follow_the_layout() {
        let key = parse_incoming_key("incoming/acct_1A/catalog/spring sale.csv").unwrap();
        assert_eq!(
            (key.account_id.as_str(), key.feed, key.format, key.replace),
            ("acct_1A", Feed::Product, FileFormat::Csv, false)
        );
        assert_eq!(
            key.report_key("status.json"),
            "reports/acct_1A/spring sale.csv/status.json"
        );
        let key = parse_incoming_key("incoming/acct_1A/inventory/stock.TSV").unwrap();
        assert_eq!((key.feed, key.format), (Feed::Inventory, FileFormat::Tsv));
        assert!(
            parse_incoming_key("incoming/acct_1A/catalog/all.replace.csv")
                .unwrap()
                .replace
        );
        for bad in [
            "incoming/acct_1A/catalog/x.txt",
            "incoming/acct_1A/other/x.csv",
            "incoming/acct_1A/catalog/sub/x.csv",
            "incoming/acct_../catalog/x.csv",
            "incoming/cus_1/catalog/x.csv",
            "reports/acct_1A/catalog/x.csv",
            "incoming/acct_1A/catalog/.csv",
            "incoming/acct_1A/catalog/",
        ] {
            assert!(parse_incoming_key(bad).is_err(), "{bad}");
        }
    }
}

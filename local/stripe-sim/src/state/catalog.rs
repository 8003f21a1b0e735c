//! Everything catalog-related the emulator remembers: files, imports, upload and download
//! tokens, each account's catalog, and the bookkeeping behind the minimum import interval.
//! (The API's rate limits are counted in `super::traffic`.)

use super::Scope;
use super::files::StoredFile;
use super::imports::{Feed, Import};
use crate::SimConfig;
use crate::errors::ApiError;
use crate::ids;
use serde_json::{Map, Value};
use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant, SystemTime};

/// What one account's catalog holds after the imports that finished so far.
#[derive(Default)]
pub struct Catalog {
    pub products: BTreeMap<String, Map<String, Value>>,
    pub promotions: BTreeMap<String, Map<String, Value>>,
    /// Import ids (both generations) in order of creation.
    pub imports: Vec<String>,
}

pub struct DownloadUrl {
    pub import_id: String,
    pub expires: Instant,
}

/// Everything catalog-related the emulator remembers; part of [`super::Store`].
pub struct CatalogStore {
    pub files: HashMap<String, StoredFile>,
    pub imports: HashMap<String, Import>,
    /// Upload token → import id.
    pub uploads: HashMap<String, String>,
    /// Download token → error file of an import.
    pub downloads: HashMap<String, DownloadUrl>,
    pub catalogs: HashMap<Scope, Catalog>,
    /// Last import created per account and feed, for the update-interval rule.
    pub last_import: HashMap<(Scope, Feed), (Instant, String)>,
    /// Lifetime of error-file download URLs minted from now on (runtime-settable).
    pub download_ttl: Duration,
    /// The next this many download URLs are minted already expired.
    pub expired_downloads: u32,
}

impl CatalogStore {
    pub fn new(config: &SimConfig) -> Self {
        Self {
            files: HashMap::new(),
            imports: HashMap::new(),
            uploads: HashMap::new(),
            downloads: HashMap::new(),
            catalogs: HashMap::new(),
            last_import: HashMap::new(),
            download_ttl: config.error_file_url_ttl,
            expired_downloads: 0,
        }
    }

    /// Stripe accepts catalog updates every 15 minutes per account and feed; a new import
    /// sooner than `min_interval` after the last one is refused. Records the new import
    /// when allowed.
    pub fn claim_interval(
        &mut self,
        scope: &Scope,
        feed: Feed,
        min_interval: Duration,
        import_id: &str,
    ) -> Result<(), ApiError> {
        let now = Instant::now();
        if !min_interval.is_zero() {
            if let Some((at, last_id)) = self.last_import.get(&(scope.clone(), feed)) {
                let elapsed = now.duration_since(*at);
                if elapsed < min_interval {
                    let wait = (min_interval - elapsed).as_secs_f64().ceil() as u64;
                    return Err(ApiError::rate_limited(format!(
                        "Catalog updates can be sent at most once every {}: the last {} import for this account ({last_id}) was created {} s ago. Try again in {wait} s.",
                        human(min_interval),
                        feed.as_str(),
                        elapsed.as_secs()
                    )));
                }
            }
        }
        self.last_import
            .insert((scope.clone(), feed), (now, import_id.to_string()));
        Ok(())
    }

    pub fn insert_import(&mut self, import: Import) {
        self.catalogs
            .entry(import.scope.clone())
            .or_default()
            .imports
            .push(import.id.clone());
        if let Some(upload) = &import.upload {
            self.uploads.insert(upload.token.clone(), import.id.clone());
        }
        self.imports.insert(import.id.clone(), import);
    }

    /// A fresh error-file URL for an import (each read of a v2 import mints one).
    pub fn mint_download(&mut self, import_id: &str) -> (String, SystemTime) {
        let ttl = if self.expired_downloads > 0 {
            self.expired_downloads -= 1;
            Duration::ZERO
        } else {
            self.download_ttl
        };
        let token = ids::url_token();
        let expires = Instant::now().checked_add(ttl).unwrap_or_else(Instant::now);
        self.downloads.insert(
            token.clone(),
            DownloadUrl {
                import_id: import_id.to_string(),
                expires,
            },
        );
        (token, SystemTime::now() + ttl)
    }

    /// Expires every download URL minted so far.
    pub fn expire_downloads(&mut self) -> usize {
        let now = Instant::now();
        for url in self.downloads.values_mut() {
            url.expires = now;
        }
        self.downloads.len()
    }
}

fn human(d: Duration) -> String {
    let secs = d.as_secs();
    if secs >= 60 && secs % 60 == 0 {
        format!("{} minutes", secs / 60)
    } else if secs >= 1 {
        format!("{secs} s")
    } else {
        format!("{} ms", d.as_millis())
    }
}

//! What Stripe already has for one account's feed, so an upload sends only what changed
//! (`imports::delta` compares a file with it; `uploader::incremental` moves the objects).
//!
//! One S3 object per account and feed, `state/<acct>/<feed folder>/sent.snapshot`: per row
//! id the 63-bit content hash of the row Stripe last accepted (`delta::RowHasher`). Read
//! once per upload, instead of one DynamoDB item per SKU.
//!
//! # Format (version 1)
//! Text, one record per line, `\n`-terminated, streaming-readable:
//! ```text
//! acb-snapshot v1 <kind> <feed> <computed_at_ms>
//! <hash>\t<id>                      kind `sent`: what Stripe has
//! <new>\t<old>\t<id>                kind `candidate`: before and after an upload
//! end <rows>
//! ```
//! - `kind` is `sent`, `candidate`, or `none`: a tombstone that says "no usable snapshot"
//!   (the merchant turned incremental uploads off, an import failed at Stripe...); written
//!   instead of deleting, so the uploader needs no delete permission.
//! - `<hash>` is 16 lowercase hex digits; `0000000000000000` ([`DIRTY`]) means "Stripe has
//!   this id, in a state we do not know": it never equals a row's hash, so the row is sent.
//! - In a candidate, `<new>` is the entry to keep if Stripe accepts the row and `<old>` the
//!   one to keep if Stripe fails it; `-` is "no entry" (a deletion's new, a new id's old).
//! - `<id>` is the row key with `%`, tab, CR and LF written `%25`, `%09`, `%0D`, `%0A`.
//! - `computed_at` is when the candidate was computed at upload time: imports of other
//!   feeds that Stripe processed after it may have changed shared columns (see
//!   `uploader::incremental`).
//! - The `end` trailer counts the rows: a snapshot without it is refused (and the upload
//!   goes whole), never half-read.
//!
//! Memory: [`BaseSnapshot`] keeps a 128-bit [`id_hash`] and a 64-bit value per id (about
//! 33 bytes with the table's slack), never the ids, up to a cap
//! ([`SNAPSHOT_MAX_ROWS`], ~140 MB at 2 million): past it the upload goes whole.

use std::borrow::Cow;
use std::collections::HashMap;

use super::keys::Feed;
use crate::catalog::{MAX_RECORD_BYTES, id_hash};

/// The most rows a snapshot is loaded with: beyond it incremental uploads are skipped (the
/// whole file goes), so a huge catalog can never take the uploader's memory.
pub const SNAPSHOT_MAX_ROWS: usize = 2_000_000;

/// "Stripe has this id; its content is unknown": never equal to a row's hash.
pub const DIRTY: u64 = 0;

/// Marks, in [`BaseSnapshot`], an id the upload's file has already named.
const SEEN: u64 = 1 << 63;

const MAGIC: &str = "acb-snapshot";
const VERSION: &str = "v1";

/// The longest line a snapshot may have: an id as long as the validator's longest record,
/// every byte escaped, plus the hashes.
const MAX_LINE: usize = 3 * MAX_RECORD_BYTES + 64;

/// Tables keyed by [`id_hash`] values take their low 64 bits as the table hash, as the
/// validator's do.
pub use crate::catalog::id_hash::IdHashBuild as IdKeyed;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the snapshot is unreadable: {0}")]
pub struct SnapshotError(pub String);

fn bad(what: impl Into<String>) -> SnapshotError {
    SnapshotError(what.into())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Sent,
    Candidate,
    /// A tombstone: there is no usable snapshot.
    None,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::Sent => "sent",
            Kind::Candidate => "candidate",
            Kind::None => "none",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SnapshotHeader {
    pub kind: Kind,
    pub feed: Feed,
    pub computed_at: i64,
}

/// One line of a snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry<'a> {
    Sent {
        hash: u64,
        id: Cow<'a, str>,
    },
    Candidate {
        new: Option<u64>,
        old: Option<u64>,
        id: Cow<'a, str>,
    },
}

impl Entry<'_> {
    pub fn id(&self) -> &str {
        match self {
            Entry::Sent { id, .. } | Entry::Candidate { id, .. } => id,
        }
    }
}

/// Writes snapshot lines into a buffer the caller drains ([`SnapshotLines::take`]).
#[derive(Debug, Default)]
pub struct SnapshotLines {
    out: Vec<u8>,
    rows: u64,
}

impl SnapshotLines {
    pub fn new(kind: Kind, feed: Feed, computed_at: i64) -> Self {
        let mut lines = Self::default();
        lines.out.extend_from_slice(
            format!(
                "{MAGIC} {VERSION} {} {} {computed_at}\n",
                kind.as_str(),
                feed.as_str()
            )
            .as_bytes(),
        );
        lines
    }

    /// A tombstone: "no usable snapshot".
    pub fn tombstone(feed: Feed, at: i64) -> Vec<u8> {
        let mut lines = Self::new(Kind::None, feed, at);
        lines.end();
        lines.take()
    }

    pub fn sent(&mut self, hash: u64, id: &str) {
        self.push_hash(Some(hash));
        self.out.push(b'\t');
        self.push_id(id);
    }

    pub fn candidate(&mut self, new: Option<u64>, old: Option<u64>, id: &str) {
        self.push_hash(new);
        self.out.push(b'\t');
        self.push_hash(old);
        self.out.push(b'\t');
        self.push_id(id);
    }

    /// The trailer; nothing may follow it.
    pub fn end(&mut self) {
        self.out
            .extend_from_slice(format!("end {}\n", self.rows).as_bytes());
    }

    pub fn pending(&self) -> usize {
        self.out.len()
    }

    pub fn take(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.out)
    }

    fn push_hash(&mut self, hash: Option<u64>) {
        match hash {
            Some(hash) => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                for shift in (0..16).rev() {
                    self.out.push(HEX[((hash >> (shift * 4)) & 0xf) as usize]);
                }
            }
            None => self.out.push(b'-'),
        }
    }

    fn push_id(&mut self, id: &str) {
        for byte in id.bytes() {
            match byte {
                b'%' => self.out.extend_from_slice(b"%25"),
                b'\t' => self.out.extend_from_slice(b"%09"),
                b'\r' => self.out.extend_from_slice(b"%0D"),
                b'\n' => self.out.extend_from_slice(b"%0A"),
                other => self.out.push(other),
            }
        }
        self.out.push(b'\n');
        self.rows += 1;
    }
}

fn unescape(text: &str) -> Result<Cow<'_, str>, SnapshotError> {
    if !text.contains('%') {
        return Ok(Cow::Borrowed(text));
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('%') {
        out.push_str(&rest[..at]);
        let code = rest
            .get(at + 1..at + 3)
            .ok_or_else(|| bad("a cut escape"))?;
        out.push(match code {
            "25" => '%',
            "09" => '\t',
            "0D" => '\r',
            "0A" => '\n',
            other => return Err(bad(format!("unknown escape %{other}"))),
        });
        rest = &rest[at + 3..];
    }
    out.push_str(rest);
    Ok(Cow::Owned(out))
}

fn parse_hash(text: &str) -> Result<Option<u64>, SnapshotError> {
    if text == "-" {
        return Ok(None);
    }
    if text.len() != 16 {
        return Err(bad(format!("a hash of {} digits", text.len())));
    }
    u64::from_str_radix(text, 16)
        .map(Some)
        .map_err(|_| bad("a hash that is not hex"))
}

/// Reads a snapshot pushed in chunks of any size: the header, each entry, the trailer.
#[derive(Debug, Default)]
pub struct SnapshotReader {
    partial: Vec<u8>,
    header: Option<SnapshotHeader>,
    rows: u64,
    ended: bool,
}

impl SnapshotReader {
    /// Feeds bytes; `each` gets every complete entry.
    pub fn push(
        &mut self,
        chunk: &[u8],
        mut each: impl FnMut(SnapshotHeader, Entry<'_>) -> Result<(), SnapshotError>,
    ) -> Result<(), SnapshotError> {
        let mut rest = chunk;
        while let Some(at) = rest.iter().position(|b| *b == b'\n') {
            let (line, tail) = rest.split_at(at);
            rest = &tail[1..];
            if self.partial.is_empty() {
                self.line(line, &mut each)?;
            } else {
                let mut whole = std::mem::take(&mut self.partial);
                whole.extend_from_slice(line);
                self.line(&whole, &mut each)?;
            }
        }
        if self.partial.len() + rest.len() > MAX_LINE {
            return Err(bad("a line longer than any id"));
        }
        self.partial.extend_from_slice(rest);
        Ok(())
    }

    /// The header, once the whole snapshot was read and its trailer matched.
    pub fn finish(self) -> Result<SnapshotHeader, SnapshotError> {
        if !self.partial.is_empty() || !self.ended {
            return Err(bad("no end line: the snapshot is incomplete"));
        }
        self.header.ok_or_else(|| bad("empty"))
    }

    fn line(
        &mut self,
        line: &[u8],
        each: &mut impl FnMut(SnapshotHeader, Entry<'_>) -> Result<(), SnapshotError>,
    ) -> Result<(), SnapshotError> {
        let line = std::str::from_utf8(line).map_err(|_| bad("not UTF-8"))?;
        if self.ended {
            return Err(bad("lines after the end line"));
        }
        let Some(header) = self.header else {
            self.header = Some(parse_header(line)?);
            return Ok(());
        };
        if let Some(count) = line.strip_prefix("end ") {
            if count.parse::<u64>().ok() != Some(self.rows) {
                return Err(bad(format!("end says {count} rows, {} read", self.rows)));
            }
            self.ended = true;
            return Ok(());
        }
        self.rows += 1;
        let entry = match header.kind {
            Kind::Sent => {
                let (hash, id) = line.split_once('\t').ok_or_else(|| bad("no tab"))?;
                Entry::Sent {
                    hash: parse_hash(hash)?.ok_or_else(|| bad("a sent row without hash"))?,
                    id: unescape(id)?,
                }
            }
            Kind::Candidate => {
                let mut parts = line.splitn(3, '\t');
                let (Some(new), Some(old), Some(id)) = (parts.next(), parts.next(), parts.next())
                else {
                    return Err(bad("a candidate line needs three fields"));
                };
                Entry::Candidate {
                    new: parse_hash(new)?,
                    old: parse_hash(old)?,
                    id: unescape(id)?,
                }
            }
            Kind::None => return Err(bad("rows in a tombstone")),
        };
        each(header, entry)
    }
}

fn parse_header(line: &str) -> Result<SnapshotHeader, SnapshotError> {
    let parts: Vec<&str> = line.split(' ').collect();
    let [magic, version, kind, feed, at] = parts.as_slice() else {
        return Err(bad("not a snapshot header"));
    };
    if *magic != MAGIC {
        return Err(bad("not a snapshot"));
    }
    if *version != VERSION {
        return Err(bad(format!("version {version}, this code reads {VERSION}")));
    }
    let kind = match *kind {
        "sent" => Kind::Sent,
        "candidate" => Kind::Candidate,
        "none" => Kind::None,
        other => return Err(bad(format!("unknown kind {other}"))),
    };
    Ok(SnapshotHeader {
        kind,
        feed: Feed::parse(feed).ok_or_else(|| bad(format!("unknown feed {feed}")))?,
        computed_at: at.parse().map_err(|_| bad("a bad time"))?,
    })
}

/// The snapshot an upload is compared with: id hash -> stored hash (with a [`SEEN`] mark
/// once the upload's file names the id).
#[derive(Debug, Default)]
pub struct BaseSnapshot {
    entries: HashMap<u128, u64, IdKeyed>,
    pub computed_at: i64,
}

impl BaseSnapshot {
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The stored hash of `id`, if Stripe has it.
    pub fn get(&self, id: &str) -> Option<u64> {
        self.entries.get(&id_hash(id)).map(|v| v & !SEEN)
    }

    /// Another feed's import touched this id: Stripe's content for it is unknown now.
    pub fn mark_dirty(&mut self, key: u128) {
        if let Some(value) = self.entries.get_mut(&key) {
            *value = (*value & SEEN) | DIRTY;
        }
    }

    /// Marks `id` seen; returns its stored hash and whether it was seen before.
    pub(crate) fn visit(&mut self, id: &str) -> Option<(u64, bool)> {
        let value = self.entries.get_mut(&id_hash(id))?;
        let seen = *value & SEEN != 0;
        *value |= SEEN;
        Some((*value & !SEEN, seen))
    }
}

/// What loading a stored snapshot gave.
#[derive(Debug)]
pub enum Loaded {
    Snapshot(BaseSnapshot),
    /// A tombstone: no usable snapshot.
    Absent,
    /// More rows than the cap: not kept.
    OverCap,
}

/// Loads a `sent` snapshot pushed in chunks, keeping at most `cap` ids.
pub struct BaseLoader {
    reader: SnapshotReader,
    feed: Feed,
    snapshot: BaseSnapshot,
    cap: usize,
    over: bool,
}

impl BaseLoader {
    /// `size_hint` (the object's length) sizes the table once instead of growing it.
    pub fn new(feed: Feed, cap: usize, size_hint: u64) -> Self {
        let estimate = usize::try_from(size_hint / 24).unwrap_or(cap).min(cap);
        let mut entries = HashMap::with_hasher(IdKeyed::default());
        entries.reserve(estimate);
        Self {
            reader: SnapshotReader::default(),
            feed,
            snapshot: BaseSnapshot {
                entries,
                computed_at: 0,
            },
            cap,
            over: false,
        }
    }

    pub fn push(&mut self, chunk: &[u8]) -> Result<(), SnapshotError> {
        if self.over {
            return Ok(());
        }
        let (feed, cap) = (self.feed, self.cap);
        let entries = &mut self.snapshot.entries;
        let over = &mut self.over;
        self.reader.push(chunk, |header, entry| {
            if header.feed != feed || header.kind != Kind::Sent {
                return Err(bad(format!(
                    "a {} snapshot of the {} feed where a sent {feed} one belongs",
                    header.kind.as_str(),
                    header.feed
                )));
            }
            if *over {
                return Ok(());
            }
            let Entry::Sent { hash, id } = entry else {
                return Ok(());
            };
            let key = id_hash(&id);
            if let Some(existing) = entries.get_mut(&key) {
                // An id twice (a file that repeated it): which row Stripe kept is unknown.
                *existing = DIRTY;
            } else if entries.len() >= cap {
                *over = true;
            } else {
                entries.insert(key, hash & !SEEN);
            }
            Ok(())
        })?;
        if self.over {
            self.snapshot.entries = HashMap::default();
        }
        Ok(())
    }

    pub fn finish(self) -> Result<Loaded, SnapshotError> {
        if self.over {
            return Ok(Loaded::OverCap);
        }
        let header = self.reader.finish()?;
        if header.kind == Kind::None {
            return Ok(Loaded::Absent);
        }
        let mut snapshot = self.snapshot;
        snapshot.computed_at = header.computed_at;
        Ok(Loaded::Snapshot(snapshot))
    }
}

/// A candidate becoming the feed's `sent` snapshot once Stripe accepted the import: each
/// id keeps its new entry, or its old one when Stripe failed the row (a failed change or
/// deletion is then sent again next time, a failed new row too).
pub struct Promotion<F: Fn(&str) -> bool> {
    reader: SnapshotReader,
    out: Option<SnapshotLines>,
    failed: F,
}

impl<F: Fn(&str) -> bool> Promotion<F> {
    pub fn new(failed: F) -> Self {
        Self {
            reader: SnapshotReader::default(),
            out: None,
            failed,
        }
    }

    /// Feeds candidate bytes; returns the `sent` bytes produced so far.
    pub fn push(&mut self, chunk: &[u8]) -> Result<Vec<u8>, SnapshotError> {
        let (out, failed) = (&mut self.out, &self.failed);
        self.reader.push(chunk, |header, entry| {
            let lines = out.get_or_insert_with(|| {
                SnapshotLines::new(Kind::Sent, header.feed, header.computed_at)
            });
            let Entry::Candidate { new, old, id } = entry else {
                return Err(bad("a sent snapshot where a candidate belongs"));
            };
            if let Some(hash) = if failed(&id) { old } else { new } {
                lines.sent(hash, &id);
            }
            Ok(())
        })?;
        Ok(self
            .out
            .as_mut()
            .map(SnapshotLines::take)
            .unwrap_or_default())
    }

    /// The last bytes, trailer included.
    pub fn finish(self) -> Result<Vec<u8>, SnapshotError> {
        let header = self.reader.finish()?;
        if header.kind != Kind::Candidate {
            return Err(bad("not a candidate"));
        }
        let mut lines = self
            .out
            .unwrap_or_else(|| SnapshotLines::new(Kind::Sent, header.feed, header.computed_at));
        lines.end();
        Ok(lines.take())
    }
}

#[cfg(test)]
mod tests;

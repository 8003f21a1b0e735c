//! An upload compared with the snapshot of what Stripe has ([`super::snapshot`]): one
//! streaming pass over the file ([`DeltaPass`], a [`RowSink`]) writes the rows Stripe must
//! get (new, changed, deletions) and the candidate snapshot; a second pass over the stored
//! snapshot ([`DeltaPass::carry_over`]) adds what the file does not name.
//!
//! # Row hash ([`RowHasher`])
//! A row's content is its `(column, value)` pairs taken in column-name order (names as the
//! validator reads them: trimmed, lower-case), so the order of columns in the file does not
//! matter. Every column of the header counts, empty or not (Stripe stores what the header
//! names), and so does the row's field count (a short row is not a padded one). Each value
//! is hashed with [`id_hash`] (128 bits, its length mixed in, so no value can imitate two)
//! and xor-ed with its column name's [`id_hash`], so a value moved to another column is a
//! change; the pairs are chained in column order through the same multiply-fold mixing as
//! `id_hash`, two 64-bit lanes, folded to 63 bits (the top bit marks ids seen, in
//! [`BaseSnapshot`]; 0 is [`DIRTY`]). Values are hashed as the parser gives them (unquoted,
//! untrimmed): what Stripe receives. Not cryptographic, like `id_hash`: a collision could
//! only keep a merchant's own changed row from being sent (odds about 2⁻⁶³ per changed row).

use std::collections::HashSet;

use super::keys::Feed;
use super::merge::write_csv_field;
use super::snapshot::{BaseSnapshot, DIRTY, Entry, IdKeyed, Kind, SnapshotLines};
use crate::catalog::{Header, Record, RowError, RowSink, id_hash};

/// Hashes rows of one header (see the module documentation).
#[derive(Debug, Clone)]
pub struct RowHasher {
    /// (name's hash, field index), in column-name order.
    order: Vec<(u128, usize)>,
}

fn fold(a: u64, b: u64) -> u64 {
    let p = u128::from(a) * u128::from(b);
    (p as u64) ^ ((p >> 64) as u64)
}

impl RowHasher {
    pub fn new(header: &Header) -> Self {
        let mut named: Vec<(&String, usize)> = header
            .columns()
            .iter()
            .enumerate()
            .map(|(i, name)| (name, i))
            .collect();
        named.sort();
        Self {
            order: named
                .into_iter()
                .map(|(name, i)| (id_hash(name), i))
                .collect(),
        }
    }

    /// Never 0 ([`DIRTY`]) and never with the top bit set.
    pub fn hash(&self, record: &Record<'_>) -> u64 {
        const K: [u64; 4] = [
            0x4528_21e6_38d0_1377,
            0xbe54_66cf_34e9_0c6c,
            0xc0ac_29b7_c97c_50dd,
            0x3f84_d5b5_b547_0917,
        ];
        let fields = record.len() as u64;
        let (mut a, mut b) = (K[0] ^ fields, K[1] ^ fields.rotate_left(32));
        for (name, index) in &self.order {
            let pair = id_hash(record.get(*index)) ^ name;
            a = fold(a ^ pair as u64, K[2]);
            b = fold(b ^ (pair >> 64) as u64, K[3]);
        }
        match (fold(a, K[1] ^ K[3]) ^ fold(b, K[0] ^ K[2])) & (u64::MAX >> 1) {
            DIRTY => 1,
            hash => hash,
        }
    }
}

/// What the pass found, over the whole file.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeltaCounts {
    pub unchanged: u64,
    pub new: u64,
    pub changed: u64,
    pub deleted: u64,
}

/// The file pass. Without a base (the feed's first upload, or one whose snapshot could not
/// be used) it only writes the candidate: the whole file goes, as it is.
pub struct DeltaPass<'a> {
    base: Option<&'a mut BaseSnapshot>,
    /// Products Stripe has that the file lacks get deletion rows (a replace file sent as an
    /// upsert).
    replace: bool,
    /// Feeds whose rows may be `delete=true` deletions (docs/stripe.md §2.2, §2.3.3).
    deletions: bool,
    hasher: Option<RowHasher>,
    delimiter: u8,
    columns: usize,
    id_index: Option<usize>,
    delete_index: Option<usize>,
    /// The file lacks a `delete` column, so the delta adds one after the last.
    add_delete_column: bool,
    header: Vec<u8>,
    delta: Vec<u8>,
    delta_rows: u64,
    candidate: SnapshotLines,
    pub counts: DeltaCounts,
}

impl<'a> DeltaPass<'a> {
    pub fn new(
        feed: Feed,
        base: Option<&'a mut BaseSnapshot>,
        replace: bool,
        computed_at: i64,
    ) -> Self {
        Self {
            replace: replace && base.is_some(),
            base,
            deletions: matches!(feed, Feed::Product | Feed::Promotion),
            hasher: None,
            delimiter: b',',
            columns: 0,
            id_index: None,
            delete_index: None,
            add_delete_column: false,
            header: Vec::new(),
            delta: Vec::new(),
            delta_rows: 0,
            candidate: SnapshotLines::new(Kind::Candidate, feed, computed_at),
            counts: DeltaCounts::default(),
        }
    }

    /// The delta's bytes since the last call; nothing until a first row is due (a delta
    /// with no row is never written).
    pub fn take_delta(&mut self) -> Vec<u8> {
        if self.delta_rows == 0 {
            return Vec::new();
        }
        if !self.header.is_empty() {
            let mut out = std::mem::take(&mut self.header);
            out.append(&mut self.delta);
            return out;
        }
        std::mem::take(&mut self.delta)
    }

    pub fn take_candidate(&mut self) -> Vec<u8> {
        self.candidate.take()
    }

    /// Bytes waiting in both buffers (the caller drains them past a threshold).
    pub fn pending(&self) -> usize {
        self.delta.len() + self.candidate.pending()
    }

    /// After the file: one entry of the stored snapshot, read again. Ids the file did not
    /// name stay in the candidate (upsert) or get a deletion row (replace).
    pub fn carry_over(&mut self, entry: &Entry<'_>) {
        let Some(base) = self.base.as_deref_mut() else {
            return;
        };
        let id = entry.id();
        // The table's value, not the line's: it carries other feeds' dirty marks.
        let Some((stored, seen)) = base.visit(id) else {
            return;
        };
        if seen {
            return;
        }
        if self.replace {
            self.deletion_row(id);
            self.counts.deleted += 1;
            self.candidate.candidate(None, Some(stored), id);
        } else {
            self.candidate.candidate(Some(stored), Some(stored), id);
        }
    }

    /// The candidate's trailer; call after the last `carry_over`.
    pub fn finish(&mut self) {
        self.candidate.end();
    }

    fn send(&mut self, record: &Record<'_>) {
        if self.base.is_none() {
            return;
        }
        self.delta.extend_from_slice(record.raw());
        if self.add_delete_column {
            self.delta.push(self.delimiter);
        }
        self.delta.push(b'\n');
        self.delta_rows += 1;
    }

    /// `id` and `delete=true`, every other column empty: Stripe reads only those two.
    fn deletion_row(&mut self, id: &str) {
        let width = self.columns + usize::from(self.add_delete_column);
        let delete = self.delete_index.unwrap_or(self.columns);
        for i in 0..width {
            if i > 0 {
                self.delta.push(self.delimiter);
            }
            if Some(i) == self.id_index {
                write_csv_field(&mut self.delta, id, self.delimiter);
            } else if i == delete {
                self.delta.extend_from_slice(b"true");
            }
        }
        self.delta.push(b'\n');
        self.delta_rows += 1;
    }
}

impl RowSink for DeltaPass<'_> {
    type Error = std::convert::Infallible;

    fn header(&mut self, header: &Header) -> Result<(), Self::Error> {
        self.hasher = Some(RowHasher::new(header));
        self.delimiter = header.delimiter();
        self.columns = header.len();
        self.id_index = header.id_index();
        self.delete_index = if self.deletions {
            header.index_of("delete")
        } else {
            None
        };
        self.add_delete_column = self.replace && self.delete_index.is_none();
        self.header = header.raw().to_vec();
        if self.add_delete_column {
            self.header.push(self.delimiter);
            self.header.extend_from_slice(b"delete");
        }
        self.header.push(b'\n');
        Ok(())
    }

    fn row(&mut self, record: &Record<'_>, _: &Header, _: &[RowError]) -> Result<(), Self::Error> {
        let hash = match self.hasher.as_ref() {
            Some(hasher) => hasher.hash(record),
            None => return Ok(()),
        };
        let deletion = self
            .delete_index
            .is_some_and(|i| record.get(i).trim().eq_ignore_ascii_case("true"));
        let Some(id) = record.id() else {
            // Nothing to key it by: sent as it is, Stripe reports it.
            self.send(record);
            self.counts.new += 1;
            return Ok(());
        };
        let stored = self.base.as_deref_mut().and_then(|base| base.visit(id));
        if deletion {
            // Always sent, as a whole upload would; afterwards Stripe has no such id.
            self.send(record);
            self.counts.deleted += 1;
            if let Some((old, _)) = stored {
                self.candidate.candidate(None, Some(old), id);
            }
            return Ok(());
        }
        match stored {
            None => {
                self.send(record);
                self.counts.new += 1;
                self.candidate.candidate(Some(hash), None, id);
            }
            // The id again in the same file (a validation error): which row Stripe keeps
            // is unknown, so this one goes and the next upload sends the id again.
            Some((old, true)) => {
                self.send(record);
                self.counts.changed += 1;
                self.candidate.candidate(Some(DIRTY), Some(old), id);
            }
            Some((old, false)) if old == hash => {
                self.counts.unchanged += 1;
                self.candidate.candidate(Some(hash), Some(old), id);
            }
            Some((old, false)) => {
                self.send(record);
                self.counts.changed += 1;
                self.candidate.candidate(Some(hash), Some(old), id);
            }
        }
        Ok(())
    }
}

/// The ids of a file's rows as [`id_hash`] values, at most `cap` of them (then it only says
/// it overflowed): what another feed's import touched.
#[derive(Debug)]
pub struct IdHashes {
    pub hashes: HashSet<u128, IdKeyed>,
    cap: usize,
    pub overflowed: bool,
}

impl IdHashes {
    pub fn new(cap: usize) -> Self {
        Self {
            hashes: HashSet::default(),
            cap,
            overflowed: false,
        }
    }
}

impl RowSink for IdHashes {
    type Error = std::convert::Infallible;

    fn header(&mut self, _: &Header) -> Result<(), Self::Error> {
        Ok(())
    }

    fn row(&mut self, record: &Record<'_>, _: &Header, _: &[RowError]) -> Result<(), Self::Error> {
        if let Some(id) = record.id() {
            if self.hashes.len() >= self.cap {
                self.overflowed = true;
            } else {
                self.hashes.insert(id_hash(id));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;

//! The parsed-row types: the [`Header`] (column names and where each known column sits)
//! and a [`Record`] borrowed from the validator's buffers. The parser produces them, the
//! row rules and the sinks read them.

use super::columns::{self, Col};
use super::{Fatal, FeedKind};

/// Marks a known column the file lacks in [`Header`]'s index table.
const ABSENT: u32 = u32::MAX;

/// The header row: column names in file order, trimmed and lower-cased.
#[derive(Debug, Clone)]
pub struct Header {
    columns: Vec<String>,
    delimiter: u8,
    raw: Vec<u8>,
    line: u64,
    id_index: Option<usize>,
    /// Field index of each known column ([`ABSENT`] when the file lacks it).
    index: [u32; columns::COUNT],
}

impl Header {
    pub fn columns(&self) -> &[String] {
        &self.columns
    }

    pub fn len(&self) -> usize {
        self.columns.len()
    }

    pub fn is_empty(&self) -> bool {
        self.columns.is_empty()
    }

    /// Position of a column, matched like the header itself (trimmed, any letter case).
    pub fn index_of(&self, name: &str) -> Option<usize> {
        let name = name.trim().to_lowercase();
        self.columns.iter().position(|c| *c == name)
    }

    /// `b','` or `b'\t'`, sniffed from the header line.
    pub fn delimiter(&self) -> u8 {
        self.delimiter
    }

    /// The header row's original bytes, without line terminator or BOM.
    pub fn raw(&self) -> &[u8] {
        &self.raw
    }

    /// Line the header starts on (1 unless the file opens with blank lines).
    pub fn line(&self) -> u64 {
        self.line
    }

    /// Position of the row key: `id`, or `promotion_id` in a promotion feed.
    pub fn id_index(&self) -> Option<usize> {
        self.id_index
    }

    #[inline]
    pub(crate) fn col(&self, col: Col) -> Option<usize> {
        match self.index[col as usize] {
            ABSENT => None,
            i => Some(i as usize),
        }
    }

    /// Resolves the header row: names trimmed and lower-cased, duplicates and missing
    /// required columns refused.
    pub(super) fn from_record(
        record: &Record<'_>,
        delimiter: u8,
        feed: FeedKind,
    ) -> Result<Header, Fatal> {
        let columns: Vec<String> = record
            .fields()
            .map(|name| name.trim().to_lowercase())
            .collect();
        let mut index = [ABSENT; columns::COUNT];
        let mut seen = std::collections::HashSet::with_capacity(columns.len());
        for (i, name) in columns.iter().enumerate() {
            // Unnamed columns (a trailing delimiter) are unknown columns, ignored like others.
            if name.is_empty() {
                continue;
            }
            if !seen.insert(name.as_str()) {
                return Err(Fatal::DuplicateColumn(name.clone()));
            }
            if let Some(col) = Col::from_name(name) {
                index[col as usize] = u32::try_from(i).unwrap_or(ABSENT);
            }
        }
        let has_delete = index[Col::Delete as usize] != ABSENT;
        let missing: Vec<String> = columns::required_columns(feed, has_delete)
            .iter()
            .filter(|c| index[**c as usize] == ABSENT)
            .map(|c| c.name().to_string())
            .collect();
        if !missing.is_empty() {
            return Err(Fatal::MissingColumns(missing));
        }
        let id_index = match index[columns::id_column(feed) as usize] {
            ABSENT => None,
            i => Some(i as usize),
        };
        Ok(Header {
            columns,
            delimiter,
            raw: record.raw.to_vec(),
            line: record.line,
            id_index,
            index,
        })
    }
}

/// One parsed record, borrowed from the validator's buffers for the duration of a
/// [`RowSink::row`](super::RowSink::row) call.
#[derive(Debug, Clone, Copy)]
pub struct Record<'a> {
    line: u64,
    raw: &'a [u8],
    text: &'a str,
    ends: &'a [usize],
    id_index: Option<usize>,
}

impl<'a> Record<'a> {
    /// `text` holds the unescaped fields back to back, `ends` where each one ends;
    /// `id_index` is the header's [`Header::id_index`] (`None` for the header row itself).
    #[inline]
    pub(super) fn new(
        line: u64,
        raw: &'a [u8],
        text: &'a str,
        ends: &'a [usize],
        id_index: Option<usize>,
    ) -> Self {
        Record {
            line,
            raw,
            text,
            ends,
            id_index,
        }
    }

    /// Line where the record starts (the header is line 1); a quoted field may carry the
    /// record over several lines.
    pub fn line(&self) -> u64 {
        self.line
    }

    /// Number of fields.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// Field `i`, unquoted and unescaped, untrimmed; `""` past the last field, so a short
    /// row reads as one with blank trailing fields.
    pub fn get(&self, i: usize) -> &'a str {
        let Some(&end) = self.ends.get(i) else {
            return "";
        };
        let start = match i {
            0 => 0,
            _ => self.ends.get(i - 1).copied().unwrap_or(0),
        };
        self.text.get(start..end).unwrap_or("")
    }

    pub fn field(&self, header: &Header, name: &str) -> Option<&'a str> {
        header.index_of(name).map(|i| self.get(i))
    }

    /// The row key (`id`, or `promotion_id` in a promotion feed), trimmed; `None` when the
    /// row leaves it blank.
    pub fn id(&self) -> Option<&'a str> {
        let id = self.get(self.id_index?).trim_ascii();
        (!id.is_empty()).then_some(id)
    }

    /// The record's original bytes, quotes and all, without its line terminator.
    pub fn raw(&self) -> &'a [u8] {
        self.raw
    }

    pub fn fields(&self) -> impl Iterator<Item = &'a str> + '_ {
        (0..self.len()).map(|i| self.get(i))
    }
}

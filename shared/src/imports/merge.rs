//! Merging queued files into one upload: arrival order, the last row per id wins.
//! Memory holds a 128-bit hash and a position per id, never the rows.

use std::collections::{HashMap, HashSet};

use super::keys::FileFormat;
use crate::catalog::{Header, Record, RowError, RowSink, id_hash};

/// Pass one: where each id last occurs, and each file's columns.
#[derive(Debug, Default)]
pub struct LastOccurrences {
    last: HashMap<u128, (usize, u64)>,
    headers: Vec<Vec<String>>,
}

impl LastOccurrences {
    pub fn for_file(&mut self, file: usize) -> FileScan<'_> {
        FileScan {
            owner: self,
            file,
            row: 0,
        }
    }

    fn is_last(&self, id: &str, file: usize, row: u64) -> bool {
        self.last.get(&id_hash(id)) == Some(&(file, row))
    }

    /// Every column of every file, in first-seen order.
    fn union_columns(&self) -> Vec<String> {
        let mut seen = HashSet::new();
        let mut columns = Vec::new();
        for header in &self.headers {
            for column in header {
                if seen.insert(column.clone()) {
                    columns.push(column.clone());
                }
            }
        }
        columns
    }
}

pub struct FileScan<'a> {
    owner: &'a mut LastOccurrences,
    file: usize,
    row: u64,
}

impl RowSink for FileScan<'_> {
    type Error = std::convert::Infallible;

    fn header(&mut self, header: &Header) -> Result<(), Self::Error> {
        if self.owner.headers.len() <= self.file {
            self.owner.headers.resize(self.file + 1, Vec::new());
        }
        self.owner.headers[self.file] = header.columns().to_vec();
        Ok(())
    }

    fn row(&mut self, record: &Record<'_>, _: &Header, _: &[RowError]) -> Result<(), Self::Error> {
        self.row += 1;
        if let Some(id) = record.id().filter(|id| !id.is_empty()) {
            self.owner.last.insert(id_hash(id), (self.file, self.row));
        }
        Ok(())
    }
}

/// Pass two: writes the winning rows under the union header.
pub struct MergeWriter<'a> {
    last: &'a LastOccurrences,
    columns: Vec<String>,
    delimiter: u8,
    header_written: bool,
}

impl<'a> MergeWriter<'a> {
    pub fn new(last: &'a LastOccurrences, format: FileFormat) -> Self {
        Self {
            last,
            columns: last.union_columns(),
            delimiter: match format {
                FileFormat::Csv => b',',
                FileFormat::Tsv => b'\t',
            },
            header_written: false,
        }
    }

    pub fn for_file(&mut self, file: usize) -> FileMerge<'_, 'a> {
        FileMerge {
            writer: self,
            file,
            row: 0,
            output: Vec::new(),
            mapping: Vec::new(),
            same_layout: false,
        }
    }
}

pub struct FileMerge<'w, 'a> {
    writer: &'w mut MergeWriter<'a>,
    file: usize,
    row: u64,
    output: Vec<u8>,
    /// For each union column, its index in this file (if present).
    mapping: Vec<Option<usize>>,
    /// Same columns in the same order and delimiter: rows are copied byte for byte.
    same_layout: bool,
}

impl FileMerge<'_, '_> {
    /// The bytes produced since the last call, for the caller to send on.
    pub fn take_output(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.output)
    }

    fn write_field(&mut self, value: &str) {
        write_csv_field(&mut self.output, value, self.writer.delimiter);
    }
}

/// Writes one field, quoted (with quotes doubled) only when it holds the delimiter, a
/// quote or a line break.
pub(crate) fn write_csv_field(out: &mut Vec<u8>, value: &str, delimiter: u8) {
    if value
        .bytes()
        .any(|b| b == delimiter || b == b'"' || b == b'\n' || b == b'\r')
    {
        out.push(b'"');
        for byte in value.bytes() {
            if byte == b'"' {
                out.push(b'"');
            }
            out.push(byte);
        }
        out.push(b'"');
    } else {
        out.extend_from_slice(value.as_bytes());
    }
}

impl RowSink for FileMerge<'_, '_> {
    type Error = std::convert::Infallible;

    fn header(&mut self, header: &Header) -> Result<(), Self::Error> {
        self.mapping = self
            .writer
            .columns
            .iter()
            .map(|c| header.index_of(c))
            .collect();
        self.same_layout = header.columns() == self.writer.columns.as_slice()
            && header.delimiter() == self.writer.delimiter;
        if !self.writer.header_written {
            self.writer.header_written = true;
            let columns = self.writer.columns.clone();
            for (i, column) in columns.iter().enumerate() {
                if i > 0 {
                    self.output.push(self.writer.delimiter);
                }
                self.write_field(column);
            }
            self.output.push(b'\n');
        }
        Ok(())
    }

    fn row(&mut self, record: &Record<'_>, _: &Header, _: &[RowError]) -> Result<(), Self::Error> {
        self.row += 1;
        let Some(id) = record.id().filter(|id| !id.is_empty()) else {
            return Ok(());
        };
        if !self.writer.last.is_last(id, self.file, self.row) {
            return Ok(());
        }
        if self.same_layout {
            self.output.extend_from_slice(record.raw());
        } else {
            let mapping = self.mapping.clone();
            for (i, index) in mapping.iter().enumerate() {
                if i > 0 {
                    self.output.push(self.writer.delimiter);
                }
                let value = index
                    .filter(|&j| j < record.len())
                    .map_or("", |j| record.get(j));
                self.write_field(value);
            }
        }
        self.output.push(b'\n');
        Ok(())
    }
}

/// Collects the ids of a CSV's rows (Stripe's error report lists failed rows).
#[derive(Debug, Default)]
pub struct IdCollector {
    pub ids: super::sku_rows::FailedIds,
}

impl RowSink for IdCollector {
    type Error = std::convert::Infallible;

    fn header(&mut self, _: &Header) -> Result<(), Self::Error> {
        Ok(())
    }

    fn row(&mut self, record: &Record<'_>, _: &Header, _: &[RowError]) -> Result<(), Self::Error> {
        if let Some(id) = record.id().filter(|id| !id.is_empty()) {
            self.ids.insert(id);
        }
        Ok(())
    }
}

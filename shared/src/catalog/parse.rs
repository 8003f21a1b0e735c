//! The push parser: chunks in, header and records out, on csv-core's DFA.
//!
//! csv-core never fails: it always finds *a* parse. What it cannot say is left to this
//! layer: where a record starts (line numbers for reports), the record's original bytes
//! (for the error file), encoding, an unclosed quote at the end of the file, and bounds on
//! how much one record may buffer.

use std::io::Read;

use csv_core::{ReadRecordResult, Reader, ReaderBuilder};
use memchr::memchr;

use super::record::{Header, Record};
use super::rules::Checker;
use super::{Fatal, FeedKind, Limits, RowError, RowSink, Summary};

/// A record (row) longer than this is refused. Legitimate rows stay far below (the longest
/// column is a 5000-character description); a longer one is almost always an unclosed
/// quote swallowing the rest of the file, and the bound keeps memory flat whatever happens.
pub const MAX_RECORD_BYTES: usize = 1 << 20;

/// A record with more fields than this is refused, for the same reason.
pub const MAX_FIELDS: usize = 10_000;

const BOM: &[u8] = b"\xEF\xBB\xBF";

enum Phase {
    /// Buffering the first line to pick the delimiter.
    Sniff,
    Parse,
}

/// The streaming validator. Push chunks as they arrive, then [`finish`](Self::finish).
/// After a [`Fatal`] every further call returns the same error.
pub struct Validator {
    feed: FeedKind,
    limits: Limits,
    phase: Phase,
    sniffed: Vec<u8>,
    delimiter: u8,
    reader: Reader,
    /// Field bytes of the record being parsed (csv-core unescapes into it).
    out: Vec<u8>,
    out_len: usize,
    /// Field end offsets into `out`.
    ends: Vec<usize>,
    ends_len: usize,
    /// Original bytes of the record being parsed that arrived in earlier chunks.
    carry: Vec<u8>,
    /// No byte of the next record has been consumed yet: line terminators and blank lines
    /// here are skipped by us rather than by csv-core, so they are in no record's bytes
    /// and line numbers stay exact.
    at_record_start: bool,
    /// `\n`s we skipped, which csv-core's own line counter never saw.
    skipped_lines: u64,
    record_line: u64,
    header: Option<Header>,
    checker: Checker,
    errors: Vec<RowError>,
    summary: Summary,
    failed: Option<Fatal>,
}

impl Validator {
    pub fn new(feed: FeedKind, limits: Limits) -> Self {
        Validator {
            feed,
            limits,
            phase: Phase::Sniff,
            sniffed: Vec::new(),
            delimiter: b',',
            reader: Reader::new(),
            out: Vec::new(),
            out_len: 0,
            ends: Vec::new(),
            ends_len: 0,
            carry: Vec::new(),
            at_record_start: true,
            skipped_lines: 0,
            record_line: 1,
            header: None,
            checker: Checker::new(feed),
            errors: Vec::new(),
            summary: Summary::default(),
            failed: None,
        }
    }

    pub fn feed(&self) -> FeedKind {
        self.feed
    }

    /// The header, once it has been read.
    pub fn header(&self) -> Option<&Header> {
        self.header.as_ref()
    }

    /// Counts so far.
    pub fn summary(&self) -> Summary {
        self.summary
    }

    pub fn push<S: RowSink>(&mut self, chunk: &[u8], sink: &mut S) -> Result<(), Fatal> {
        if let Some(fatal) = &self.failed {
            return Err(fatal.clone());
        }
        let result = self.push_inner(chunk, sink);
        if let Err(fatal) = &result {
            self.failed = Some(fatal.clone());
        }
        result
    }

    pub fn finish<S: RowSink>(mut self, sink: &mut S) -> Result<Summary, Fatal> {
        if let Some(fatal) = self.failed.take() {
            return Err(fatal);
        }
        if let Phase::Sniff = self.phase {
            self.end_sniff(true, sink)?;
        }
        loop {
            let (result, _, nout, nend) = self.reader.read_record(
                &[],
                &mut self.out[self.out_len..],
                &mut self.ends[self.ends_len..],
            );
            self.out_len += nout;
            self.ends_len += nend;
            match result {
                ReadRecordResult::Record => {
                    let carry = std::mem::take(&mut self.carry);
                    self.record(&carry, true, sink)?;
                }
                ReadRecordResult::OutputEndsFull => self.grow_ends()?,
                ReadRecordResult::OutputFull => self.grow_out()?,
                ReadRecordResult::InputEmpty | ReadRecordResult::End => break,
            }
        }
        if self.header.is_none() {
            return Err(Fatal::Empty);
        }
        Ok(self.summary)
    }

    fn push_inner<S: RowSink>(&mut self, chunk: &[u8], sink: &mut S) -> Result<(), Fatal> {
        self.summary.bytes += chunk.len() as u64;
        if self.summary.bytes > self.limits.max_bytes {
            return Err(Fatal::TooLarge {
                limit: self.limits.max_bytes,
                at_least: self.summary.bytes,
            });
        }
        match self.phase {
            Phase::Sniff => {
                self.sniffed.extend_from_slice(chunk);
                self.end_sniff(false, sink)
            }
            Phase::Parse => self.parse(chunk, sink),
        }
    }

    /// Once the first non-blank line is complete (or the input is), picks the delimiter
    /// and parses what was buffered.
    fn end_sniff<S: RowSink>(&mut self, at_eof: bool, sink: &mut S) -> Result<(), Fatal> {
        let buffered = &self.sniffed;
        if !at_eof && buffered.len() < BOM.len() && BOM.starts_with(buffered) {
            return Ok(());
        }
        let body = buffered.strip_prefix(BOM).unwrap_or(buffered);
        let Some(line) = first_line(body, at_eof) else {
            if buffered.len() > MAX_RECORD_BYTES {
                return Err(Fatal::RecordTooLong {
                    line: 1,
                    limit: MAX_RECORD_BYTES,
                });
            }
            return Ok(());
        };
        if line.is_empty() {
            return Err(Fatal::Empty);
        }
        self.delimiter = sniff_delimiter(line)?;
        self.reader = ReaderBuilder::new().delimiter(self.delimiter).build();
        self.phase = Phase::Parse;
        let buffered = std::mem::take(&mut self.sniffed);
        let body = buffered.strip_prefix(BOM).unwrap_or(&buffered);
        self.parse(body, sink)
    }

    fn parse<S: RowSink>(&mut self, input: &[u8], sink: &mut S) -> Result<(), Fatal> {
        let mut pos = 0;
        loop {
            if self.at_record_start {
                while let Some(&b) = input.get(pos) {
                    match b {
                        b'\n' => self.skipped_lines += 1,
                        b'\r' => {}
                        _ => break,
                    }
                    pos += 1;
                }
                if pos == input.len() {
                    return Ok(());
                }
                self.record_line = self.reader.line() + self.skipped_lines;
            }
            let start = pos;
            loop {
                let (result, nin, nout, nend) = self.reader.read_record(
                    &input[pos..],
                    &mut self.out[self.out_len..],
                    &mut self.ends[self.ends_len..],
                );
                pos += nin;
                self.out_len += nout;
                self.ends_len += nend;
                if nin > 0 {
                    self.at_record_start = false;
                }
                match result {
                    ReadRecordResult::InputEmpty => {
                        self.stash(&input[start..])?;
                        return Ok(());
                    }
                    ReadRecordResult::OutputFull => self.grow_out()?,
                    ReadRecordResult::OutputEndsFull => self.grow_ends()?,
                    ReadRecordResult::Record => {
                        if self.carry.is_empty() {
                            self.record(&input[start..pos], false, sink)?;
                        } else {
                            self.stash(&input[start..pos])?;
                            let carry = std::mem::take(&mut self.carry);
                            let result = self.record(&carry, false, sink);
                            // Keep the allocation for the next record that spans chunks.
                            self.carry = carry;
                            self.carry.clear();
                            result?;
                        }
                        break;
                    }
                    ReadRecordResult::End => return Ok(()),
                }
            }
        }
    }

    fn stash(&mut self, part: &[u8]) -> Result<(), Fatal> {
        if self.carry.len() + part.len() > MAX_RECORD_BYTES {
            return Err(Fatal::RecordTooLong {
                line: self.record_line,
                limit: MAX_RECORD_BYTES,
            });
        }
        self.carry.extend_from_slice(part);
        Ok(())
    }

    fn grow_out(&mut self) -> Result<(), Fatal> {
        if self.out.len() >= MAX_RECORD_BYTES {
            return Err(Fatal::RecordTooLong {
                line: self.record_line,
                limit: MAX_RECORD_BYTES,
            });
        }
        let len = (self.out.len() * 2).clamp(64 * 1024, MAX_RECORD_BYTES);
        self.out.resize(len, 0);
        Ok(())
    }

    fn grow_ends(&mut self) -> Result<(), Fatal> {
        if self.ends.len() >= MAX_FIELDS {
            return Err(Fatal::TooManyFields {
                line: self.record_line,
                limit: MAX_FIELDS,
            });
        }
        let len = (self.ends.len() * 2).clamp(256, MAX_FIELDS);
        self.ends.resize(len, 0);
        Ok(())
    }

    /// A complete record: `raw` is its original bytes as consumed (ending in its
    /// terminator unless the file ended without one).
    fn record<S: RowSink>(&mut self, raw: &[u8], at_eof: bool, sink: &mut S) -> Result<(), Fatal> {
        let line = self.record_line;
        let out_len = std::mem::take(&mut self.out_len);
        let ends_len = std::mem::take(&mut self.ends_len);
        self.at_record_start = true;
        let raw = strip_terminator(raw);
        if at_eof {
            if let Some(open) = open_quote_line(raw, self.delimiter, line) {
                return Err(Fatal::UnterminatedQuote { line: open });
            }
        }
        // Checking the original bytes (not the unescaped fields) catches a multi-byte
        // sequence split by a quote or delimiter, which the fields alone would hide.
        if let Err(e) = std::str::from_utf8(raw) {
            let before = &raw[..e.valid_up_to()];
            let newlines = memchr::memchr_iter(b'\n', before).count() as u64;
            return Err(Fatal::NotUtf8 {
                line: line + newlines,
            });
        }
        let fields = &self.out[..out_len];
        // Blank lines, and rows of nothing but delimiters and spaces (spreadsheet exports
        // pad with them), are not rows.
        if fields.iter().all(u8::is_ascii_whitespace) {
            return Ok(());
        }
        debug_assert!(std::str::from_utf8(fields).is_ok());
        // SAFETY: `fields` is what csv-core copied out of `raw`, which was just checked to
        // be UTF-8: a subsequence of it that lacks only quotes, delimiters and line
        // terminators (all ASCII; no escape or comment byte is configured), plus possibly
        // a whole leading BOM. Removing ASCII bytes or whole sequences from valid UTF-8
        // leaves valid UTF-8, since an ASCII byte is never inside a multi-byte sequence;
        // for the same reason every field end is a char boundary. Validating the fields a
        // second time cost a tenth of the whole validation.
        let text = unsafe { std::str::from_utf8_unchecked(fields) };
        let ends = &self.ends[..ends_len];
        match &self.header {
            None => {
                let record = Record::new(line, raw, text, ends, None);
                let header = Header::from_record(&record, self.delimiter, self.feed)?;
                sink.header(&header)
                    .map_err(|e| Fatal::Sink(e.to_string()))?;
                self.header = Some(header);
            }
            Some(header) => {
                let record = Record::new(line, raw, text, ends, header.id_index());
                self.summary.rows += 1;
                self.errors.clear();
                self.checker.check(&record, header, &mut self.errors);
                if !self.errors.is_empty() {
                    self.summary.rows_with_errors += 1;
                }
                sink.row(&record, header, &self.errors)
                    .map_err(|e| Fatal::Sink(e.to_string()))?;
            }
        }
        Ok(())
    }
}

/// Validates everything `reader` yields, in 64 KiB chunks.
pub fn validate_reader<R: Read, S: RowSink>(
    feed: FeedKind,
    limits: Limits,
    mut reader: R,
    sink: &mut S,
) -> Result<Summary, Fatal> {
    let mut validator = Validator::new(feed, limits);
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(Fatal::Io(e.to_string())),
        };
        validator.push(&buf[..n], sink)?;
    }
    validator.finish(sink)
}

/// The first line holding anything but whitespace, without its terminator; `None` while
/// it may still be incomplete; `Some(b"")` when the whole input is blank.
fn first_line(body: &[u8], at_eof: bool) -> Option<&[u8]> {
    let mut rest = body;
    loop {
        let (line, next) = match memchr(b'\n', rest) {
            Some(i) => (&rest[..i], Some(&rest[i + 1..])),
            None if at_eof => (rest, None),
            None => return None,
        };
        if !line.iter().all(u8::is_ascii_whitespace) {
            return Some(line);
        }
        match next {
            Some(next) => rest = next,
            None => return Some(&[]),
        }
    }
}

/// Comma or tab, whichever separates more names outside quotes (a header can hold either
/// inside a quoted name, rarely both as separators).
fn sniff_delimiter(line: &[u8]) -> Result<u8, Fatal> {
    let (mut commas, mut tabs, mut quoted) = (0usize, 0usize, false);
    for &b in line {
        match b {
            b'"' => quoted = !quoted,
            b',' if !quoted => commas += 1,
            b'\t' if !quoted => tabs += 1,
            _ => {}
        }
    }
    match (commas, tabs) {
        (0, 0) => Err(Fatal::NoDelimiter),
        (c, t) if t >= c => Ok(b'\t'),
        _ => Ok(b','),
    }
}

/// Drops the one line terminator csv-core consumed with the record (`\n`, `\r` or both).
fn strip_terminator(raw: &[u8]) -> &[u8] {
    let raw = raw.strip_suffix(b"\n").unwrap_or(raw);
    raw.strip_suffix(b"\r").unwrap_or(raw)
}

/// Where a quoted field opened that the record's bytes never close, reading quotes as
/// csv-core does: a quote opens a field only at its start, `""` inside is a literal quote.
fn open_quote_line(raw: &[u8], delimiter: u8, first_line: u64) -> Option<u64> {
    let (mut line, mut opened_on) = (first_line, first_line);
    let (mut quoted, mut field_start) = (false, true);
    let mut i = 0;
    while let Some(&b) = raw.get(i) {
        if quoted {
            if b == b'"' {
                if raw.get(i + 1) == Some(&b'"') {
                    i += 1;
                } else {
                    quoted = false;
                }
            }
        } else if b == b'"' && field_start {
            quoted = true;
            opened_on = line;
        }
        field_start = !quoted && b == delimiter;
        if b == b'\n' {
            line += 1;
        }
        i += 1;
    }
    quoted.then_some(opened_on)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffing() {
        assert_eq!(sniff_delimiter(b"id,title"), Ok(b','));
        assert_eq!(sniff_delimiter(b"id\ttitle"), Ok(b'\t'));
        assert_eq!(sniff_delimiter(b"id\t\"a,b,c\"\ttitle"), Ok(b'\t'));
        assert_eq!(sniff_delimiter(b"id;title"), Err(Fatal::NoDelimiter));
        assert_eq!(
            first_line(b"\r\n  \nid,x\r\nmore", false),
            Some(&b"id,x\r"[..])
        );
        assert_eq!(first_line(b"id,x", false), None);
        assert_eq!(first_line(b"id,x", true), Some(&b"id,x"[..]));
        assert_eq!(first_line(b"\n \n", true), Some(&b""[..]));
    }

    #[test]
    fn open_quotes() {
        assert_eq!(open_quote_line(b"a,\"b\"", b',', 5), None);
        assert_eq!(open_quote_line(b"a,\"b\"\"c\"", b',', 5), None);
        assert_eq!(open_quote_line(b"a,\"b\n\nc", b',', 5), Some(5));
        assert_eq!(open_quote_line(b"a,b\"c", b',', 5), None);
        assert_eq!(open_quote_line(b"\"x\"\n,\"y", b',', 1), Some(2));
    }
}

//! Progress bars for the long file commands (`catalog validate`, `catalog upload`), drawn
//! on stderr only for a person watching a terminal: scripts, pipes, CI logs and `--json`
//! see exactly the output they saw before bars existed.

use std::io::{self, IsTerminal, Read};

use indicatif::{ProgressBar, ProgressStyle};

/// Whether to draw a bar. One decision, kept apart so the rule is tested without a TTY.
pub fn show_progress(stderr_is_terminal: bool, json: bool, no_progress: bool) -> bool {
    stderr_is_terminal && !json && !no_progress
}

/// What decides whether a command draws a bar, besides stderr being a terminal.
#[derive(Clone, Copy)]
pub struct Progress {
    pub json: bool,
    pub no_progress: bool,
}

impl Progress {
    pub fn bar(self, total: u64, verb: &str) -> ProgressBar {
        byte_bar(total, verb, self.json, self.no_progress)
    }
}

/// A byte bar of `total` on stderr, or a hidden bar (counting, drawing nothing) when
/// [`show_progress`] says no. Callers drive both the same way.
fn byte_bar(total: u64, verb: &str, json: bool, no_progress: bool) -> ProgressBar {
    if !show_progress(io::stderr().is_terminal(), json, no_progress) {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(total);
    // The template is a constant: a mistake in it is caught by the unit test below.
    if let Ok(style) = ProgressStyle::with_template(&template(verb)) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

fn template(verb: &str) -> String {
    format!("{verb} [{{bar:30}}] {{bytes}}/{{total_bytes}} {{binary_bytes_per_sec}}, {{eta}} left")
}

/// Takes the bar off the screen when dropped, on success, error or early return alike, so
/// what is printed next starts on a clean line.
pub struct ClearOnDrop(pub ProgressBar);

impl Drop for ClearOnDrop {
    fn drop(&mut self) {
        self.0.finish_and_clear();
    }
}

/// A reader that moves `bar` by every byte it hands out, whatever the caller's buffer.
pub struct CountingReader<R> {
    inner: R,
    bar: ProgressBar,
}

impl<R: Read> CountingReader<R> {
    pub fn new(inner: R, bar: ProgressBar) -> Self {
        Self { inner, bar }
    }
}

impl<R: Read> Read for CountingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.bar.inc(n as u64);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_only_for_a_person_at_a_terminal() {
        assert!(show_progress(true, false, false));
        assert!(!show_progress(false, false, false), "a pipe or a file");
        assert!(!show_progress(true, true, false), "--json");
        assert!(!show_progress(true, false, true), "--no-progress");
        assert!(!show_progress(false, true, true));
    }

    /// Hands out at most `step` bytes per read, like a pipe or a slow disk.
    struct Trickle<'a> {
        data: &'a [u8],
        step: usize,
    }

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = self.step.min(buf.len()).min(self.data.len());
            buf[..n].copy_from_slice(&self.data[..n]);
            self.data = &self.data[n..];
            Ok(n)
        }
    }

    #[test]
    fn the_counting_reader_counts_exactly_the_bytes_read() {
        let data: Vec<u8> = (0..10_000u32).map(|i| (i % 251) as u8).collect();
        let bar = ProgressBar::hidden();
        let mut reader = CountingReader::new(
            Trickle {
                data: &data,
                step: 333,
            },
            bar.clone(),
        );
        let mut head = [0u8; 1000];
        reader.read_exact(&mut head).unwrap();
        assert_eq!(bar.position(), 1000, "a partial read counts what it took");
        let mut rest = Vec::new();
        reader.read_to_end(&mut rest).unwrap();
        assert_eq!(bar.position(), data.len() as u64);
        assert_eq!(
            [&head[..], &rest[..]].concat(),
            data,
            "bytes pass unchanged"
        );
        assert_eq!(reader.read(&mut head).unwrap(), 0);
        assert_eq!(
            bar.position(),
            data.len() as u64,
            "end of file adds nothing"
        );
    }

    #[test]
    fn the_bar_template_is_valid() {
        assert!(ProgressStyle::with_template(&template("validating")).is_ok());
    }
}

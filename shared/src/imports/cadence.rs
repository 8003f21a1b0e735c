//! When a feed may upload, and what. Pure functions over a [`FeedSlot`].
//!
//! At most one upload per account and feed is in flight (Stripe may finish imports out of
//! order, so the next waits for the previous to be terminal), and at most one starts per
//! interval. Files arriving in between queue up and go out together, merged in arrival
//! order; a `replace` file makes everything queued before it moot.
//!
//! A merge remembers a hash and a position per row id (`merge::LastOccurrences`, ~40
//! bytes each), so one merged upload takes at most [`MAX_MERGED_ROWS`] rows: files past
//! that stay queued, in order, for the next slot. Order is kept (one upload in flight at
//! a time), so the last row per id still wins; it only takes more slots.

use super::model::{FeedSlot, QueuedFile};

/// The most rows one merged upload takes (about 20 MB of merge state).
pub const MAX_MERGED_ROWS: u64 = 500_000;

/// The shortest and longest waits between two polls of one import.
pub const FIRST_POLL_AFTER_MILLIS: i64 = 30_000;
pub const LONGEST_POLL_WAIT_MILLIS: i64 = 600_000;

/// When Stripe is next asked about an import uploaded at `uploaded_at`, asked (or sent)
/// at `now`: after as long again as it has taken so far, between 30 seconds and 10
/// minutes. Stripe announces the end of an import (a v2 thin event, a v1 webhook), and
/// that event polls at once; these polls are only the fallback for a lost event, so they
/// back off rather than ask every minute. (At 10 000 imports in flight, a poll a minute
/// each would be 167 requests a second: more than Stripe's whole live-mode limit.)
pub fn poll_after(uploaded_at: i64, now: i64) -> i64 {
    let waited = now.saturating_sub(uploaded_at);
    now.saturating_add(waited.clamp(FIRST_POLL_AFTER_MILLIS, LONGEST_POLL_WAIT_MILLIS))
}

#[derive(Debug, Clone, PartialEq)]
pub enum NextStep {
    Nothing,
    /// Ask Stripe how the in-flight import is doing.
    Poll(String),
    /// Wait until this time (ms) for the next slot.
    WaitUntil(i64),
    /// Upload these files (in arrival order) now; `superseded` are dropped unsent.
    Upload {
        files: Vec<QueuedFile>,
        superseded: Vec<QueuedFile>,
        replace: bool,
    },
}

pub fn next_step(
    slot: &FeedSlot,
    now_millis: i64,
    interval_millis: i64,
    replace_supported: bool,
) -> NextStep {
    if let Some(import_key) = &slot.in_flight {
        return match slot.poll_after {
            Some(after) if now_millis < after => NextStep::WaitUntil(after),
            _ => NextStep::Poll(import_key.clone()),
        };
    }
    if slot.queue.is_empty() {
        return NextStep::Nothing;
    }
    if let Some(last) = slot.last_upload_at {
        let next = last + interval_millis;
        if now_millis < next {
            return NextStep::WaitUntil(next);
        }
    }
    let mut queue = slot.queue.clone();
    queue.sort_by_key(|f| f.arrived_at);
    let last_replace = if replace_supported {
        queue.iter().rposition(|f| f.replace)
    } else {
        None
    };
    let (superseded, mut files) = match last_replace {
        Some(at) => {
            let files = queue.split_off(at);
            (queue, files)
        }
        None => (Vec::new(), queue),
    };
    // The first file always goes (alone it needs no merge); later ones while they fit.
    let mut rows = 0u64;
    let fitting = files
        .iter()
        .take_while(|f| {
            rows = rows.saturating_add(f.rows);
            rows <= MAX_MERGED_ROWS
        })
        .count()
        .max(1);
    files.truncate(fitting);
    NextStep::Upload {
        files,
        superseded,
        replace: last_replace.is_some(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bucket::ObjectRef;
    use crate::imports::keys::{Feed, FileFormat};

    fn file(name: &str, at: i64, replace: bool) -> QueuedFile {
        QueuedFile {
            object: ObjectRef {
                bucket: "b".into(),
                key: format!("incoming/acct_1A/catalog/{name}"),
                version_id: None,
                etag: None,
                size: 1,
            },
            name: name.into(),
            format: FileFormat::Csv,
            replace,
            arrived_at: at,
            rows: 1,
            rows_with_errors: 0,
            rows_left_out_of_report: 0,
        }
    }

    const MIN: i64 = 60_000;

    #[test]
    fn first_file_goes_at_once_then_the_interval_holds() {
        let mut slot = FeedSlot::new("acct_1A", Feed::Product);
        slot.queue.push(file("a.csv", 0, false));
        assert!(matches!(
            next_step(&slot, 0, 15 * MIN, true),
            NextStep::Upload { .. }
        ));
        slot.last_upload_at = Some(0);
        assert_eq!(
            next_step(&slot, 5 * MIN, 15 * MIN, true),
            NextStep::WaitUntil(15 * MIN)
        );
        assert!(matches!(
            next_step(&slot, 15 * MIN, 15 * MIN, true),
            NextStep::Upload { .. }
        ));
    }

    #[test]
    fn in_flight_blocks_everything() {
        let mut slot = FeedSlot::new("acct_1A", Feed::Product);
        slot.queue.push(file("a.csv", 0, false));
        slot.in_flight = Some("imp_1".into());
        assert_eq!(
            next_step(&slot, 99 * MIN, 15 * MIN, true),
            NextStep::Poll("imp_1".into())
        );
    }

    #[test]
    fn an_import_in_flight_is_polled_when_its_poll_is_due() {
        let mut slot = FeedSlot::new("acct_1A", Feed::Product);
        slot.in_flight = Some("imp_1".into());
        slot.poll_after = Some(2 * MIN);
        assert_eq!(
            next_step(&slot, 2 * MIN - 1, 15 * MIN, true),
            NextStep::WaitUntil(2 * MIN)
        );
        assert_eq!(
            next_step(&slot, 2 * MIN, 15 * MIN, true),
            NextStep::Poll("imp_1".into())
        );
    }

    #[test]
    fn polls_back_off_with_the_imports_age_within_bounds() {
        let sec = 1_000;
        // Just sent: the first poll waits the shortest wait.
        assert_eq!(poll_after(0, 0), 30 * sec);
        // Then as long again as the import has taken.
        assert_eq!(poll_after(0, 30 * sec), 60 * sec);
        assert_eq!(poll_after(0, 4 * MIN), 8 * MIN);
        // Never longer than ten minutes.
        assert_eq!(poll_after(0, 60 * MIN), 70 * MIN);
        // A clock that went backwards still waits the shortest wait.
        assert_eq!(poll_after(5 * MIN, 0), 30 * sec);
        // From an upload an hour ago, polls until the next day are few.
        let mut at = 0;
        let mut polls = 0;
        while at < 24 * 60 * MIN {
            at = poll_after(0, at);
            polls += 1;
        }
        assert!(polls < 160, "{polls} polls in a day");
        assert!(
            polls > 140,
            "{polls}: the wait is capped, not growing forever"
        );
    }

    #[test]
    fn queued_files_go_together_in_arrival_order() {
        let mut slot = FeedSlot::new("acct_1A", Feed::Product);
        slot.queue = vec![
            file("c.csv", 3, false),
            file("a.csv", 1, false),
            file("b.csv", 2, false),
        ];
        let NextStep::Upload {
            files,
            superseded,
            replace,
        } = next_step(&slot, 0, MIN, true)
        else {
            panic!()
        };
        let names: Vec<_> = files.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["a.csv", "b.csv", "c.csv"]);
        assert!(superseded.is_empty() && !replace);
    }

    #[test]
    fn a_merge_takes_files_while_their_rows_fit_and_the_rest_wait_in_order() {
        let big = |name: &str, at: i64, rows: u64| QueuedFile {
            rows,
            ..file(name, at, false)
        };
        let mut slot = FeedSlot::new("acct_1A", Feed::Product);
        slot.queue = vec![
            big("a.csv", 1, MAX_MERGED_ROWS / 2),
            big("b.csv", 2, MAX_MERGED_ROWS / 2),
            big("c.csv", 3, 1),
            big("d.csv", 4, 1),
        ];
        let NextStep::Upload { files, .. } = next_step(&slot, 0, MIN, true) else {
            panic!()
        };
        let names: Vec<_> = files.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["a.csv", "b.csv"], "c.csv would pass the bound");
        // A single file over the bound still goes, alone.
        slot.queue = vec![big("huge.csv", 1, MAX_MERGED_ROWS * 3), big("e.csv", 2, 1)];
        let NextStep::Upload { files, .. } = next_step(&slot, 0, MIN, true) else {
            panic!()
        };
        assert_eq!(files.len(), 1);
        assert_eq!(files[0].name, "huge.csv");
    }

    #[test]
    fn a_replace_file_supersedes_what_came_before_it() {
        let mut slot = FeedSlot::new("acct_1A", Feed::Product);
        slot.queue = vec![
            file("a.csv", 1, false),
            file("full.replace.csv", 2, true),
            file("c.csv", 3, false),
        ];
        let NextStep::Upload {
            files,
            superseded,
            replace,
        } = next_step(&slot, 0, MIN, true)
        else {
            panic!()
        };
        assert_eq!(
            files.iter().map(|f| f.name.as_str()).collect::<Vec<_>>(),
            ["full.replace.csv", "c.csv"]
        );
        assert_eq!(superseded.len(), 1);
        assert!(replace);
        // Where replace is not supported (v1), nothing is dropped.
        let NextStep::Upload {
            files,
            superseded,
            replace,
        } = next_step(&slot, 0, MIN, false)
        else {
            panic!()
        };
        assert_eq!((files.len(), superseded.len(), replace), (3, 0, false));
    }
}

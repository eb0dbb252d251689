//! Clock skew between a requester and this host (issue 11, #7).
//!
//! A request carries times from its writer's clock (`timestamp`, `deadline`); its file's mtime
//! is what this host's file system recorded when it was written. Where the two disagree beyond
//! [`TOLERANCE`], the request's times cannot be trusted: a request dated in the future runs
//! only within its window counted from its file's time (its deadline may lie long after its
//! agent gave up), and a recovered claim is bounded by its file's own age as well as by the
//! deadline it carries. Every message names both times,
//! so an operator sees which clock is off and by how much.

use std::time::{Duration, SystemTime};

use gfs2_fence_protocol::{Request, Timestamp};

/// How far two clocks may disagree before the daemon calls it skew.
pub const TOLERANCE: Duration = Duration::from_secs(60);

/// The skew of a request dated in this host's future beyond the tolerance, naming both times.
/// Such a request is still run (its writer's clock is ahead, its deadline with it), but only
/// within its window counted from its file's time by this host's clock ([`late_by_file`]).
pub fn future_timestamp(req: &Request, now: SystemTime) -> Option<String> {
    let ts = req.timestamp?;
    let ahead = ts.to_system_time().duration_since(now).ok()?;
    (ahead > TOLERANCE).then(|| {
        format!(
            "its timestamp {ts} is {} s ahead of this host's clock ({}): the requester's clock \
             and this host's disagree",
            ahead.as_secs(),
            Timestamp::from(now)
        )
    })
}

/// Whether the request's window (`deadline - timestamp`), counted from its file's time by
/// this host's clock, has passed: the deadline as this host sees it, where its writer's
/// clock cannot be trusted.
pub fn late_by_file(req: &Request, now: SystemTime, mtime: Option<SystemTime>) -> bool {
    match (mtime, window(req)) {
        (Some(t), Some(w)) => t + w <= now,
        _ => false,
    }
}

/// The message of a request not started because its deadline passed: both times, and the
/// skew when the file is younger than its window by this host's clock.
pub fn deadline_passed(req: &Request, now: SystemTime, mtime: Option<SystemTime>) -> String {
    let mut m = format!(
        "was not started: its deadline {} passed by this host's clock (now {})",
        show(req.deadline),
        Timestamp::from(now)
    );
    // A file a moment in the future (clock resolution, a step within the tolerance) is new.
    let age = mtime.and_then(|t| match now.duration_since(t) {
        Ok(age) => Some(age),
        Err(e) => (e.duration() <= TOLERANCE).then_some(Duration::ZERO),
    });
    if let (Some(age), Some(window)) = (age, window(req)) {
        if age + TOLERANCE < window {
            m += &format!(
                "; the request file was written {} s ago by this host's clock, within its {} s \
                 window: the requester's clock (timestamp {}) is behind this host's",
                age.as_secs(),
                window.as_secs(),
                show(req.timestamp)
            );
        }
    }
    m
}

/// Why a recovered claim of unknown outcome must not run again although the deadline it
/// carries has not passed: by this host's clock its file is older than its window, or dated in
/// the future (the clock was stepped back, or the requester's is ahead).
pub fn recovered_too_old(req: &Request, now: SystemTime, mtime: SystemTime) -> Option<String> {
    if let Ok(ahead) = mtime.duration_since(now) {
        return (ahead > TOLERANCE).then(|| {
            format!(
                "its claim file is dated {}, {} s ahead of this host's clock ({}); its deadline \
                 {} cannot be trusted",
                Timestamp::from(mtime),
                ahead.as_secs(),
                Timestamp::from(now),
                show(req.deadline)
            )
        });
    }
    let age = now.duration_since(mtime).ok()?;
    let window = window(req)?;
    (age > window).then(|| {
        format!(
            "its claim file was written {} s ago by this host's clock ({}), longer than its {} s \
             window, although its deadline {} has not passed",
            age.as_secs(),
            Timestamp::from(now),
            window.as_secs(),
            show(req.deadline)
        )
    })
}

/// The deadline the scheduler holds a request to: the earlier of the one it carries and its
/// window counted from its file's time by this host's clock (from now when the file is dated
/// in the future or has no time). A request dated in the future carries a deadline too late by
/// this host's clock; bounded so, no backend starts for it after its window while it waits in
/// its node's line or for a permit. For a request without skew the two agree (the file is
/// written just after its timestamp), so its own deadline holds.
pub fn local_deadline(
    req: &Request,
    now: SystemTime,
    mtime: Option<SystemTime>,
) -> Option<SystemTime> {
    let carried = req.deadline.map(Timestamp::to_system_time);
    let seen = mtime.filter(|t| *t <= now).unwrap_or(now);
    let local = window(req).map(|w| seen + w);
    match (carried, local) {
        (Some(c), Some(l)) => Some(c.min(l)),
        (c, l) => c.or(l),
    }
}

/// The time the requester gave: from its timestamp to its deadline.
fn window(req: &Request) -> Option<Duration> {
    let (ts, dl) = (req.timestamp?, req.deadline?);
    dl.to_system_time().duration_since(ts.to_system_time()).ok()
}

fn show(t: Option<Timestamp>) -> String {
    t.map_or_else(|| "(none)".into(), |t| t.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use gfs2_fence_protocol::{Action, Gfs2Discovery, NodeName};

    const HOUR: Duration = Duration::from_secs(3600);

    fn request(timeout: Duration) -> Request {
        let node = NodeName::parse("cn-1").expect("node");
        let disc = Gfs2Discovery::disabled("test");
        Request::new(Action::Off, node, disc, "r".into(), timeout)
    }

    #[test]
    fn a_timestamp_an_hour_ahead_is_skew_and_a_second_is_not() {
        let req = request(Duration::from_secs(60));
        let now = SystemTime::now();
        assert!(future_timestamp(&req, now + Duration::from_secs(1)).is_none());
        let m = future_timestamp(&req, now - HOUR).expect("skew");
        assert!(m.contains(&req.timestamp.expect("ts").to_string()), "{m}");
        assert!(m.contains(&Timestamp::from(now - HOUR).to_string()), "{m}");
    }

    #[test]
    fn the_window_counts_from_the_file_by_this_hosts_clock() {
        let req = request(Duration::from_secs(60));
        let now = SystemTime::now() - HOUR;
        assert!(!late_by_file(
            &req,
            now,
            Some(now - Duration::from_secs(30))
        ));
        assert!(late_by_file(&req, now, Some(now - Duration::from_secs(61))));
        assert!(!late_by_file(&req, now, None));
    }

    #[test]
    fn the_local_deadline_is_the_earlier_of_the_carried_one_and_the_files_window() {
        let mut req = request(Duration::from_secs(60));
        let now = SystemTime::now();
        let carried = req.deadline.map(Timestamp::to_system_time);
        assert_eq!(local_deadline(&req, now, Some(now)), carried, "no skew");
        req.timestamp = req.timestamp.map(|t| (t.to_system_time() + HOUR).into());
        req.deadline = req.deadline.map(|t| (t.to_system_time() + HOUR).into());
        let mtime = now - Duration::from_secs(10);
        let local = local_deadline(&req, now, Some(mtime));
        assert_eq!(
            local,
            Some(mtime + Duration::from_secs(60)),
            "an hour ahead"
        );
        let future = local_deadline(&req, now, Some(now + HOUR));
        assert_eq!(
            future,
            Some(now + Duration::from_secs(60)),
            "a file dated ahead"
        );
    }

    #[test]
    fn a_passed_deadline_names_both_times_and_skew_only_for_a_young_file() {
        let req = request(Duration::from_secs(600));
        let now = SystemTime::now() + HOUR;
        let mtime = now - Duration::from_secs(1);
        let m = deadline_passed(&req, now, Some(mtime));
        assert!(m.contains(&req.deadline.expect("dl").to_string()), "{m}");
        assert!(m.contains(&Timestamp::from(now).to_string()), "{m}");
        assert!(m.contains("is behind this host's"), "{m}");
        let m = deadline_passed(&req, now, Some(mtime - HOUR));
        assert!(!m.contains("behind"), "an old file is no skew: {m}");
    }

    #[test]
    fn a_recovered_claim_is_bounded_by_its_local_age() {
        let req = request(Duration::from_secs(60));
        let now = SystemTime::now();
        assert!(recovered_too_old(&req, now, now).is_none());
        let old = recovered_too_old(&req, now, now - Duration::from_secs(600)).expect("old");
        assert!(old.contains("600 s ago"), "{old}");
        let future = recovered_too_old(&req, now - HOUR, now).expect("future");
        assert!(future.contains("ahead of this host's clock"), "{future}");
    }
}

use std::time::{Duration, Instant};

use super::{Change, Seen, Tracker};
use crate::event::QualityRef;

const MINUTE: Duration = Duration::from_secs(60);

fn capped() -> QualityRef {
    QualityRef {
        wanted: "10000 原画".into(),
        recorded: "250 超清".into(),
    }
}

/// Observes `seen` every 2 s (the supervisor's tick) from `from` for `secs` seconds; returns
/// the changes with the second they happened at.
fn run(
    t: &mut Tracker,
    seen: Seen<'_>,
    start: Instant,
    from: u64,
    secs: u64,
) -> Vec<(u64, Change)> {
    let wall = crate::event::now();
    (from..from + secs)
        .step_by(2)
        .filter_map(|s| {
            let now = start + Duration::from_secs(s);
            t.observe(seen.clone(), MINUTE, now, wall).map(|c| (s, c))
        })
        .collect()
}

#[test]
fn below_the_wanted_quality_for_a_minute_is_raised_once_and_recovers_once() {
    let start = Instant::now();
    let mut t = Tracker::default();
    let q = capped();
    // 58 s below: not yet.
    assert!(run(&mut t, Seen::Below(&q), start, 0, 60).is_empty());
    assert!(t.state().is_none());
    // At 60 s it is raised, and only once however long it lasts.
    let changes = run(&mut t, Seen::Below(&q), start, 60, 600);
    assert_eq!(changes, vec![(60, Change::Degraded(q.clone()))]);
    let state = t.state().expect("degraded");
    assert_eq!(
        state.reason,
        "recording 250 超清, below the wanted quality 10000 原画"
    );
    // Back at the wanted quality: one recovery, then nothing.
    let changes = run(&mut t, Seen::Wanted, start, 660, 60);
    assert_eq!(changes, vec![(660, Change::Recovered(q))]);
    assert!(t.state().is_none());
}

#[test]
fn a_short_dip_or_a_gap_restarts_the_minute() {
    let start = Instant::now();
    let mut t = Tracker::default();
    let q = capped();
    assert!(run(&mut t, Seen::Below(&q), start, 0, 50).is_empty());
    // A reconnect: nothing flows for 20 s; the 50 s below do not count on.
    assert!(run(&mut t, Seen::NotRecording, start, 50, 20).is_empty());
    assert!(run(&mut t, Seen::Below(&q), start, 70, 58).is_empty());
    // A dip at the wanted quality is no recovery (nothing was raised) and restarts it too.
    assert!(run(&mut t, Seen::Wanted, start, 128, 2).is_empty());
    assert!(run(&mut t, Seen::Below(&q), start, 130, 58).is_empty());
    assert_eq!(
        run(&mut t, Seen::Below(&q), start, 188, 4),
        vec![(190, Change::Degraded(q))]
    );
}

#[test]
fn a_raised_state_survives_a_reconnect_and_a_reset_clears_it_silently() {
    let start = Instant::now();
    let mut t = Tracker::default();
    let q = capped();
    assert_eq!(run(&mut t, Seen::Below(&q), start, 0, 62).len(), 1);
    assert!(run(&mut t, Seen::NotRecording, start, 62, 30).is_empty());
    // Still below after the reconnect: not raised again; at another level: shown.
    let lower = QualityRef {
        wanted: q.wanted.clone(),
        recorded: "150 高清".into(),
    };
    assert!(run(&mut t, Seen::Below(&lower), start, 92, 120).is_empty());
    assert_eq!(t.state().map(|d| d.recorded.as_str()), Some("150 高清"));
    t.reset();
    assert!(t.state().is_none());
    assert!(run(&mut t, Seen::Wanted, start, 212, 10).is_empty());
}

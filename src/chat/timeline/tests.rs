use super::*;

fn s(secs: f64) -> Duration {
    Duration::from_secs_f64(secs)
}

#[test]
fn no_segment_no_offset() {
    let w = Instant::now();
    let mut t = Timeline::new();
    assert_eq!(t.offset_at(w), None);
    t.stream_resumed(s(5.0), w);
    t.stream_lost(None, w);
    assert_eq!(
        t.offset_at(w),
        None,
        "events outside a segment change nothing"
    );
    t.open_segment(s(0.0), w);
    t.close_segment();
    assert_eq!(t.offset_at(w + s(1.0)), None);
}

#[test]
fn wall_clock_inside_a_clean_segment() {
    let w = Instant::now();
    let mut t = Timeline::new();
    // FLV timestamps need not start at 0: offsets are relative to the segment's first frame.
    t.open_segment(s(100.0), w);
    assert_eq!(t.offset_at(w), Some(s(0.0)));
    assert_eq!(t.offset_at(w + s(12.345)), Some(s(12.345)));
    assert_eq!(t.offset_at(w - s(1.0)), Some(s(0.0)), "never negative");
}

#[test]
fn a_reconnect_follows_the_media_not_the_wall_clock() {
    let w = Instant::now();
    let mut t = Timeline::new();
    t.open_segment(s(0.0), w);
    // The stream drops at wall 10 s after 9.8 s of media; 30 s pass; the repaired
    // timeline resumes at media 9.84 s at wall 40 s.
    t.stream_lost(Some(s(9.8)), w + s(10.0));
    assert_eq!(
        t.offset_at(w + s(20.0)),
        Some(s(9.8)),
        "pinned during the outage"
    );
    t.stream_resumed(s(9.84), w + s(40.0));
    assert_eq!(t.offset_at(w + s(45.0)), Some(s(14.84)), "not 45 s");
    // A second outage, lost detected late and without a media time: pinned at the
    // extrapolated point, then exact again after the resume.
    t.stream_lost(None, w + s(50.0));
    assert_eq!(t.offset_at(w + s(55.0)), Some(s(19.84)));
    t.stream_lost(Some(s(1.0)), w + s(56.0));
    assert_eq!(
        t.offset_at(w + s(57.0)),
        Some(s(19.84)),
        "the first loss report counts"
    );
    t.stream_resumed(s(19.9), w + s(70.0));
    assert_eq!(t.offset_at(w + s(71.0)), Some(s(20.9)));
}

#[test]
fn a_reconnect_without_a_loss_report() {
    let w = Instant::now();
    let mut t = Timeline::new();
    t.open_segment(s(0.0), w);
    // The documented limit: during the outage the wall clock still runs.
    assert_eq!(t.offset_at(w + s(20.0)), Some(s(20.0)));
    t.stream_resumed(s(10.0), w + s(40.0));
    assert_eq!(t.offset_at(w + s(45.0)), Some(s(15.0)));
    // A message stamped before the anchor but handled after it sits at the anchor.
    assert_eq!(t.offset_at(w + s(39.0)), Some(s(10.0)));
}

#[test]
fn a_split_restarts_at_zero_on_the_same_media_timeline() {
    let w = Instant::now();
    let mut t = Timeline::new();
    t.open_segment(s(0.0), w);
    t.stream_resumed(s(290.0), w + s(320.0)); // a reconnect cost 30 s of wall clock
    assert_eq!(t.offset_at(w + s(330.0)), Some(s(300.0)));
    // The split at media 600 s, reached at wall 630 s.
    t.open_segment(s(600.0), w + s(630.0));
    assert_eq!(t.offset_at(w + s(630.0)), Some(s(0.0)));
    assert_eq!(t.offset_at(w + s(641.5)), Some(s(11.5)));
}

#[test]
fn a_split_during_an_outage_starts_clean() {
    let w = Instant::now();
    let mut t = Timeline::new();
    t.open_segment(s(0.0), w);
    t.stream_lost(Some(s(5.0)), w + s(5.0));
    t.open_segment(s(5.0), w + s(20.0));
    assert_eq!(t.offset_at(w + s(21.0)), Some(s(1.0)));
}

#[test]
fn marks_from_before_a_loss_are_no_resumption_and_later_ones_are() {
    let t0 = Instant::now();
    let s = Duration::from_secs;
    let mut t = Timeline::new();
    t.open_segment(Duration::ZERO, t0);
    t.mark(s(10), t0 + s(10));
    assert_eq!(t.offset_at(t0 + s(11)), Some(s(11)));
    // The stream is lost at 12 s; the writer then writes a GOP it held, marked earlier.
    t.stream_lost(None, t0 + s(12));
    t.mark(s(11), t0 + s(11));
    assert_eq!(
        t.offset_at(t0 + s(20)),
        Some(s(12)),
        "pinned where it stopped"
    );
    // Media flows again at 30 s wall time, continuing at 12.5 s of media.
    t.mark(Duration::from_millis(12_500), t0 + s(30));
    assert_eq!(
        t.offset_at(t0 + s(32)),
        Some(Duration::from_millis(14_500)),
        "the media timeline, not the wall clock (which says 32 s)"
    );
}

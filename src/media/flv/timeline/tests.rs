use super::*;

fn run(input: &[(Track, i32)]) -> Vec<i64> {
    let mut t = Timeline::default();
    input.iter().map(|&(k, ts)| t.map(k, ts).0).collect()
}

use Track::{Audio as A, Video as V};

#[test]
fn a_clean_stream_is_untouched() {
    let input: Vec<_> = (0..100).flat_map(|i| [(V, i * 33), (A, i * 23)]).collect();
    let out = run(&input);
    assert!(
        out.iter()
            .zip(&input)
            .all(|(o, (_, i))| *o == i64::from(*i))
    );
}

#[test]
fn a_reset_to_zero_continues_from_the_last_timestamp() {
    let mut input: Vec<_> = (0..30)
        .flat_map(|i| [(V, 10_000 + i * 33), (A, 10_000 + i * 23)])
        .collect();
    input.extend((0..30).flat_map(|i| [(V, i * 33), (A, i * 23)]));
    let out = run(&input);
    // After the reset, video continues at last + 33 and audio stays next to it.
    let v_last = 10_000 + 29 * 33;
    assert_eq!(out[60], i64::from(v_last) + 33);
    assert!((out[61] - out[60]).abs() < 100, "{:?}", &out[58..64]);
    for w in out.iter().step_by(2).collect::<Vec<_>>().windows(2) {
        assert!(w[1] >= w[0]);
    }
}

#[test]
fn an_hours_long_jump_ahead_is_removed() {
    let mut input: Vec<_> = (0..10).flat_map(|i| [(V, i * 33), (A, i * 23)]).collect();
    input.extend((0..10).flat_map(|i| [(V, 7_200_000 + i * 33), (A, 7_200_000 + i * 23)]));
    let out = run(&input);
    assert!(*out.iter().max().unwrap() < 1_000);
}

#[test]
fn a_gap_in_one_track_is_not_a_jump() {
    let mut input: Vec<(Track, i32)> = (0..60).map(|i| (V, i * 33)).collect();
    input.insert(0, (A, 0));
    // Audio resumes after 1.5 s of silence, in step with video.
    input.push((A, 1_500));
    let out = run(&input);
    assert_eq!(*out.last().unwrap(), 1_500);
}

#[test]
fn a_rewind_under_a_second_continues_at_the_frame_rate() {
    for back in [300, 800] {
        let mut input: Vec<_> = (0..30)
            .flat_map(|i| [(V, 5_000 + i * 33), (A, 5_000 + i * 23)])
            .collect();
        let v_last = 5_000 + 29 * 33;
        input.extend(
            (0..30).flat_map(|i| [(V, v_last - back + i * 33), (A, v_last - back + i * 23)]),
        );
        let out = run(&input);
        let video: Vec<i64> = out.iter().step_by(2).copied().collect();
        // No pile-up: every video step after the rewind is a frame interval again.
        for w in video[29..].windows(2) {
            assert!(
                (20..=50).contains(&(w[1] - w[0])),
                "-{back} ms: {:?}",
                &video[27..35]
            );
        }
        assert!(
            (out[61] - out[60]).abs() < 100,
            "A/V stay together: {:?}",
            &out[58..64]
        );
    }
}

#[test]
fn small_rebounds_are_clamped_and_wraps_saturate() {
    let out = run(&[(V, 100), (V, 90), (V, 133)]);
    assert_eq!(out, [100, 101, 133]);
    let out = run(&[(V, i32::MAX - 10), (V, i32::MIN), (V, i32::MIN + 33)]);
    assert!(out.windows(2).all(|w| w[1] > w[0]), "{out:?}");
}

use super::*;

fn t(h: u32, m: u32, s: u32) -> NaiveTime {
    NaiveTime::from_hms_opt(h, m, s).unwrap()
}

fn w(s: &str) -> Window {
    Window::parse(s).unwrap()
}

fn mins(d: Option<Duration>) -> Option<f64> {
    d.map(|d| d.as_secs_f64() / 60.0)
}

#[test]
fn inside_the_window_is_open_now() {
    let night = w("02:00-07:00");
    assert_eq!(until_open(&night, t(2, 0, 0)), None);
    assert_eq!(until_open(&night, t(4, 30, 12)), None);
    assert_eq!(until_open(&night, t(6, 59, 59)), None);
}

#[test]
fn before_and_after_the_window_wait_for_the_next_opening() {
    let night = w("02:00-07:00");
    assert_eq!(mins(until_open(&night, t(1, 0, 0))), Some(60.0));
    assert_eq!(mins(until_open(&night, t(1, 59, 30))), Some(0.5));
    // The end is exclusive: at 07:00 the next opening is tomorrow's 02:00.
    assert_eq!(mins(until_open(&night, t(7, 0, 0))), Some(19.0 * 60.0));
    assert_eq!(mins(until_open(&night, t(23, 0, 0))), Some(3.0 * 60.0));
    assert_eq!(mins(until_open(&night, t(0, 0, 0))), Some(2.0 * 60.0));
}

#[test]
fn windows_across_midnight() {
    let late = w("22:00-02:00");
    assert_eq!(until_open(&late, t(22, 0, 0)), None);
    assert_eq!(until_open(&late, t(23, 59, 59)), None);
    assert_eq!(until_open(&late, t(0, 0, 0)), None);
    assert_eq!(until_open(&late, t(1, 59, 0)), None);
    assert_eq!(mins(until_open(&late, t(2, 0, 0))), Some(20.0 * 60.0));
    assert_eq!(mins(until_open(&late, t(21, 0, 0))), Some(60.0));
    assert_eq!(mins(until_open(&late, t(21, 59, 45))), Some(0.25));
}

#[test]
fn a_fake_clock_walking_through_a_day_agrees_with_contains() {
    // Every minute of a day: closed minutes wait exactly until the start, open ones not at all.
    for window in [w("02:00-07:00"), w("23:30-00:30"), w("00:00-00:01")] {
        for minute in 0..24 * 60u32 {
            let now = t(minute / 60, minute % 60, 0);
            let wait = until_open(&window, now);
            assert_eq!(
                wait.is_none(),
                window.contains(minute as u16),
                "{window} {now}"
            );
            if let Some(wait) = wait {
                let opens = (minute + (wait.as_secs() / 60) as u32) % (24 * 60);
                assert_eq!(opens, u32::from(window.start), "{window} {now}");
                assert!(window.contains(opens as u16));
            }
        }
    }
}

#[test]
fn deliveries_are_retried_after_10s_doubling_to_an_hour() {
    let secs: Vec<u64> = (1..=11).map(|n| RETRY.delay(n).as_secs()).collect();
    assert_eq!(
        secs,
        [10, 20, 40, 80, 160, 320, 640, 1280, 2560, 3600, 3600]
    );
}

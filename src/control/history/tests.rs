use super::*;

fn key(s: &str) -> String {
    s.to_string()
}

#[test]
fn keeps_the_last_samples_per_room_and_forgets_rooms_that_are_gone() {
    let h = BitrateHistory::new(3);
    for v in [100.0, 200.4, 300.6, 400.0] {
        h.record([(key("a"), v), (key("b"), 0.0)]);
    }
    let j = h.json();
    assert_eq!(j.rooms.get("a"), Some(&vec![200, 301, 400]));
    assert!(!j.rooms.contains_key("b"), "nothing written: left out");
    assert_eq!(j.interval_s, 5);
    h.record([(key("b"), 50.0)]);
    let j = h.json();
    assert!(
        !j.rooms.contains_key("a"),
        "a room removed by a reload is forgotten"
    );
    assert_eq!(j.rooms.get("b"), Some(&vec![0, 0, 50]));
}

#[test]
fn odd_rates_read_as_nothing_written() {
    let h = BitrateHistory::new(4);
    h.record([(key("a"), f64::NAN)]);
    h.record([(key("a"), -3.0)]);
    h.record([(key("a"), f64::INFINITY)]);
    h.record([(key("a"), 1e12)]);
    assert_eq!(h.json().rooms.get("a"), Some(&vec![0, 0, 0, u32::MAX]));
}

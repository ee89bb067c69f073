use super::*;
use std::collections::HashMap;

fn rooms() -> Vec<String> {
    (0..10_000)
        .map(|i| format!("bilibili:{}", 1_000_000 + i))
        .collect()
}

fn assign<'a>(rooms: &'a [String], members: &[(&'a str, f64)]) -> HashMap<&'a str, &'a str> {
    rooms
        .iter()
        .map(|r| (r.as_str(), owner(r, members.iter().copied()).unwrap()))
        .collect()
}

fn count<'a>(assignment: &HashMap<&'a str, &'a str>) -> HashMap<&'a str, usize> {
    let mut counts = HashMap::new();
    for owner in assignment.values() {
        *counts.entry(*owner).or_default() += 1;
    }
    counts
}

#[test]
fn the_hash_is_pinned() {
    // Published FNV-1a 64 test vectors.
    let fnv = |s: &[u8]| fnv1a64(s.iter().copied());
    assert_eq!(fnv(b""), 0xcbf2_9ce4_8422_2325);
    assert_eq!(fnv(b"a"), 0xaf63_dc4c_8601_ec8c);
    assert_eq!(fnv(b"foobar"), 0x8594_4171_f739_67e8);
    assert_eq!(fmix64(0), 0);
    // If these change, instances of two releases disagree on who polls what.
    assert_eq!(stable_hash(b"bilibili:123|nas-1"), 0xab47_0af9_0088_878c);
    assert_eq!(stable_hash(b"douyin:42|nas-2"), 0xd1be_ba05_54c9_f987);
}

#[test]
fn weighted_spread_over_10000_rooms() {
    let rooms = rooms();
    let members = [("nas-1", 1.0), ("nas-2", 1.0), ("big", 2.0)];
    let counts = count(&assign(&rooms, &members));
    // Expected 2500 / 2500 / 5000; binomial spread is ~45, allow ~5 sigma.
    for (name, expected) in [("nas-1", 2500), ("nas-2", 2500), ("big", 5000)] {
        let got = counts[name] as i64;
        assert!(
            (got - expected).abs() < 250,
            "{name}: {got} rooms, expected ~{expected}"
        );
    }
}

#[test]
fn a_joining_member_takes_only_the_rooms_it_wins() {
    let rooms = rooms();
    let before = assign(&rooms, &[("nas-1", 1.0), ("nas-2", 1.0), ("big", 2.0)]);
    let after = assign(
        &rooms,
        &[("nas-1", 1.0), ("nas-2", 1.0), ("big", 2.0), ("new", 1.0)],
    );
    let moved: Vec<_> = rooms
        .iter()
        .filter(|r| before[r.as_str()] != after[r.as_str()])
        .collect();
    assert!(
        moved.iter().all(|r| after[r.as_str()] == "new"),
        "rooms moved between old members"
    );
    // The newcomer's share is 1/5.
    assert!(
        (moved.len() as i64 - 2000).abs() < 250,
        "{} moved",
        moved.len()
    );
}

#[test]
fn a_leaving_member_gives_away_only_its_own_rooms() {
    let rooms = rooms();
    let before = assign(&rooms, &[("nas-1", 1.0), ("nas-2", 1.0), ("big", 2.0)]);
    let after = assign(&rooms, &[("nas-1", 1.0), ("big", 2.0)]);
    for r in &rooms {
        let r = r.as_str();
        if before[r] != "nas-2" {
            assert_eq!(before[r], after[r], "{r} moved without cause");
        } else {
            assert_ne!(after[r], "nas-2");
        }
    }
    // nas-2's rooms split about 1:2 between the others.
    let counts = count(&after);
    assert!((counts["big"] as f64 / counts["nas-1"] as f64 - 2.0).abs() < 0.15);
}

#[test]
fn deterministic_and_independent_of_member_order() {
    let a = [("nas-1", 1.0), ("nas-2", 1.5), ("nas-3", 0.5)];
    let b = [("nas-3", 0.5), ("nas-1", 1.0), ("nas-2", 1.5)];
    for i in 0..500 {
        let room = format!("douyin:{i}");
        let first = owner(&room, a.iter().copied());
        assert_eq!(first, owner(&room, a.iter().copied()));
        assert_eq!(first, owner(&room, b.iter().copied()));
    }
}

#[test]
fn members_that_take_no_rooms() {
    assert_eq!(owner("r", std::iter::empty()), None);
    assert_eq!(owner("r", [("a", 0.0), ("b", -1.0), ("c", f64::NAN)]), None);
    assert_eq!(
        owner("r", [("a", 0.0), ("b", f64::INFINITY), ("c", 1.0)]),
        Some("c")
    );
    assert!(score("r", "a", 1.0).is_some_and(|s| s.is_finite() && s > 0.0));
    // score() hashes exactly "<room>|<instance>".
    let u = unit_interval(stable_hash(b"r|a"));
    assert_eq!(score("r", "a", 2.0), Some(-2.0 / u.ln()));
}

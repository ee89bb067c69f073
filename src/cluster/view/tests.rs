use super::*;
use crate::cluster::keys::encode;

fn kv(key: &str, value: &[u8], create_revision: i64, lease: i64) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: value.to_vec(),
        create_revision,
        mod_revision: create_revision,
        version: 1,
        lease,
    }
}

fn member(l: &Layout, name: &str, weight: f64, accepting: bool) -> KeyValue {
    kv(
        &l.member(name),
        &encode(&MemberValue { weight, accepting }),
        1,
        7,
    )
}

#[test]
fn idle_rooms_go_to_their_hash_owner_and_recorded_rooms_to_their_owner() {
    let l = Layout::new("home");
    let mut v = View::default();
    v.reset(
        &l,
        &[
            member(&l, "nas-1", 1.0, true),
            member(&l, "nas-2", 1.0, true),
        ],
    );
    let rooms: Vec<String> = (0..200).map(|i| format!("bilibili:{i}")).collect();
    let mine = |v: &View, who: &str| {
        rooms
            .iter()
            .filter(|r| v.turn(r, who) == Turn::Mine)
            .count()
    };
    // Every room is polled by exactly one of the two.
    assert_eq!(mine(&v, "nas-1") + mine(&v, "nas-2"), 200);
    assert!(mine(&v, "nas-1") > 60 && mine(&v, "nas-2") > 60);
    // A recorded room is its owner's, whatever the hash says.
    let room = &rooms[0];
    let other = if v.hash_owner(room) == Some("nas-1") {
        "nas-2"
    } else {
        "nas-1"
    };
    let change = v.apply(
        &l,
        EventKind::Put,
        &kv(
            &l.owner(room),
            &encode(&OwnerValue {
                instance: other.into(),
                writing: false,
            }),
            42,
            9,
        ),
    );
    assert!(matches!(change, Some(OwnerChange::Set { ref owner, .. }) if owner.fence == 42));
    assert_eq!(v.turn(room, other), Turn::Mine);
    let winner = v.hash_owner(room).unwrap().to_string();
    assert_eq!(v.turn(room, &winner), Turn::RecordedBy(other.into()));
    // Deleted: back to the hash.
    let gone = v.apply(&l, EventKind::Delete, &kv(&l.owner(room), b"", 0, 0));
    assert_eq!(gone, Some(OwnerChange::Gone { room: room.clone() }));
    assert_eq!(v.turn(room, &winner), Turn::Mine);
}

#[test]
fn a_member_that_stops_accepting_gives_its_idle_rooms_away() {
    let l = Layout::new("home");
    let mut v = View::default();
    v.reset(
        &l,
        &[
            member(&l, "nas-1", 1.0, true),
            member(&l, "nas-2", 1.0, false),
        ],
    );
    for i in 0..50 {
        assert_eq!(v.turn(&format!("douyin:{i}"), "nas-1"), Turn::Mine);
    }
    v.apply(&l, EventKind::Delete, &member(&l, "nas-1", 1.0, true));
    assert!(matches!(v.turn("douyin:1", "nas-2"), Turn::PolledBy(_)));
}

#[test]
fn the_budget_is_shared_by_weight() {
    let l = Layout::new("home");
    let mut v = View::default();
    assert_eq!(v.share("nas-1"), 1.0);
    v.reset(
        &l,
        &[
            member(&l, "nas-1", 1.0, true),
            member(&l, "nas-2", 1.0, true),
            member(&l, "big", 2.0, false),
        ],
    );
    assert_eq!(v.share("nas-1"), 0.25);
    assert_eq!(v.share("big"), 0.5);
    // Not registered yet: the whole budget, as a single instance.
    assert_eq!(v.share("new"), 1.0);
}

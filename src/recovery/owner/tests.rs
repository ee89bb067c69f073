use super::*;
use crate::config::filename_template;
use crate::event::{RoomRef, SessionRef};
use crate::segment::naming::render;

fn fields(title: &str) -> (RoomRef, SessionRef) {
    let room = RoomRef {
        platform: "bilibili".into(),
        id: "1".into(),
        key: "bilibili:1".into(),
        name: "alice".into(),
        url: "https://live.bilibili.com/1".into(),
        streamer: "Alice".into(),
        title: title.into(),
    };
    let session = SessionRef {
        id: uuid::Uuid::new_v4(),
        start: chrono::DateTime::parse_from_rfc3339("2026-11-21T21:04:05+08:00").unwrap(),
    };
    (room, session)
}

fn alice(id_certain: bool) -> KnownRoom<'static> {
    KnownRoom {
        platform: "bilibili",
        id: "1",
        key: "bilibili:1",
        name: Some("alice"),
        id_certain,
    }
}

#[test]
fn a_path_names_a_room_only_by_what_is_its_own() {
    let rel = |t: &str, (room, session): &(RoomRef, SessionRef)| {
        render(
            &filename_template(t).unwrap(),
            room,
            session,
            2,
            session.start,
        )
        .to_string_lossy()
        .into_owned()
    };
    let f = fields("a/b: c");
    for t in [
        "{platform}/{id}/{start:%Y-%m-%d}/{streamer}_{title}",
        "{key}_{index}",
        "{name}/{start:%Y%m%d-%H%M%S}_{title}",
    ] {
        let template = filename_template(t).unwrap();
        let path = rel(t, &f);
        assert!(names_room(&template, &alice(true), &path), "{t}: {path}");
        assert!(
            names_room(&template, &alice(true), &format!("{path}_3")),
            "{t}: a taken name"
        );
        let bob = KnownRoom {
            id: "2",
            key: "bilibili:2",
            name: Some("bob"),
            ..alice(true)
        };
        assert!(!names_room(&template, &bob, &path), "{t}: not bob's");
    }
    // The default template names only the platform and the streamer: it cannot tell rooms
    // apart, so it names none.
    let default = "{platform}/{streamer}/{start:%Y-%m-%d}/{streamer}_{start:%Y%m%d-%H%M%S}_{title}";
    let path = rel(default, &f);
    assert!(!names_room(
        &filename_template(default).unwrap(),
        &alice(true),
        &path
    ));
    // An id that may be a short id identifies nothing.
    let t = "{name}/{title}";
    assert!(!names_room(
        &filename_template(t).unwrap(),
        &alice(false),
        &rel(t, &f)
    ));
    // Another platform, or an extra folder: no.
    let t = "{platform}/{id}/{title}";
    assert!(!names_room(
        &filename_template(t).unwrap(),
        &alice(true),
        "douyin/1/x"
    ));
    assert!(!names_room(
        &filename_template(t).unwrap(),
        &alice(true),
        "bilibili/1/x/y"
    ));
}

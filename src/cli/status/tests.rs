use super::*;

#[test]
fn the_table_shows_hls_gaps() {
    let cfg = crate::config::parse(
            "[[rooms]]\nname = \"a\"\nurl = \"http://127.0.0.1:1/a.m3u8\"\n[[rooms]]\nname = \"b\"\nurl = \"http://127.0.0.1:1/b.flv\"\n",
            Path::new("/etc/liverec/recorder.toml"),
        )
        .unwrap();
    let snap = |i: usize, gaps: u64| {
        let room = &cfg.rooms[i];
        let mut s = RoomSnapshot::new(&room.target.known_key().unwrap(), room);
        s.gaps_total = gaps;
        s
    };
    let status = Status {
        version: "0.1.0".into(),
        commit: "abc1234".into(),
        pid: 1,
        started: chrono::Local::now().fixed_offset(),
        config: "/etc/liverec/recorder.toml".into(),
        disk_free_bytes: 0,
        disk_total_bytes: 0,
        disk_low: false,
        rooms: vec![snap(0, 2), snap(1, 0)],
        hooks: Vec::new(),
        bitrate_history: Default::default(),
        logins: Default::default(),
    };
    let text = table(&status);
    let lines: Vec<&str> = text.lines().collect();
    let col = lines[0].find("GAPS").expect("a GAPS column");
    assert!(
        lines[0][col..].starts_with("GAPS  LAST ERROR / DETAIL"),
        "{text}"
    );
    assert_eq!(&lines[1][col..col + 1], "2", "{text}");
    assert_eq!(&lines[2][col..col + 1], "-", "{text}");
}

#[test]
fn the_footer_names_the_daemons_build() {
    let status = |commit: &str| Status {
        version: "0.1.0".into(),
        commit: commit.into(),
        pid: 42,
        started: chrono::Local::now().fixed_offset(),
        config: "/etc/liverec/recorder.toml".into(),
        disk_free_bytes: 0,
        disk_total_bytes: 0,
        disk_low: false,
        rooms: Vec::new(),
        hooks: Vec::new(),
        bitrate_history: Default::default(),
        logins: Default::default(),
    };
    let text = table(&status("abc1234"));
    assert!(
        text.contains("liverec 0.1.0 (abc1234), pid 42, up "),
        "{text}"
    );
    // An older daemon says nothing about its commit.
    let text = table(&status(""));
    assert!(text.contains("liverec 0.1.0, pid 42, up "), "{text}");
}

#[test]
fn an_unrecordable_room_shows_its_reason() {
    let cfg = crate::config::parse(
        "[[rooms]]\nname = \"a\"\nurl = \"http://127.0.0.1:1/a.flv\"\n",
        Path::new("/etc/liverec/recorder.toml"),
    )
    .unwrap();
    let room = &cfg.rooms[0];
    let mut snap = RoomSnapshot::new(&room.target.known_key().unwrap(), room);
    snap.state = RoomState::Unrecordable;
    snap.detail = Some("the server refused access (HTTP 403)".into());
    snap.last_error = Some("an older error".into());
    let status = Status {
        version: "0.1.0".into(),
        commit: String::new(),
        pid: 1,
        started: chrono::Local::now().fixed_offset(),
        config: "/etc/liverec/recorder.toml".into(),
        disk_free_bytes: 0,
        disk_total_bytes: 0,
        disk_low: false,
        rooms: vec![snap],
        hooks: Vec::new(),
        bitrate_history: Default::default(),
        logins: Default::default(),
    };
    let text = table(&status);
    let line = text.lines().nth(1).unwrap();
    assert!(line.contains(" unrecordable "), "{text}");
    assert!(
        line.ends_with("the server refused access (HTTP 403)"),
        "{text}"
    );
}

#[test]
fn a_degraded_room_and_a_logged_out_cookie_are_said() {
    let cfg = crate::config::parse(
        "[[rooms]]\nname = \"a\"\nurl = \"https://live.bilibili.com/7734200\"\n",
        Path::new("/etc/liverec/recorder.toml"),
    )
    .unwrap();
    let room = &cfg.rooms[0];
    let key = crate::platform::RoomKey::new(crate::platform::PlatformKind::Bilibili, "7734200");
    let mut snap = RoomSnapshot::new(&key, room);
    snap.state = RoomState::Recording;
    snap.degraded = Some(crate::room::degrade::Degraded {
        since: chrono::Local::now().fixed_offset(),
        reason: "recording 250 超清, below the wanted quality 10000 原画".into(),
        wanted: "10000 原画".into(),
        recorded: "250 超清".into(),
    });
    let status = Status {
        version: "0.1.0".into(),
        commit: String::new(),
        pid: 1,
        started: chrono::Local::now().fixed_offset(),
        config: "/etc/liverec/recorder.toml".into(),
        disk_free_bytes: 0,
        disk_total_bytes: 0,
        disk_low: false,
        rooms: vec![snap],
        hooks: Vec::new(),
        bitrate_history: Default::default(),
        logins: [("bilibili".to_string(), Some(false))].into(),
    };
    let text = table(&status);
    let line = text.lines().nth(1).unwrap();
    assert!(
        line.ends_with("degraded: recording 250 超清, below the wanted quality 10000 原画"),
        "{text}"
    );
    assert!(text.contains(", bilibili cookie LOGGED OUT"), "{text}");
}

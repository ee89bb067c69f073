use super::progress::{View, line};
use super::*;
use crate::room::RoomState;
use std::time::Duration;

fn args(url: &str) -> Args {
    Args {
        url: url.into(),
        output: PathBuf::from("/srv/rec"),
        ..Args::default()
    }
}

fn build_text(a: &Args, base: &str) -> Result<Config, BadArgs> {
    let table: toml::Table = base.parse().unwrap();
    build(
        a,
        table,
        Path::new("/etc/liverec/recorder.toml"),
        Path::new("/run/user/1000/liverec-record"),
    )
}

#[test]
fn the_options_make_one_room_and_nothing_points_into_the_output_folder() {
    let a = Args {
        quality: Some("10000".into()),
        format: Some("hls-ts".into()),
        segment_duration: Some("30m".into()),
        segment_size: Some("0B".into()),
        ..args("https://live.bilibili.com/21452505")
    };
    let c = build_text(&a, "").unwrap();
    assert_eq!(c.output_dir, Path::new("/srv/rec"));
    assert_eq!(c.state_dir, Path::new("/run/user/1000/liverec-record"));
    assert_eq!(c.lock_dir, Path::new("/run/user/1000/liverec-record/locks"));
    let [room] = c.rooms.as_slice() else {
        panic!("{:?}", c.rooms)
    };
    assert_eq!(room.settings.quality, ["10000"]);
    assert_eq!(room.settings.formats, ["hls-ts"]);
    assert_eq!(room.settings.segment_duration, Duration::from_secs(1800));
    assert_eq!(room.settings.segment_size, 0);
    assert!(room.record && room.enabled);
    assert!(c.hooks.is_empty() && c.webhooks.is_empty() && c.notify.is_empty());
    assert!(
        room.settings.chat.danmaku,
        "chat beside the video by default"
    );
    let quiet = Args {
        no_danmaku: true,
        ..args("https://live.bilibili.com/21452505")
    };
    let c = build_text(&quiet, "").unwrap();
    assert!(!c.rooms[0].settings.chat.danmaku);
}

#[test]
fn a_config_gives_its_platforms_and_defaults_but_not_its_rooms_hooks_or_folders() {
    let base = r#"
output_dir = "/elsewhere"
poll_interval = "5s"
offline_grace = "10s"
filename = "{name}/{index}"
[platforms.bilibili]
api_base = "http://127.0.0.1:9/"
[[rooms]]
url = "https://live.douyin.com/1"
[[notify]]
kind = "bark"
device_key = "k"
[control]
listen = "127.0.0.1:0"
"#;
    let c = build_text(&args("https://live.bilibili.com/7"), base).unwrap();
    assert_eq!(c.output_dir, Path::new("/srv/rec"));
    assert_eq!(c.rooms.len(), 1);
    let room = &c.rooms[0];
    assert_eq!(room.url(), "https://live.bilibili.com/7");
    assert_eq!(room.settings.poll_interval, Duration::from_secs(5));
    assert_eq!(room.settings.offline_grace, Duration::from_secs(10));
    assert_eq!(room.settings.filename.as_str(), "{name}/{index}");
    assert!(
        c.platforms
            .get(crate::platform::PlatformKind::Bilibili)
            .is_some_and(|p| p.api_base.is_some())
    );
    assert!(c.notify.is_empty());
}

#[test]
fn bad_options_are_named_as_options() {
    let a = Args {
        segment_duration: Some("1hour".into()),
        segment_size: Some("12".into()),
        quality: Some("8k".into()),
        cookie_file: Some(PathBuf::from("/nonexistent/cookie")),
        ..args("https://live.douyin.com/1")
    };
    let Err(BadArgs(lines)) = build_text(&a, "") else {
        panic!("accepted")
    };
    let joined = lines.join("\n");
    for want in [
        "--segment-duration: \"1hour\" is not a duration (try \"1h\")",
        "--segment-size: ",
        "--quality: ",
        "--cookie-file: cannot read /nonexistent/cookie",
    ] {
        assert!(joined.contains(want), "{want:?} not in\n{joined}");
    }
    let Err(BadArgs(lines)) = build_text(&args("https://example.com/page"), "") else {
        panic!("accepted")
    };
    assert!(lines[0].starts_with("URL: no platform knows"), "{lines:?}");
}

fn view(state: RoomState) -> View {
    View {
        elapsed: Duration::from_secs(3723),
        state,
        detail: Some("connecting".into()),
        file: Some("alice_20261121-210405_a rather long title of the live.flv.part".into()),
        bytes: 3 << 20,
        kbps: 2480.4,
        reconnects: 1,
        files: 0,
    }
}

#[test]
fn the_progress_line_shows_time_file_size_rate_and_reconnects_within_the_width() {
    let l = line(&view(RoomState::Recording), 120);
    assert_eq!(
        l,
        "● REC 01:02:03  alice_20261121-210405_a rather long title of the live.flv.part  3MiB  2480 kb/s  1 reconnect"
    );
    let narrow = line(&view(RoomState::Recording), 60);
    assert!(narrow.chars().count() < 60, "{narrow}");
    assert!(narrow.starts_with("● REC 01:02:03  alice_"), "{narrow}");
    assert!(
        narrow.contains("…") && narrow.ends_with("1 reconnect"),
        "{narrow}"
    );
    let live = line(
        &View {
            files: 2,
            ..view(RoomState::Live)
        },
        100,
    );
    assert_eq!(
        live,
        "live 01:02:03  connecting  3MiB  2480 kb/s  1 reconnect  2 done"
    );
    // A terminal too narrow for anything still gets a line that does not wrap.
    assert!(line(&view(RoomState::Recording), 10).chars().count() <= 9);
}

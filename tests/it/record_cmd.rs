//! `liverec record URL` end to end: the real binary, without a config file of rooms, against the
//! fake platform API and a local FLV server. Files must meet README's guarantees (ffmpeg decodes
//! them cleanly, the first video packet is a keyframe at ~0, every served frame is there once),
//! the exit status must say what happened, Ctrl-C must leave no `.part`, and the progress line
//! must show on a terminal (a pseudo-terminal here) and nowhere else.

use std::io::Read;
use std::os::fd::{FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::support::daemon::{bin, files, wait_until};
use crate::support::flv;
use crate::support::media;
use crate::support::platform_server::{BiliRoom, PlatformServer};
use crate::support::server::{Answer, StreamServer};

const FIXTURE: &str = "flv_640x360_20s.flv";
const LONG_ID: u64 = 7734200;
const BILI_PATH: &str = "live-bvc/7734200/live.flv";

/// A finite live: 20x real time, once, then the path answers 404.
fn finite() -> Answer {
    let mut a = Answer::flv(FIXTURE, 20.0, 1);
    if let Answer::Flv { offline_after, .. } = &mut a {
        *offline_after = true;
    }
    a
}

/// Platform settings and quick timings, the only things `record` takes from a config.
fn settings(dir: &Path, api: Option<&PlatformServer>) -> PathBuf {
    let mut text = String::from(
        "poll_interval = \"1s\"\noffline_grace = \"2s\"\nstall_timeout = \"3s\"\nmin_free_space = \"0B\"\n",
    );
    if let Some(api) = api {
        text.push_str(&format!(
            "[platforms.bilibili]\napi_base = \"{}\"\n",
            api.base()
        ));
    }
    let path = dir.join("settings.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// `liverec record`, its per-user folder for locks in the test's own folder `dir`.
fn record_in(dir: &Path) -> Command {
    let mut c = Command::new(bin());
    c.arg("record").env("XDG_RUNTIME_DIR", dir);
    c
}

/// `liverec record` with `args`, stdout piped (the finished files), stderr into `log` (in the
/// test's folder).
fn start(args: &[&str], log: &Path) -> Child {
    record_in(log.parent().unwrap())
        .args(args)
        .env("RUST_LOG", "info,liverec=debug")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .expect("start liverec record")
}

async fn exit_of(child: &mut Child, timeout: Duration) -> Option<ExitStatus> {
    let until = Instant::now() + timeout;
    while Instant::now() < until {
        if let Some(s) = child.try_wait().unwrap() {
            return Some(s);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    None
}

fn stdout_of(child: &mut Child) -> Vec<PathBuf> {
    let mut text = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut text)
        .unwrap();
    text.lines().map(PathBuf::from).collect()
}

fn text(log: &Path) -> String {
    std::fs::read_to_string(log).unwrap_or_default()
}

/// Every file under `dir`, as paths relative to it.
fn tree(dir: &Path) -> Vec<String> {
    files(dir, "")
        .iter()
        .map(|p| p.strip_prefix(dir).unwrap().display().to_string())
        .collect()
}

/// A finished FLV as README promises it: decodes cleanly, starts with a keyframe at ~0.
fn check_file(path: &Path) {
    assert!(path.extension().is_some_and(|e| e == "flv"), "{path:?}");
    let errors = media::decode_errors(path);
    assert!(errors.trim().is_empty(), "{path:?}: {errors}");
    let first = media::first_packets(path, "v", 1);
    assert!(
        matches!(first.as_slice(), [(t, true)] if *t < 0.1),
        "{path:?}: first video packet {first:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bilibili_live_is_recorded_until_it_ends_and_an_offline_room_exits_1() {
    let streams = StreamServer::start().await;
    streams.set(BILI_PATH, finite());
    let api = PlatformServer::start().await;
    api.set_bili(
        LONG_ID,
        BiliRoom {
            short_id: 77,
            live_status: 1,
            title: "晚间测试直播".into(),
            uname: "测试主播甲".into(),
            live_start_time: 1763712000,
            stream_host: format!("http://{}", streams.addr),
            stream_path: BILI_PATH.into(),
        },
    );
    let dir = tempfile::tempdir().unwrap();
    let cfg = settings(dir.path(), Some(&api));
    let out = dir.path().join("out");
    let log = dir.path().join("bili.log");
    let mut child = start(
        &[
            "https://live.bilibili.com/77",
            "-o",
            out.to_str().unwrap(),
            "-c",
            cfg.to_str().unwrap(),
        ],
        &log,
    );
    // The whole live is served, then the platform says offline: the live ends.
    let whole = flv::fixture(FIXTURE).len();
    assert!(
        wait_until(Duration::from_secs(30), || {
            streams.bodies(BILI_PATH).iter().any(|b| b.len() >= whole)
        })
        .await,
        "{}",
        text(&log)
    );
    api.edit_bili(LONG_ID, |r| r.live_status = 0);
    let status = exit_of(&mut child, Duration::from_secs(60)).await;
    assert_eq!(status.and_then(|s| s.code()), Some(0), "{}", text(&log));
    let printed = stdout_of(&mut child);
    assert!(!printed.is_empty(), "no file printed:\n{}", text(&log));
    // The daemon's names (the default template), nothing else under DIR but the chat file
    // beside each video (Bilibili records chat unless --no-danmaku).
    let all = tree(&out);
    let (chat, names): (Vec<_>, Vec<_>) = all.iter().partition(|n| n.ends_with(".xml"));
    assert_eq!(names.len(), printed.len(), "{all:?}");
    let stems: Vec<_> = names.iter().map(|n| n.trim_end_matches(".flv")).collect();
    let chat_stems: Vec<_> = chat.iter().map(|n| n.trim_end_matches(".xml")).collect();
    assert_eq!(chat_stems, stems, "a chat file beside each video: {all:?}");
    for (p, name) in printed.iter().zip(&names) {
        assert!(p.is_absolute() && p.ends_with(name), "{p:?} vs {name}");
        assert!(
            name.starts_with("bilibili/测试主播甲/") && name.contains("测试主播甲_"),
            "{name}"
        );
        check_file(p);
    }
    let got = flv::recorded_frames(&printed);
    let want: Vec<_> = streams
        .bodies(BILI_PATH)
        .iter()
        .flat_map(|b| flv::frames_of(b))
        .collect();
    assert!(!got.is_empty() && got == want, "every served frame, once");

    // The same room offline: exit 1 at once, no file.
    api.edit_bili(LONG_ID, |r| r.live_status = 0);
    let empty = dir.path().join("empty");
    let log = dir.path().join("offline.log");
    let mut child = start(
        &[
            "https://live.bilibili.com/77",
            "-o",
            empty.to_str().unwrap(),
            "-c",
            cfg.to_str().unwrap(),
        ],
        &log,
    );
    let status = exit_of(&mut child, Duration::from_secs(30)).await;
    assert_eq!(status.and_then(|s| s.code()), Some(1), "{}", text(&log));
    assert!(
        text(&log).contains("bilibili:7734200 is not live"),
        "{}",
        text(&log)
    );
    assert!(tree(&empty).is_empty(), "{:?}", tree(&empty));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_direct_flv_url_is_recorded_and_bad_arguments_exit_2() {
    let streams = StreamServer::start().await;
    streams.set("live/cam.flv", finite());
    let dir = tempfile::tempdir().unwrap();
    let cfg = settings(dir.path(), None);
    let out = dir.path().join("out");
    let log = dir.path().join("direct.log");
    let url = streams.url("live/cam.flv");
    let mut child = start(
        &[
            &url,
            "-o",
            out.to_str().unwrap(),
            "-c",
            cfg.to_str().unwrap(),
            "--segment-duration",
            "8s",
        ],
        &log,
    );
    let status = exit_of(&mut child, Duration::from_secs(60)).await;
    assert_eq!(status.and_then(|s| s.code()), Some(0), "{}", text(&log));
    let printed = stdout_of(&mut child);
    // 20 s of media split at 8 s: several files, each valid on its own.
    assert!(printed.len() >= 2, "{printed:?}\n{}", text(&log));
    for p in &printed {
        check_file(p);
    }
    assert!(files(&out, ".part").is_empty());
    assert!(
        !text(&log).contains("● REC"),
        "no progress line without a terminal"
    );

    // Bad arguments: 2, and the option is named.
    for (args, says) in [
        (vec!["https://example.com/page"], "URL: no platform knows"),
        (
            vec![url.as_str(), "--segment-duration", "1hour"],
            "--segment-duration: \"1hour\" is not a duration",
        ),
        (
            vec![url.as_str(), "--segment-size", "1KiB"],
            "--segment-size: must be",
        ),
        (
            vec![url.as_str(), "--no-such-option"],
            "unexpected argument",
        ),
    ] {
        let o = record_in(dir.path())
            .args(&args)
            .current_dir(dir.path())
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(says), "{args:?}: {err}");
    }
    assert_eq!(
        tree(dir.path())
            .iter()
            .filter(|n| n.ends_with(".flv"))
            .count(),
        printed.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_finishes_the_open_file_and_exits_0() {
    let streams = StreamServer::start().await;
    streams.set("live/endless.flv", Answer::flv(FIXTURE, 1.0, 0));
    let dir = tempfile::tempdir().unwrap();
    let cfg = settings(dir.path(), None);
    let out = dir.path().join("out");
    let log = dir.path().join("ctrlc.log");
    let url = streams.url("live/endless.flv");
    let mut child = start(
        &[
            &url,
            "-o",
            out.to_str().unwrap(),
            "-c",
            cfg.to_str().unwrap(),
        ],
        &log,
    );
    // Recording: a .part with more than the headers in it.
    assert!(
        wait_until(Duration::from_secs(30), || {
            files(&out, ".part")
                .iter()
                .any(|p| std::fs::metadata(p).is_ok_and(|m| m.len() > 200_000))
        })
        .await,
        "{}",
        text(&log)
    );
    // The same room a second time, meanwhile: it is taken, so 1, and no file.
    let other = dir.path().join("other");
    let o = record_in(dir.path())
        .args([&url, "-o", other.to_str().unwrap(), "-c"])
        .arg(&cfg)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("is already recorded by pid"), "{err}");
    assert!(tree(&other).is_empty(), "{:?}", tree(&other));
    // SAFETY: a signal to our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let status = exit_of(&mut child, Duration::from_secs(20)).await;
    assert_eq!(status.and_then(|s| s.code()), Some(0), "{}", text(&log));
    let printed = stdout_of(&mut child);
    assert_eq!(printed.len(), 1, "{printed:?}");
    assert!(files(&out, ".part").is_empty(), "{:?}", tree(&out));
    check_file(&printed[0]);
}

/// A pseudo-terminal of 120 columns: (the side liverec gets, the side the test reads).
fn pty() -> (OwnedFd, OwnedFd) {
    let (mut leader, mut follower) = (0, 0);
    let size = libc::winsize {
        ws_row: 24,
        ws_col: 120,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: openpty writes two descriptors we then own; the name buffer is not asked for.
    let rc = unsafe {
        libc::openpty(
            &mut leader,
            &mut follower,
            std::ptr::null_mut(),
            std::ptr::null(),
            &size,
        )
    };
    assert_eq!(rc, 0, "openpty: {}", std::io::Error::last_os_error());
    // SAFETY: both are fresh descriptors owned by nobody else.
    unsafe { (OwnedFd::from_raw_fd(follower), OwnedFd::from_raw_fd(leader)) }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_a_terminal_one_progress_line_is_redrawn_in_place() {
    let streams = StreamServer::start().await;
    streams.set("live/tty.flv", Answer::flv(FIXTURE, 1.0, 0));
    let dir = tempfile::tempdir().unwrap();
    let cfg = settings(dir.path(), None);
    let out = dir.path().join("out");
    let url = streams.url("live/tty.flv");
    let (term, reader) = pty();
    let mut child = record_in(dir.path())
        .args([&url, "-o", out.to_str().unwrap(), "-c"])
        .arg(&cfg)
        .stdin(Stdio::null())
        .stdout(Stdio::from(term.try_clone().unwrap()))
        .stderr(Stdio::from(term))
        .spawn()
        .unwrap();
    let screen = Arc::new(Mutex::new(Vec::new()));
    let sink = screen.clone();
    let mut reader = std::fs::File::from(reader);
    // Read all the time: a full terminal buffer would block liverec's writes.
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = reader.read(&mut buf) {
            if n == 0 {
                break;
            }
            sink.lock().unwrap().extend_from_slice(&buf[..n]);
        }
    });
    let shown = || String::from_utf8_lossy(&screen.lock().unwrap()).into_owned();
    // Two redraws of a recording line with its file, size, rate and reconnects.
    let drawn = wait_until(Duration::from_secs(30), || {
        let s = shown();
        s.matches("\r● REC 00:00:").count() >= 2
            && s.contains(".flv.part")
            && s.contains(" kb/s  0 reconnects")
    })
    .await;
    assert!(drawn, "{:?}", shown());
    // Each draw starts at the line's start and clears its rest, never a new line of its own
    // (a log line clears it first and it is drawn again below).
    let s = shown();
    for draw in s.split('\r').filter(|p| p.starts_with("● REC")) {
        assert!(draw.ends_with("\x1b[K") && !draw.contains('\n'), "{draw:?}");
    }
    // SAFETY: a signal to our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let status = exit_of(&mut child, Duration::from_secs(20)).await;
    assert_eq!(status.and_then(|s| s.code()), Some(0), "{:?}", shown());
    assert!(files(&out, ".part").is_empty());
    assert_eq!(files(&out, ".flv").len(), 1);
}

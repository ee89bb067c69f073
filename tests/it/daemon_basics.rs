//! The daemon end to end: the real binary records from a local stream server.

use std::time::{Duration, Instant};

use crate::support::daemon::{
    Daemon, config, events, files, room, room_says, room_status, status_now, status_when,
    wait_events, wait_for, wait_until,
};
use crate::support::flv;
use crate::support::server::{Answer, StreamServer};

/// `n` rooms named `<prefix><i>`, each live at real time on its own path of `server`; their
/// names and `[[rooms]]` entries.
fn live_rooms(server: &StreamServer, prefix: &str, n: usize) -> (Vec<String>, String) {
    let names: Vec<String> = (0..n).map(|i| format!("{prefix}{i}")).collect();
    let mut rooms = String::new();
    for name in &names {
        let path = format!("live/{name}.flv");
        server.set(&path, Answer::flv("flv_640x360_20s.flv", 1.0, 0));
        rooms.push_str(&room(name, &server.url(&path)));
    }
    (names, rooms)
}

/// The files hold the served frames once each (give or take a frame torn at a break).
fn assert_each_frame_once(done: &[std::path::PathBuf], served: &[(u8, Vec<u8>)]) {
    let got = flv::recorded_frames(done);
    assert!(
        got.len() + 2 >= served.len() && got.len() <= served.len() + 2,
        "each frame once: {} recorded, {} served",
        got.len(),
        served.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_a_live_and_renames_the_file_when_it_ends() {
    let server = StreamServer::start().await;
    // 20x real time: quick, yet paced like a live stream (a status check that reads the first
    // bytes and hangs up must not be mistaken for the whole live).
    let mut answer = Answer::flv("flv_640x360_20s.flv", 20.0, 1);
    if let Answer::Flv { offline_after, .. } = &mut answer {
        *offline_after = true;
    }
    server.set("live/a.flv", answer);
    let dir = tempfile::tempdir().unwrap();
    let d = Daemon::start(
        dir.path(),
        "a",
        &config(dir.path(), &room("a", &server.url("live/a.flv")), ""),
    );
    // The session's end (its file is closed before live_end is raised).
    assert!(
        wait_events(dir.path(), "live_end", 1, Duration::from_secs(30)).await,
        "{}",
        d.log_text()
    );
    let rec = dir.path().join("rec");
    assert!(
        files(&rec, ".part").is_empty(),
        "a .part was left: {:?}",
        files(&rec, "")
    );
    let done = files(&rec, ".flv");
    assert_eq!(done.len(), 1, "{done:?}\n{}", d.log_text());
    assert!(done[0].starts_with(rec.join("a")));
    let served = server
        .bodies("live/a.flv")
        .into_iter()
        .max_by_key(Vec::len)
        .unwrap();
    assert_eq!(served.len(), flv::fixture("flv_640x360_20s.flv").len());
    let got = flv::recorded_frames(&done);
    let want = flv::frames_of(&served);
    assert_eq!(
        got.len(),
        want.len(),
        "every served frame must be recorded once"
    );
    assert!(got == want, "recorded frames differ from the served ones");
    let log = d.log_text();
    for line in [
        "live: session started",
        "segment complete",
        "offline: session ended",
        "event live_start",
        "event segment_complete",
        "event live_end",
    ] {
        assert!(log.contains(line), "missing {line:?} in log:\n{log}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_closes_and_renames_the_open_segment() {
    let server = StreamServer::start().await;
    server.set("live/b.flv", Answer::flv("flv_640x360_20s.flv", 1.0, 0));
    let dir = tempfile::tempdir().unwrap();
    let mut d = Daemon::start(
        dir.path(),
        "b",
        &config(dir.path(), &room("b", &server.url("live/b.flv")), ""),
    );
    let rec = dir.path().join("rec");
    let grown = wait_until(Duration::from_secs(20), || {
        files(&rec, ".part").first().is_some_and(|p| {
            std::fs::metadata(p)
                .map(|m| m.len() > 300_000)
                .unwrap_or(false)
        })
    })
    .await;
    assert!(grown, "no growing .part: {}", d.log_text());
    d.signal(libc::SIGTERM);
    let status = d
        .wait_exit(Duration::from_secs(15))
        .await
        .expect("daemon must stop within shutdown_timeout");
    assert!(status.success(), "exit status {status}: {}", d.log_text());
    assert!(files(&rec, ".part").is_empty(), "{:?}", files(&rec, ""));
    let done = files(&rec, ".flv");
    assert_eq!(done.len(), 1);
    let got = flv::recorded_frames(&done);
    let served = server
        .bodies("live/b.flv")
        .into_iter()
        .max_by_key(Vec::len)
        .unwrap();
    let want = flv::frames_of(&served);
    assert!(got.len() > 100);
    assert!(
        want.starts_with(&got),
        "the recording must be exactly the start of what was served"
    );
    assert!(d.log_text().contains("SIGTERM: stopping"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_room_listed_twice_is_recorded_once() {
    let server = StreamServer::start().await;
    server.set("live/c.flv", Answer::flv("flv_640x360_20s.flv", 1.0, 0));
    let dir = tempfile::tempdir().unwrap();
    let url = server.url("live/c.flv");
    // The same URL in a second spelling (scheme and host case) is the same room.
    let other = url.replace("http://127.0.0.1", "HTTP://127.0.0.1");
    let rooms = format!("{}{}", room("c", &url), room("c2", &other));
    let mut d = Daemon::start(dir.path(), "c", &config(dir.path(), &rooms, ""));
    let rec = dir.path().join("rec");
    assert!(
        wait_until(Duration::from_secs(20), || !files(&rec, ".part").is_empty()).await,
        "{}",
        d.log_text()
    );
    // One room runs: the duplicate entry was dropped when the config was read (and said so).
    let running = status_now(dir.path()).await["rooms"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(running, 1, "{}", d.log_text());
    assert!(
        d.log_text().contains("rooms[1]") && d.log_text().contains("same room as rooms[0]"),
        "{}",
        d.log_text()
    );
    assert!(
        !rec.join("c2").exists(),
        "the duplicate entry must not record"
    );
    assert_eq!(files(&rec, ".part").len(), 1);

    // kill -9 mid-recording leaves a .part; the next start repairs and renames it.
    d.kill9();
    let parts = files(&rec, ".part");
    assert_eq!(parts.len(), 1);
    let left = std::fs::metadata(&parts[0]).unwrap().len();
    assert!(left > 0);
    server.set("live/c.flv", Answer::Offline);
    let d2 = Daemon::start_file(&d.config, "c-restart");
    let recovered = || async {
        events(dir.path())
            .await
            .iter()
            .any(|e| e["type"] == "segment_complete" && e["segment"]["recovered"] == true)
    };
    assert!(
        wait_for(Duration::from_secs(20), recovered).await,
        "{}",
        d2.log_text()
    );
    assert!(files(&rec, ".part").is_empty(), "{:?}", files(&rec, ""));
    let done = files(&rec, ".flv");
    assert_eq!(done.len(), 1);
    flv::walk(&std::fs::read(&done[0]).unwrap()).expect("the recovered file is whole FLV");
    let errors = crate::support::media::decode_errors(&done[0]);
    assert!(
        errors.trim().is_empty(),
        "the recovered file decodes cleanly: {errors}"
    );
    assert!(d2.log_text().contains("event segment_complete"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_daemons_sharing_a_lock_dir_never_record_a_room_twice() {
    let server = StreamServer::start().await;
    let (names, rooms) = live_rooms(&server, "r", 5);
    let dir = tempfile::tempdir().unwrap();
    let locks = dir.path().join("locks");
    let poll = Duration::from_secs(2);
    let mk = |sub: &str| {
        let base = dir.path().join(sub);
        std::fs::create_dir_all(&base).unwrap();
        let extra = format!("lock_dir = \"{}\"\npoll_interval = \"2s\"", locks.display());
        Daemon::start(
            &base,
            sub,
            &config(&base, &rooms, &extra).replace("poll_interval = \"1s\"\n", ""),
        )
    };
    let mut a = mk("a");
    let mut b = mk("b");
    let rec_a = dir.path().join("a/rec");
    let rec_b = dir.path().join("b/rec");
    let recording = |rec: &std::path::Path, n: &str| !files(&rec.join(n), ".part").is_empty();

    // Every room gets recorded, and at no sampled moment by both daemons.
    let started = Instant::now();
    let mut all_seen = false;
    while started.elapsed() < Duration::from_secs(12) {
        for n in &names {
            assert!(
                !(recording(&rec_a, n) && recording(&rec_b, n)),
                "room {n} is recorded by both daemons"
            );
        }
        all_seen = names
            .iter()
            .all(|n| recording(&rec_a, n) || recording(&rec_b, n));
        if all_seen && started.elapsed() > Duration::from_secs(5) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        all_seen,
        "not every room is recorded:\nA:\n{}\nB:\n{}",
        a.log_text(),
        b.log_text()
    );

    // Kill -9 whichever daemon holds more rooms; the other must take them over.
    let count = |rec: &std::path::Path| names.iter().filter(|n| recording(rec, n)).count();
    let (victim, survivor, rec_v, rec_s) = if count(&rec_a) >= count(&rec_b) {
        (&mut a, &b, &rec_a, &rec_b)
    } else {
        (&mut b, &a, &rec_b, &rec_a)
    };
    let taken: Vec<&String> = names.iter().filter(|n| recording(rec_v, n)).collect();
    assert!(!taken.is_empty());
    // The waiting daemon says, for each room it cannot take, who holds it.
    let (told, last) = status_when(rec_s.parent().unwrap(), Duration::from_secs(10), |s| {
        taken
            .iter()
            .all(|n| room_says(room_status(s, n), "recorded by pid"))
    })
    .await;
    assert!(
        told,
        "the waiting daemon must report who holds the room: {last:#}"
    );
    victim.kill9();
    let killed = Instant::now();
    let took_over = wait_until(poll * 2 + Duration::from_millis(1500), || {
        taken.iter().all(|n| recording(rec_s, n))
    })
    .await;
    assert!(
        took_over,
        "the survivor did not take the rooms within two poll intervals ({:?}):\n{}",
        killed.elapsed(),
        survivor.log_text()
    );
    for n in &names {
        assert!(
            recording(rec_s, n),
            "room {n} not recorded after the takeover"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_that_answers_html_or_404_records_nothing() {
    let server = StreamServer::start().await;
    server.set("live/html.flv", Answer::Html);
    server.set("live/gone.flv", Answer::Offline);
    let dir = tempfile::tempdir().unwrap();
    let rooms = format!(
        "{}{}",
        room("html", &server.url("live/html.flv")),
        room("gone", &server.url("live/gone.flv"))
    );
    let d = Daemon::start(dir.path(), "h", &config(dir.path(), &rooms, ""));
    let (refused, last) = status_when(dir.path(), Duration::from_secs(15), |s| {
        room_says(room_status(s, "html"), "is not FLV")
    })
    .await;
    assert!(refused, "{last:#}\n{}", d.log_text());
    // Polled twice more since (the warning must not repeat), and the offline room too.
    let requests = |path: &str| {
        server
            .stats(path)
            .requests
            .load(std::sync::atomic::Ordering::Relaxed)
    };
    let html_before = requests("live/html.flv");
    assert!(
        wait_until(Duration::from_secs(10), || {
            requests("live/html.flv") >= html_before + 2 && requests("live/gone.flv") >= 2
        })
        .await,
        "{}",
        d.log_text()
    );
    assert!(
        files(&dir.path().join("rec"), "").is_empty(),
        "nothing may be written"
    );
    let log = d.log_text();
    assert!(
        log.contains("text/html"),
        "the log must say what came back:\n{log}"
    );
    // The HTML error is logged once, not once per poll.
    let warned = log
        .lines()
        .filter(|l| l.contains("WARN") && l.contains("is not FLV"))
        .count();
    assert_eq!(warned, 1, "{log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_reset_mid_body_keeps_what_arrived_and_reconnects() {
    let server = StreamServer::start().await;
    let mut answer = Answer::flv("flv_640x360_20s.flv", 0.0, 1);
    if let Answer::Flv { cut_after, .. } = &mut answer {
        *cut_after = Some(1_000_000);
    }
    server.set("live/r.flv", answer);
    let dir = tempfile::tempdir().unwrap();
    let d = Daemon::start(
        dir.path(),
        "r",
        &config(dir.path(), &room("r", &server.url("live/r.flv")), ""),
    );
    let rec = dir.path().join("rec");
    // The cut connection becomes a finished file ending on its last whole tag; the daemon
    // reconnects, and the server (like a CDN) starts over with data already recorded, which
    // the writer drops as replayed GOPs.
    // Two connections served up to the cut, and the file of the first one finished.
    let cut = || {
        server
            .bodies("live/r.flv")
            .iter()
            .filter(|b| b.len() >= 1_000_000)
            .count()
    };
    assert!(
        wait_until(Duration::from_secs(20), || cut() >= 2
            && !files(&rec, ".flv").is_empty())
        .await,
        "{}",
        d.log_text()
    );
    let done = files(&rec, ".flv");
    let first = flv::walk(&std::fs::read(&done[0]).unwrap()).unwrap();
    assert!(first.len() > 100);
    let served = flv::frames_of(&flv::fixture("flv_640x360_20s.flv")[..1_000_000]);
    assert_each_frame_once(&done, &served);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_stream_reconnects_within_the_session_and_records_each_frame_once() {
    let server = StreamServer::start().await;
    let mut answer = Answer::flv("flv_640x360_20s.flv", 0.0, 1);
    if let Answer::Flv { stall_after, .. } = &mut answer {
        // The connection stays open but goes silent (stall_timeout is 3 s).
        *stall_after = Some(1_000_000);
    }
    server.set("live/s.flv", answer);
    let dir = tempfile::tempdir().unwrap();
    let d = Daemon::start(
        dir.path(),
        "s",
        &config(dir.path(), &room("s", &server.url("live/s.flv")), ""),
    );
    let rec = dir.path().join("rec");
    // A third connection served up to the stall: the daemon saw two stalls and reconnected.
    let stalled = || {
        server
            .bodies("live/s.flv")
            .iter()
            .filter(|b| b.len() >= 1_000_000)
            .count()
    };
    assert!(
        wait_until(Duration::from_secs(25), || stalled() >= 3
            && !files(&rec, ".flv").is_empty())
        .await,
        "{}",
        d.log_text()
    );
    // One session throughout: the stall is a reconnect, not the end of the live.
    let kinds: Vec<serde_json::Value> = events(dir.path())
        .await
        .into_iter()
        .map(|e| e["type"].clone())
        .collect();
    let log = d.log_text();
    assert_eq!(
        kinds.iter().filter(|k| *k == "live_start").count(),
        1,
        "{kinds:?}\n{log}"
    );
    assert!(!kinds.iter().any(|k| k == "live_end"), "{kinds:?}\n{log}");
    let done = files(&rec, ".flv");
    for f in &done {
        assert_eq!(
            crate::support::media::decode_errors(f),
            "",
            "{}",
            f.display()
        );
    }
    let served = flv::frames_of(&flv::fixture("flv_640x360_20s.flv")[..1_000_000]);
    assert_each_frame_once(&done, &served);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_recordings_caps_each_daemon_and_two_daemons_split_the_rooms() {
    let server = StreamServer::start().await;
    let (names, rooms) = live_rooms(&server, "m", 5);
    let dir = tempfile::tempdir().unwrap();
    let locks = dir.path().join("locks");
    let mk = |sub: &str| {
        let base = dir.path().join(sub);
        std::fs::create_dir_all(&base).unwrap();
        let extra = format!("lock_dir = \"{}\"\nmax_recordings = 3", locks.display());
        Daemon::start(&base, sub, &config(&base, &rooms, &extra))
    };
    let recs = [dir.path().join("a/rec"), dir.path().join("b/rec")];
    let recording = |rec: &std::path::Path, n: &str| !files(&rec.join(n), ".part").is_empty();
    let count = |rec: &std::path::Path| names.iter().filter(|n| recording(rec, n)).count();
    // Alone, the first daemon records three of the five live rooms and no more.
    let a = mk("a");
    let capped = |s: &serde_json::Value| {
        names
            .iter()
            .filter(|n| room_says(room_status(s, n), "max_recordings reached"))
            .count()
    };
    let (full, last) = status_when(&dir.path().join("a"), Duration::from_secs(15), |s| {
        capped(s) == 2
    })
    .await;
    assert!(full, "{last:#}\n{}", a.log_text());
    assert!(wait_until(Duration::from_secs(10), || count(&recs[0]) == 3).await);
    // The two waiting rooms are polled twice more, and stay waiting.
    let waiting: Vec<&String> = names.iter().filter(|n| !recording(&recs[0], n)).collect();
    let polls = |n: &str| {
        server
            .stats(&format!("live/{n}.flv"))
            .requests
            .load(std::sync::atomic::Ordering::Relaxed)
    };
    let before: Vec<u64> = waiting.iter().map(|n| polls(n)).collect();
    assert!(
        wait_until(Duration::from_secs(10), || waiting
            .iter()
            .zip(&before)
            .all(|(n, b)| polls(n) >= b + 2))
        .await,
        "{}",
        a.log_text()
    );
    assert_eq!(count(&recs[0]), 3, "{}", a.log_text());
    // The second one takes the other two.
    let b = mk("b");
    let started = Instant::now();
    let mut all = false;
    while started.elapsed() < Duration::from_secs(15) {
        for rec in &recs {
            assert!(count(rec) <= 3, "a daemon records more than max_recordings");
        }
        for n in &names {
            assert!(!recs.iter().all(|r| recording(r, n)), "{n} recorded twice");
        }
        all = names.iter().all(|n| recs.iter().any(|r| recording(r, n)));
        if all && started.elapsed() > Duration::from_secs(5) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(all, "A:\n{}\nB:\n{}", a.log_text(), b.log_text());
    assert_eq!(count(&recs[1]), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flowing_direct_stream_is_not_polled_with_a_second_connection() {
    let server = StreamServer::start().await;
    server.set("live/p.flv", Answer::flv("flv_640x360_20s.flv", 1.0, 0));
    let dir = tempfile::tempdir().unwrap();
    // An offline room beside it is polled every interval: its requests count the intervals.
    let rooms = format!(
        "{}{}",
        room("p", &server.url("live/p.flv")),
        room("idle", &server.url("live/idle.flv"))
    );
    let d = Daemon::start(dir.path(), "p", &config(dir.path(), &rooms, ""));
    let rec = dir.path().join("rec");
    assert!(
        wait_until(Duration::from_secs(15), || !files(&rec, ".part").is_empty()).await,
        "{}",
        d.log_text()
    );
    let requests = |path: &str| {
        server
            .stats(path)
            .requests
            .load(std::sync::atomic::Ordering::Relaxed)
    };
    let (before, idle) = (requests("live/p.flv"), requests("live/idle.flv"));
    // Three poll intervals while recording: a media server allowing one reader per stream
    // would otherwise see three more connections.
    assert!(
        wait_until(Duration::from_secs(10), || requests("live/idle.flv")
            >= idle + 3)
        .await,
        "{}",
        d.log_text()
    );
    assert_eq!(requests("live/p.flv"), before, "{}", d.log_text());
    assert!(!files(&rec, ".part").is_empty(), "still recording");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn low_disk_space_opens_no_file_and_says_why() {
    let server = StreamServer::start().await;
    server.set("live/d.flv", Answer::flv("flv_640x360_20s.flv", 1.0, 0));
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), &room("d", &server.url("live/d.flv")), "")
        .replace("min_free_space = \"0B\"", "min_free_space = \"900TB\"");
    let d = Daemon::start(dir.path(), "d", &cfg);
    // The room was live, tried to open a file and was refused, saying why; disk_low was raised.
    let (refused, last) = status_when(dir.path(), Duration::from_secs(15), |s| {
        room_says(room_status(s, "d"), "not writing until space returns")
    })
    .await;
    assert!(refused, "{last:#}\n{}", d.log_text());
    assert!(
        wait_events(dir.path(), "disk_low", 1, Duration::from_secs(5)).await,
        "{}",
        d.log_text()
    );
    assert!(files(&dir.path().join("rec"), "").is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reloaded_free_space_floor_reaches_the_open_segment() {
    let server = StreamServer::start().await;
    server.set("live/f.flv", Answer::flv("flv_640x360_20s.flv", 1.0, 0));
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), &room("f", &server.url("live/f.flv")), "");
    let d = Daemon::start(dir.path(), "f", &cfg);
    let rec = dir.path().join("rec/f");
    assert!(
        wait_until(Duration::from_secs(15), || !files(&rec, ".part").is_empty()).await,
        "{}",
        d.log_text()
    );
    // The disk "fills up" while a segment is open: it is closed cleanly, nothing new opens.
    assert!(
        d.wait_ready(Duration::from_secs(10)).await,
        "{}",
        d.log_text()
    );
    let path = dir.path().join("f.toml");
    std::fs::write(
        &path,
        cfg.replace("min_free_space = \"0B\"", "min_free_space = \"900TB\""),
    )
    .unwrap();
    // The effects, not the log line (the writer logs its error before it renames the file).
    assert!(
        wait_until(Duration::from_secs(20), || {
            files(&rec, ".part").is_empty() && !files(&rec, ".flv").is_empty()
        })
        .await,
        "{}",
        d.log_text()
    );
    let (refused, last) = status_when(dir.path(), Duration::from_secs(20), |s| {
        room_says(room_status(s, "f"), "not writing until space returns")
    })
    .await;
    assert!(refused, "{last:#}\n{}", d.log_text());
    // The room has tried again and was refused: still the one file, nothing open.
    let done = files(&rec, ".flv");
    assert_eq!(done.len(), 1, "{}", d.log_text());
    assert!(files(&rec, ".part").is_empty());
    assert_eq!(crate::support::media::decode_errors(&done[0]), "");
    // Space returns: recording resumes in a new file.
    std::fs::write(&path, &cfg).unwrap();
    assert!(
        wait_until(Duration::from_secs(20), || !files(&rec, ".part").is_empty()).await,
        "{}",
        d.log_text()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_renamed_room_names_its_next_segments_by_the_new_name() {
    let server = StreamServer::start().await;
    server.set("live/n.flv", Answer::flv("flv_640x360_20s.flv", 2.0, 0));
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), &room("old", &server.url("live/n.flv")), "");
    let d = Daemon::start(dir.path(), "n", &cfg);
    let rec = dir.path().join("rec");
    assert!(
        wait_until(Duration::from_secs(15), || !files(
            &rec.join("old"),
            ".part"
        )
        .is_empty())
        .await,
        "{}",
        d.log_text()
    );
    assert!(
        d.wait_ready(Duration::from_secs(10)).await,
        "{}",
        d.log_text()
    );
    std::fs::write(
        dir.path().join("n.toml"),
        cfg.replace(
            "name = \"old\"",
            "name = \"new\"\nsegment_duration = \"2s\"",
        ),
    )
    .unwrap();
    assert!(
        wait_until(Duration::from_secs(20), || !files(&rec.join("new"), ".flv")
            .is_empty())
        .await,
        "{}",
        d.log_text()
    );
    // The open file kept its name; later ones take the new one.
    assert_eq!(files(&rec.join("old"), ".flv").len(), 1, "{}", d.log_text());
}

#[test]
fn check_reports_every_mistake_and_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    std::fs::write(
        &path,
        r#"poll_interval = 30
segment_size = "4 gigs"
[[rooms]]
url = "https://live.bilibili.com/21452505"
[[rooms]]
url = "https://example.com/not-a-stream"
[[rooms]]
url = "https://live.douyin.com/742345678901"
segment_duration = "1hour"
colour = "blue"
"#,
    )
    .unwrap();
    let out = std::process::Command::new(crate::support::daemon::bin())
        .args(["check", "-c"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    for want in [
        "bad.toml:1: poll_interval: expected a duration",
        r#"bad.toml:2: segment_size: "4 gigs" is not a size (try "4GiB")"#,
        "bad.toml:6: rooms[1].url: no platform knows",
        r#"bad.toml:9: rooms[2].segment_duration: "1hour" is not a duration (try "1h")"#,
        "bad.toml:10: rooms[2].colour: unknown key",
        "has 5 problem(s)",
    ] {
        assert!(err.contains(want), "missing {want:?} in:\n{err}");
    }
    // `run` refuses the same config the same way, before touching anything.
    let out = std::process::Command::new(crate::support::daemon::bin())
        .args(["run", "-c"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(!dir.path().join("recordings").exists());
}

#[test]
fn check_prints_the_effective_settings_of_a_valid_config() {
    let out = std::process::Command::new(crate::support::daemon::bin())
        .args(["check", "-c"])
        .arg(format!(
            "{}/recorder.toml.example",
            env!("CARGO_MANIFEST_DIR")
        ))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for want in [
        "valid",
        "bilibili:",
        "douyin:",
        "direct:",
        "segment_duration",
        "poll_interval",
    ] {
        assert!(text.contains(want), "missing {want:?} in:\n{text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unusable_lock_dir_or_output_dir_is_a_clear_start_up_error() {
    for key in ["lock_dir", "output_dir"] {
        let dir = tempfile::tempdir().unwrap();
        let not_a_dir = dir.path().join("taken");
        std::fs::write(&not_a_dir, b"a file").unwrap();
        let cfg = config(dir.path(), "", "")
            .lines()
            .filter(|l| !l.starts_with(&format!("{key} =")))
            .collect::<Vec<_>>()
            .join("\n");
        let cfg = format!("{key} = \"{}\"\n{cfg}", not_a_dir.display());
        let mut d = Daemon::start(dir.path(), "l", &cfg);
        let status = d
            .wait_exit(Duration::from_secs(10))
            .await
            .expect("must exit");
        assert_eq!(status.code(), Some(1));
        let want = format!(
            "{key} {}: exists and is not a directory",
            not_a_dir.display()
        );
        assert!(d.log_text().contains(&want), "{}", d.log_text());
    }
}

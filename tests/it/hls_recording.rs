//! HLS end to end: the real binary records live TS and fMP4 playlists from a local origin that
//! slides its window like a live packager (see `support/hls_server.rs`).

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::support::daemon::{
    Daemon, config, control_get, files, room_says, room_status, status_when, wait_events,
    wait_until,
};
use crate::support::hls_server::{Channel, Entry, Fault, HlsServer, Kind, fixture_init};
use crate::support::media;

fn room(name: &str, url: &str) -> String {
    format!("[[rooms]]\nname = \"{name}\"\nurl = \"{url}\"\n")
}

fn read(p: &Path) -> Vec<u8> {
    std::fs::read(p).unwrap()
}

/// Waits for the session to end (its `live_end`, raised once its files are closed) and returns
/// the finished files with `ext` under `rec` (`<dir>/rec`).
async fn ended(d: &Daemon, rec: &Path, ext: &str) -> Vec<PathBuf> {
    let dir = rec.parent().unwrap();
    assert!(
        wait_events(dir, "live_end", 1, Duration::from_secs(40)).await,
        "{}",
        d.log_text()
    );
    assert!(
        files(rec, ".part").is_empty(),
        "a .part was left: {:?}",
        files(rec, "")
    );
    files(rec, ext)
}

fn assert_clean(f: &Path) {
    let errors = media::decode_errors(f);
    assert!(errors.is_empty(), "{}: {errors}", f.display());
}

/// The file starts near 0: ffprobe's start time (its earliest PTS) and the first packet of each
/// stream are at most `max` seconds in. TS files keep the distance the packager left between its
/// PCR (now 0) and its first PTS: 0.7 s for ffmpeg. fMP4 files start at their earliest decode
/// time, so the bound is on decode times there: a first video PTS also carries the B-frame
/// composition delay (0.067 s in the fixture).
fn assert_starts_near_0(f: &Path, max: f64) {
    let start = media::start_time(f);
    assert!(
        (0.0..=max).contains(&start),
        "{}: start_time {start}",
        f.display()
    );
    let fmp4 = f.extension().is_some_and(|e| e == "mp4");
    for stream in ["v", "a"] {
        let (pts, dts) = media::first_times(f, stream).expect("a packet");
        let t = if fmp4 { dts } else { pts };
        assert!(
            (-0.01..=max).contains(&t),
            "{}: first {stream} packet at pts {pts} dts {dts}",
            f.display()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ts_live_is_recorded_whole_and_ends_cleanly_at_endlist() {
    let server = HlsServer::start().await;
    server.set("ts", Channel::fixture(Kind::Ts));
    let dir = tempfile::tempdir().unwrap();
    let d = Daemon::start(
        dir.path(),
        "ts",
        &config(dir.path(), &room("ts", &server.url("ts")), ""),
    );
    let rec = dir.path().join("rec");
    let done = ended(&d, &rec, ".ts").await;
    assert_eq!(done.len(), 1, "{done:?}\n{}", d.log_text());
    // Every served segment exactly once, in order, byte for byte but for the timestamps,
    // which start at 0.
    assert_eq!(server.served("ts"), [0, 1, 2, 3, 4, 5]);
    media::assert_ts_rebased(&read(&done[0]), &server.media("ts", 0..6));
    media::assert_same_packets(&done[0], &server.media("ts", 0..6), "ts");
    assert_starts_near_0(&done[0], 1.5);
    for i in 0..6 {
        assert_eq!(
            server.requests("ts", &format!("seg/{i}.ts")),
            1,
            "segment {i}"
        );
    }
    assert_clean(&done[0]);
    let dur = media::duration(&done[0]);
    assert!((dur - 12.0).abs() < 0.2, "duration {dur}");
    let log = d.log_text();
    for line in [
        "HLS media playlist loaded",
        "HLS playlist ended (EXT-X-ENDLIST)",
        "segment complete",
        "event segment_complete",
        "event live_end",
    ] {
        assert!(log.contains(line), "missing {line:?} in log:\n{log}");
    }
    assert!(!log.contains("gap"), "{log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fmp4_is_split_by_duration_with_the_init_section_in_every_file() {
    let server = HlsServer::start().await;
    server.set("f", Channel::fixture(Kind::Fmp4));
    let dir = tempfile::tempdir().unwrap();
    let d = Daemon::start(
        dir.path(),
        "f",
        &config(
            dir.path(),
            &room("f", &server.url("f")),
            "segment_duration = \"4s\"",
        ),
    );
    let rec = dir.path().join("rec");
    let done = ended(&d, &rec, ".mp4").await;
    assert_eq!(done.len(), 3, "{done:?}\n{}", d.log_text());
    let init = fixture_init();
    // Files at segment boundaries: two 2 s fragments each, each file init + its fragments.
    for (n, f) in done.iter().enumerate() {
        let mut want = init.to_vec();
        want.extend(server.media("f", [2 * n, 2 * n + 1]));
        // init + fragments 2n, 2n+1, with the decode times rebased: every file starts at 0.
        media::assert_fmp4_rebased(&read(f), &want);
        media::assert_same_packets(f, &want, "mp4");
        assert_clean(f);
        assert_starts_near_0(f, 0.1);
        let dur = media::duration(f) - media::start_time(f);
        assert!((dur - 4.0).abs() < 0.2, "{}: duration {dur}", f.display());
    }
    assert_eq!(server.requests("f", "init.mp4"), 1, "init fetched once");
    let log = d.log_text();
    assert_eq!(log.matches("duration_s=\"4.0\"").count(), 3, "{log}");
}

/// The recorder joins a broadcast 7.4 s in (the first playlist it reads starts at fixture
/// segment 3, media sequence 3) and splits after 4 s: every file, the one after the split
/// included, starts near 0, decodes without an error and holds exactly the served packets, with
/// only their timestamps moved.
async fn joined_mid_stream(kind: Kind) {
    let (ext, max) = match kind {
        Kind::Ts => ("ts", 1.5),
        Kind::Fmp4 => ("mp4", 0.1),
    };
    let server = HlsServer::start().await;
    let mut ch = Channel::fixture(kind);
    ch.schedule = (3..6).map(Entry::plain).collect();
    ch.first_sequence = 3;
    server.set("m", ch);
    let dir = tempfile::tempdir().unwrap();
    let d = Daemon::start(
        dir.path(),
        "m",
        &config(
            dir.path(),
            &room("m", &server.url("m")),
            "segment_duration = \"4s\"",
        ),
    );
    let rec = dir.path().join("rec");
    let done = ended(&d, &rec, &format!(".{ext}")).await;
    assert_eq!(done.len(), 2, "{done:?}\n{}", d.log_text());
    assert_eq!(server.served("m"), [0, 1, 2]);
    let head = match kind {
        Kind::Ts => Vec::new(),
        Kind::Fmp4 => fixture_init().to_vec(),
    };
    for (f, entries) in done.iter().zip([vec![0, 1], vec![2]]) {
        let mut served = head.clone();
        served.extend(server.media("m", entries.clone()));
        // What was served does not start at 0: the broadcast was 6-7 s old.
        let tmp = dir.path().join(format!("served.{ext}"));
        std::fs::write(&tmp, &served).unwrap();
        assert!(media::start_time(&tmp) > 5.9, "{entries:?}");
        match kind {
            Kind::Ts => media::assert_ts_rebased(&read(f), &served),
            Kind::Fmp4 => media::assert_fmp4_rebased(&read(f), &served),
        }
        let shift = media::assert_same_packets(f, &served, ext);
        assert!(shift.iter().all(|&s| s > 0), "{shift:?}");
        assert_clean(f);
        assert_starts_near_0(f, max);
    }
    let log = d.log_text();
    assert!(!log.contains("cannot rebase"), "{log}");
    assert!(!log.contains("gap:"), "{log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ts_joined_mid_stream_every_file_starts_near_0() {
    joined_mid_stream(Kind::Ts).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fmp4_joined_mid_stream_every_file_starts_near_0() {
    joined_mid_stream(Kind::Fmp4).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_segment_is_retried_and_a_lost_one_is_a_logged_gap() {
    let server = HlsServer::start().await;
    let mut ch = Channel::fixture(Kind::Ts);
    // Segment 1 answers 404 once (a retry recovers it); segment 3 is gone for good; segment 4
    // is an HTML error page with status 200.
    ch.faults.insert(1, (Fault::Status(404), 1));
    ch.faults.insert(3, (Fault::Status(404), usize::MAX));
    ch.faults.insert(4, (Fault::Html, usize::MAX));
    server.set("g", ch);
    let dir = tempfile::tempdir().unwrap();
    let d = Daemon::start(
        dir.path(),
        "g",
        &config(dir.path(), &room("g", &server.url("g")), ""),
    );
    let rec = dir.path().join("rec");
    let done = ended(&d, &rec, ".ts").await;
    assert_eq!(done.len(), 1, "{done:?}\n{}", d.log_text());
    // Exactly the segments that could be fetched (timestamps rebased).
    media::assert_ts_rebased(&read(&done[0]), &server.media("g", [0, 1, 2, 5]));
    assert!(server.requests("g", "seg/1.ts") == 2);
    assert!(server.requests("g", "seg/3.ts") >= 3, "retried");
    assert_clean(&done[0]);
    let log = d.log_text();
    assert!(
        log.contains("HLS media segment skipped: HTTP 404 (3 tries)"),
        "{log}"
    );
    assert!(
        log.contains("not a media segment: starts with \"<!DOCTYPE html>"),
        "{log}"
    );
    assert!(
        log.contains("gap: 2 media segment(s) missing from the recording (media sequence 3..=4)"),
        "{log}"
    );
    // The count reaches the status API and the metrics.
    let (counted, status) = status_when(dir.path(), Duration::from_secs(5), |s| {
        s["rooms"][0]["gaps_total"] == 2
    })
    .await;
    assert!(counted, "{status}");
    let key = status["rooms"][0]["key"].as_str().unwrap().to_string();
    let metrics = control_get(dir.path(), "/metrics").await;
    assert!(
        metrics
            .lines()
            .any(|l| l == format!("liverec_hls_gaps_total{{room=\"{key}\"}} 2")),
        "{metrics}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_playlist_ends_the_attempt_and_the_reconnect_loses_nothing() {
    let server = HlsServer::start().await;
    let mut ch = Channel::fixture(Kind::Fmp4);
    // After 3 segments the playlist freezes for 5 s (stall_timeout is 3 s), then goes on.
    ch.stall = Some((3, Duration::from_secs(5)));
    server.set("s", ch);
    let dir = tempfile::tempdir().unwrap();
    let d = Daemon::start(
        dir.path(),
        "s",
        &config(dir.path(), &room("s", &server.url("s")), ""),
    );
    let rec = dir.path().join("rec");
    let done = ended(&d, &rec, ".mp4").await;
    let log = d.log_text();
    assert!(log.contains("HLS playlist has not advanced"), "{log}");
    assert!(log.contains("stream ended: stalled"), "{log}");
    assert!(
        log.matches("HLS media playlist loaded").count() >= 2,
        "must reconnect: {log}"
    );
    // The reconnect re-reads the window; nothing is written twice and the file goes on.
    assert_eq!(done.len(), 1, "{done:?}\n{log}");
    let mut want = fixture_init().to_vec();
    want.extend(server.media("s", 0..6));
    // init + every fragment once (decode times rebased).
    media::assert_fmp4_rebased(&read(&done[0]), &want);
    assert_clean(&done[0]);
    assert!(!log.contains("gap:"), "{log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_discontinuity_and_a_sequence_reset_start_new_files() {
    let server = HlsServer::start().await;
    let mut ch = Channel::fixture(Kind::Ts);
    // The fixture three times: after a discontinuity, then after a packager restart (media
    // sequence back to 0).
    let mut schedule: Vec<Entry> = (0..6).map(Entry::plain).collect();
    schedule.extend((0..6).map(|i| Entry {
        discontinuity: i == 0,
        ..Entry::plain(i)
    }));
    schedule.extend((0..6).map(|i| Entry {
        reset: i == 0,
        ..Entry::plain(i)
    }));
    ch.schedule = schedule;
    ch.first_sequence = 100;
    // The restarted packager takes a moment before its first segment (so the last one before
    // the restart is still listed when a reload comes).
    ch.stall = Some((12, Duration::from_millis(1500)));
    ch.period = Duration::from_millis(300);
    server.set("dc", ch);
    let dir = tempfile::tempdir().unwrap();
    let d = Daemon::start(
        dir.path(),
        "dc",
        &config(dir.path(), &room("dc", &server.url("dc")), ""),
    );
    let rec = dir.path().join("rec");
    let done = ended(&d, &rec, ".ts").await;
    assert_eq!(done.len(), 3, "{done:?}\n{}", d.log_text());
    for (n, f) in done.iter().enumerate() {
        // Each file is one whole pass of the fixture, starting at 0.
        media::assert_ts_rebased(&read(f), &server.media("dc", 6 * n..6 * n + 6));
        assert_clean(f);
        assert_starts_near_0(f, 1.5);
    }
    let log = d.log_text();
    assert!(log.contains("HLS media sequence went back"), "{log}");
    assert!(!log.contains("gap:"), "{log}");
}

/// Segments that look like media but cannot be parsed are written as they came (never
/// dropped), with one WARN for the file; the segments around them share the file's offset.
async fn unreadable_segments_are_kept(kind: Kind) {
    let ext = match kind {
        Kind::Ts => "ts",
        Kind::Fmp4 => "mp4",
    };
    let server = HlsServer::start().await;
    let mut ch = Channel::fixture(kind);
    ch.schedule = (0..6)
        .map(|i| Entry {
            garbled: i == 2 || i == 3,
            ..Entry::plain(i)
        })
        .collect();
    server.set("u", ch);
    let dir = tempfile::tempdir().unwrap();
    let d = Daemon::start(
        dir.path(),
        "u",
        &config(dir.path(), &room("u", &server.url("u")), ""),
    );
    let rec = dir.path().join("rec");
    let done = ended(&d, &rec, &format!(".{ext}")).await;
    assert_eq!(done.len(), 1, "{done:?}\n{}", d.log_text());
    let head = match kind {
        Kind::Ts => Vec::new(),
        Kind::Fmp4 => fixture_init().to_vec(),
    };
    let file = read(&done[0]);
    let (before, after) = (server.media("u", [0, 1]), server.media("u", [4, 5]));
    let garbled = server.media("u", [2, 3]);
    assert_eq!(
        file.len(),
        head.len() + before.len() + garbled.len() + after.len()
    );
    // The garbled segments, byte for byte where they were.
    let at = head.len() + before.len();
    assert!(
        file[at..at + garbled.len()] == garbled[..],
        "changed or lost"
    );
    // Around them: one offset for the whole file.
    let mut kept = file[..at].to_vec();
    kept.extend_from_slice(&file[at + garbled.len()..]);
    let mut served = head.clone();
    served.extend(before);
    served.extend(after);
    match kind {
        Kind::Ts => media::assert_ts_rebased(&kept, &served),
        Kind::Fmp4 => media::assert_fmp4_rebased(&kept, &served),
    }
    let log = d.log_text();
    let warned: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("WARN") && l.contains("cannot rebase the timestamps"))
        .collect();
    assert_eq!(warned.len(), 1, "one WARN per file:\n{log}");
    assert!(warned[0].contains("sequence=2"), "{}", warned[0]);
    assert!(!log.contains("gap:"), "{log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreadable_ts_segments_are_written_unchanged_with_one_warning() {
    unreadable_segments_are_kept(Kind::Ts).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreadable_fmp4_segments_are_written_unchanged_with_one_warning() {
    unreadable_segments_are_kept(Kind::Fmp4).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unannounced_ts_pid_change_starts_a_new_file() {
    let server = HlsServer::start().await;
    let mut ch = Channel::fixture(Kind::Ts);
    // From segment 3 on, the audio comes on another PID, and no discontinuity says so.
    ch.schedule = (0..6)
        .map(|i| Entry {
            audio_pid: (i >= 3).then_some(0x102),
            ..Entry::plain(i)
        })
        .collect();
    server.set("p", ch);
    let dir = tempfile::tempdir().unwrap();
    let d = Daemon::start(
        dir.path(),
        "p",
        &config(dir.path(), &room("p", &server.url("p")), ""),
    );
    let rec = dir.path().join("rec");
    let done = ended(&d, &rec, ".ts").await;
    assert_eq!(done.len(), 2, "{done:?}\n{}", d.log_text());
    for (f, entries) in done.iter().zip([0..3, 3..6]) {
        let served = server.media("p", entries);
        media::assert_ts_rebased(&read(f), &served);
        media::assert_same_packets(f, &served, "ts");
        assert_clean(f);
        assert_starts_near_0(f, 1.5);
    }
    let log = d.log_text();
    assert!(
        log.contains("new file: the TS program map changed without EXT-X-DISCONTINUITY"),
        "{log}"
    );
    assert!(log.contains("PID 0x0102 type 0x0f"), "{log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aes_128_segments_from_a_master_playlist_are_decrypted() {
    let server = HlsServer::start().await;
    let mut ch = Channel::fixture(Kind::Ts);
    ch.key = Some(*b"0123456789abcdef");
    server.set("k", ch);
    let dir = tempfile::tempdir().unwrap();
    let d = Daemon::start(
        dir.path(),
        "k",
        &config(dir.path(), &room("k", &server.master_url("k")), ""),
    );
    let rec = dir.path().join("rec");
    let done = ended(&d, &rec, ".ts").await;
    assert_eq!(done.len(), 1, "{done:?}\n{}", d.log_text());
    // The decrypted segments, timestamps rebased.
    media::assert_ts_rebased(&read(&done[0]), &server.media("k", 0..6));
    assert_eq!(
        server.requests("k", "key.bin"),
        1,
        "the key is fetched once"
    );
    assert_clean(&done[0]);
    assert!(
        d.log_text()
            .contains("HLS master playlist: variant chosen bandwidth=1200000"),
        "{}",
        d.log_text()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_direct_master_playlist_records_the_variant_its_quality_picks() {
    let server = HlsServer::start().await;
    server.set("lo", Channel::fixture(Kind::Ts));
    server.set("hi", Channel::fixture(Kind::Ts));
    server.set_master(
        "m",
        "#EXTM3U\n\
         #EXT-X-STREAM-INF:BANDWIDTH=1200000,RESOLUTION=640x360\n../hi/live.m3u8\n\
         #EXT-X-STREAM-INF:BANDWIDTH=300000,RESOLUTION=320x180\n../lo/live.m3u8\n",
    );
    let dir = tempfile::tempdir().unwrap();
    let url = server.master_url("m");
    let d = Daemon::start(
        dir.path(),
        "q",
        &config(
            dir.path(),
            &format!("{}quality = [\"240p\", \"best\"]\n", room("q", &url)),
            "",
        ),
    );
    let rec = dir.path().join("rec");
    let done = ended(&d, &rec, ".ts").await;
    assert_eq!(done.len(), 1, "{done:?}\n{}", d.log_text());
    media::assert_ts_rebased(&read(&done[0]), &server.media("lo", 0..6));
    assert_eq!(server.served("lo"), [0, 1, 2, 3, 4, 5]);
    // Neither the status checks nor the recording touched the other variant.
    assert_eq!(server.requests("hi", "live.m3u8"), 0);
    assert!(
        d.log_text()
            .contains("HLS master playlist: variant chosen bandwidth=300000"),
        "{}",
        d.log_text()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_playlists_and_html_segments_write_nothing_and_rooms_stay_watched() {
    let server = HlsServer::start().await;
    let mut garbage = Channel::fixture(Kind::Ts);
    garbage.garbage = true;
    server.set("junk", garbage);
    let mut html = Channel::fixture(Kind::Ts);
    html.endlist = false;
    html.schedule = (0..6).cycle().take(200).map(Entry::plain).collect();
    html.faults = (0..200).map(|i| (i, (Fault::Html, usize::MAX))).collect();
    server.set("html", html);
    let dir = tempfile::tempdir().unwrap();
    let rooms = format!(
        "{}{}",
        room("junk", &server.url("junk")),
        room("html", &server.url("html"))
    );
    let d = Daemon::start(dir.path(), "j", &config(dir.path(), &rooms, ""));
    // Each room says why it records nothing.
    let (refused, last) = status_when(dir.path(), Duration::from_secs(20), |s| {
        room_says(room_status(s, "junk"), "not an HLS playlist")
            && room_says(room_status(s, "html"), "no usable HLS segment")
    })
    .await;
    assert!(refused, "{last:#}\n{}", d.log_text());
    let before = server.requests("junk", "live.m3u8");
    let rec = dir.path().join("rec");
    assert!(
        wait_until(Duration::from_secs(10), || {
            server.requests("junk", "live.m3u8") > before
        })
        .await,
        "the room with a garbage playlist must keep being polled"
    );
    assert!(
        files(&rec, "").is_empty(),
        "nothing may be written: {:?}",
        files(&rec, "")
    );
    let log = d.log_text();
    let warned = log
        .lines()
        .filter(|l| l.contains("WARN") && l.contains("not an HLS playlist"))
        .count();
    assert_eq!(warned, 1, "logged once, not once per poll:\n{log}");
    assert!(log.contains("text/plain"), "{log}");
    assert!(!log.contains("panicked"), "{log}");
}

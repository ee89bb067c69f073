//! The operating surface of a running daemon: control API (with and without token), status,
//! metrics, and hot reload (file changes, SIGHUP, API) applied as a diff by room key.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::support::daemon::{
    Daemon, config, control_address, files, room, status_now, status_when, wait_until,
};
use crate::support::server::{Answer, StreamServer};

async fn call(
    addr: &str,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<String>,
) -> (u16, String) {
    let client = reqwest::Client::new();
    let url = format!("http://{addr}{path}");
    let mut req = if method == "POST" {
        client.post(&url)
    } else {
        client.get(&url)
    };
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(b) = body {
        req = req.body(b);
    }
    let resp = req.send().await.expect("the API answers");
    let code = resp.status().as_u16();
    (code, resp.text().await.unwrap())
}

/// Every line of a Prometheus text exposition is a comment or `name{labels} value`.
fn check_prometheus(text: &str) {
    for line in text.lines().filter(|l| !l.is_empty()) {
        if let Some(rest) = line.strip_prefix("# ") {
            assert!(
                rest.starts_with("HELP ") || rest.starts_with("TYPE "),
                "{line}"
            );
            continue;
        }
        let (name_labels, value) = line
            .rsplit_once(' ')
            .unwrap_or_else(|| panic!("no value: {line}"));
        assert!(value.parse::<f64>().is_ok(), "bad value in {line}");
        let name = name_labels.split('{').next().unwrap();
        assert!(
            !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':'),
            "bad name in {line}"
        );
        if let Some(labels) = name_labels.strip_prefix(name) {
            if !labels.is_empty() {
                assert!(
                    labels.starts_with('{') && labels.ends_with('}'),
                    "bad labels in {line}"
                );
            }
        }
    }
}

fn parts(rec: &Path, name: &str) -> Vec<PathBuf> {
    files(&rec.join(name), ".part")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_endpoint_with_and_without_the_token() {
    let server = StreamServer::start().await;
    server.set("live/a.flv", Answer::flv("flv_640x360_20s.flv", 1.0, 0));
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), &room("a", &server.url("live/a.flv")), "").replace(
        "listen = \"127.0.0.1:0\"",
        "listen = \"127.0.0.1:0\"\ntoken = \"s3cret\"",
    );
    let d = Daemon::start(dir.path(), "api", &cfg);
    let addr = control_address(dir.path()).await;
    let rec = dir.path().join("rec");
    assert!(
        wait_until(Duration::from_secs(15), || !parts(&rec, "a").is_empty()).await,
        "{}",
        d.log_text()
    );
    let key = {
        let (_, body) = call(&addr, "GET", "/api/status", Some("s3cret"), None).await;
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        v["rooms"][0]["key"].as_str().unwrap().to_string()
    };

    // Without (or with a wrong) token: 401 everywhere but /healthz.
    for (method, path) in [
        ("GET", "/api/status".to_string()),
        ("GET", "/api/events".into()),
        ("GET", "/metrics".into()),
        ("POST", "/api/reload".into()),
        ("POST", format!("/api/rooms/{key}/check")),
        ("POST", format!("/api/rooms/{key}/split")),
        ("POST", format!("/api/rooms/{key}/restart")),
    ] {
        assert_eq!(
            call(&addr, method, &path, None, None).await.0,
            401,
            "{method} {path}"
        );
        assert_eq!(
            call(&addr, method, &path, Some("wrong"), None).await.0,
            401,
            "{method} {path}"
        );
    }
    assert_eq!(
        call(&addr, "GET", "/healthz", None, None).await,
        (200, "ok\n".into())
    );

    let t = Some("s3cret");
    let (code, body) = call(&addr, "GET", "/api/status", t, None).await;
    assert_eq!(code, 200);
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["rooms"][0]["state"], "recording");
    assert_eq!(v["rooms"][0]["name"], "a");
    assert!(
        v["rooms"][0]["file"]
            .as_str()
            .unwrap()
            .ends_with(".flv.part")
    );

    let (code, text) = call(&addr, "GET", "/metrics", t, None).await;
    assert_eq!(code, 200);
    check_prometheus(&text);
    for want in [
        "liverec_rooms{state=\"recording\"} 1",
        "liverec_bytes_written_total{room=",
        "liverec_poll_requests_total{platform=\"direct\",result=\"live\"}",
        "liverec_disk_free_bytes",
    ] {
        assert!(text.contains(want), "missing {want} in\n{text}");
    }

    // Actions.
    assert_eq!(
        call(&addr, "POST", &format!("/api/rooms/{key}/check"), t, None)
            .await
            .0,
        202
    );
    assert_eq!(
        call(
            &addr,
            "POST",
            &format!("/api/rooms/{key}/split"),
            t,
            Some("{\"reason\": \"test\"}".into())
        )
        .await
        .0,
        202
    );
    assert!(
        wait_until(Duration::from_secs(10), || !files(&rec.join("a"), ".flv")
            .is_empty())
        .await,
        "split must finish a file at the next keyframe"
    );
    assert!(d.log_text().contains("new file: a split was requested"));

    // The recent events: the room's live_start, then its first file opened and completed (the
    // split), in order, each in the event shape hooks get.
    let (code, body) = call(&addr, "GET", "/api/events", t, None).await;
    assert_eq!(code, 200, "{body}");
    let list: Vec<serde_json::Value> = serde_json::from_str(&body).unwrap();
    let mine: Vec<&serde_json::Value> = list
        .iter()
        .filter(|e| e["room"]["key"] == key.as_str())
        .collect();
    let kinds: Vec<&str> = mine.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(
        kinds[..3],
        ["live_start", "segment_start", "segment_complete"],
        "{body}"
    );
    let done = mine[2];
    assert_eq!(done["room"]["name"], "a");
    assert_eq!(done["segment"]["index"], 1);
    let path = done["segment"]["path"].as_str().unwrap();
    assert!(path.ends_with(".flv") && Path::new(path).exists(), "{body}");
    assert!(
        done["id"].is_string() && done["time"].is_string() && done["session"]["id"].is_string()
    );
    let requests = || {
        server
            .stats("live/a.flv")
            .requests
            .load(std::sync::atomic::Ordering::Relaxed)
    };
    let before = requests();
    assert_eq!(
        call(&addr, "POST", &format!("/api/rooms/{key}/restart"), t, None)
            .await
            .0,
        202
    );
    // The restart's effect: the attempt is dropped and the stream asked for again.
    assert!(
        wait_until(Duration::from_secs(10), || requests() > before).await,
        "{}",
        d.log_text()
    );

    // Bad requests: a clear error, nothing stops recording.
    let (code, body) = call(&addr, "POST", "/api/rooms/direct:nope/check", t, None).await;
    assert_eq!(code, 404);
    assert!(body.contains(&key), "lists the known rooms: {body}");
    assert_eq!(
        call(&addr, "POST", &format!("/api/rooms/{key}/explode"), t, None)
            .await
            .0,
        404
    );
    let (code, body) = call(
        &addr,
        "POST",
        &format!("/api/rooms/{key}/check"),
        t,
        Some("{\"reason\": 1, \"bogus\": true}".into()),
    )
    .await;
    assert_eq!(code, 400);
    assert!(body.contains("bad JSON body"), "{body}");
    assert_eq!(
        call(&addr, "POST", "/api/reload", t, Some("{not json".into()))
            .await
            .0,
        400
    );
    assert_eq!(
        call(&addr, "POST", "/api/reload", t, Some("x".repeat(100_000)))
            .await
            .0,
        413
    );
    assert_eq!(call(&addr, "GET", "/api/nothing", t, None).await.0, 404);
    let (code, body) = call(&addr, "POST", "/api/reload", t, None).await;
    assert_eq!(code, 200, "{body}");
    assert!(body.contains("1 unchanged"), "{body}");

    // liverec status, as a user runs it.
    let out = std::process::Command::new(crate::support::daemon::bin())
        .args(["status", "-c"])
        .arg(&d.config)
        .output()
        .unwrap();
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Just after the restart the room may still be connecting.
    assert!(
        table.starts_with("ROOM") && table.contains(&format!("a ({key})")),
        "{table}"
    );
    assert!(
        table.contains("recording") || table.contains("live"),
        "{table}"
    );
    let out = std::process::Command::new(crate::support::daemon::bin())
        .args(["status", "--json", "-c"])
        .arg(&d.config)
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["rooms"][0]["key"], key.as_str());
    assert!(
        !parts(&rec, "a").is_empty(),
        "still recording after all that"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_without_a_daemon_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.toml");
    std::fs::write(&path, "[control]\nlisten = \"127.0.0.1:1\"\n").unwrap();
    let out = std::process::Command::new(crate::support::daemon::bin())
        .args(["status", "-c"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no liverec daemon answers at 127.0.0.1:1")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reload_storm_keeps_exactly_one_recorder_per_room() {
    let server = StreamServer::start().await;
    for n in ["a", "b", "c"] {
        server.set(
            &format!("live/{n}.flv"),
            Answer::flv("flv_640x360_20s.flv", 1.0, 0),
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let (ua, ub, uc) = (
        server.url("live/a.flv"),
        server.url("live/b.flv"),
        server.url("live/c.flv"),
    );
    let base_rooms = format!("{}{}", room("a", &ua), room("b", &ub));
    let base = config(dir.path(), &base_rooms, "");
    let d = Daemon::start(dir.path(), "storm", &base);
    let addr = control_address(dir.path()).await;
    let rec = dir.path().join("rec");
    assert!(
        wait_until(Duration::from_secs(15), || !parts(&rec, "a").is_empty()
            && !parts(&rec, "b").is_empty())
        .await,
        "{}",
        d.log_text()
    );
    let first_a = parts(&rec, "a")[0].clone();
    let first_b = parts(&rec, "b")[0].clone();

    // The same room again under a second URL form, a third room coming and going, a room's
    // settings changing, broken and half-written files, the file deleted and restored.
    let dup = room(
        "a-again",
        &ua.replace("http://127.0.0.1", "HTTP://127.0.0.1"),
    );
    let with_c = format!("{base_rooms}{}", room("c", &uc));
    let edits: Vec<String> = (0..36)
        .map(|i| match i % 6 {
            0 => config(dir.path(), &format!("{base_rooms}{dup}"), ""),
            1 => config(dir.path(), &with_c, ""),
            2 => base.replace("stall_timeout = \"3s\"", "stall_timeout = \"4s\""),
            3 => format!("{base}\n[[rooms]]\nurl = "),
            4 => base.replace("poll_interval = \"1s\"", "poll_interval = 1"),
            _ => config(
                dir.path(),
                &format!("{base_rooms}{}", room("c", &uc)),
                "segment_size = \"64MiB\"",
            ),
        })
        .collect();
    assert!(
        d.wait_ready(Duration::from_secs(10)).await,
        "{}",
        d.log_text()
    );
    let path = dir.path().join("storm.toml");
    let started = Instant::now();
    // The sleeps below pace the storm (its input: a deleted file the watcher must see, edits
    // 120 ms apart); they wait for no effect. The invariant holds at every moment, so it is
    // checked after each edit, and the end state is waited for below.
    for (i, text) in edits.iter().enumerate() {
        if i == 20 {
            std::fs::remove_file(&path).unwrap();
            tokio::time::sleep(Duration::from_millis(600)).await;
        }
        std::fs::write(&path, text).unwrap();
        if i % 7 == 3 {
            let _ = call(&addr, "POST", "/api/reload", None, None).await;
        }
        tokio::time::sleep(Duration::from_millis(120)).await;
        for n in ["a", "b", "c"] {
            assert!(
                parts(&rec, n).len() <= 1,
                "room {n} has two recorders: {:?}",
                parts(&rec, n)
            );
        }
        assert!(
            !rec.join("a-again").exists(),
            "the duplicate URL form must never record"
        );
    }
    // Back to the original config: wait until it is the one applied (rooms a and b only) and
    // the third room has closed its file.
    std::fs::write(&path, &base).unwrap();
    let (settled, last) = status_when(dir.path(), Duration::from_secs(15), |s| {
        let mut names: Vec<&str> = s["rooms"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|r| r["name"].as_str())
            .collect();
        names.sort_unstable();
        names == ["a", "b"] && parts(&rec, "c").is_empty()
    })
    .await;
    assert!(settled, "{last:#}\n{}", d.log_text());
    for n in ["a", "b", "c"] {
        assert!(parts(&rec, n).len() <= 1, "room {n}: {:?}", parts(&rec, n));
    }
    assert!(started.elapsed() < Duration::from_secs(60));

    // The rooms that were in every valid version were never cut: still their first file.
    assert_eq!(
        parts(&rec, "a"),
        std::slice::from_ref(&first_a),
        "room a was interrupted"
    );
    assert_eq!(
        parts(&rec, "b"),
        std::slice::from_ref(&first_b),
        "room b was interrupted"
    );
    assert!(files(&rec.join("a"), ".flv").is_empty() && files(&rec.join("b"), ".flv").is_empty());
    let log = d.log_text();
    assert!(log.contains("reload rejected"), "broken edits are rejected");
    assert!(log.contains("the running config stays in effect"));
    assert!(
        log.contains("is direct:") && log.contains("again; ignored")
            || log.contains("same room as rooms[0]"),
        "the duplicate is reported"
    );
    // The third room was stopped cleanly when it left the config: no .part left for it.
    assert!(
        parts(&rec, "c").is_empty(),
        "{:?}",
        files(&rec.join("c"), "")
    );
    for f in files(&rec.join("c"), ".flv") {
        crate::support::flv::walk(&std::fs::read(&f).unwrap())
            .unwrap_or_else(|e| panic!("{}: {e}", f.display()));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalid_edit_keeps_the_old_config_and_the_api_says_why() {
    let server = StreamServer::start().await;
    server.set("live/a.flv", Answer::flv("flv_640x360_20s.flv", 1.0, 0));
    let dir = tempfile::tempdir().unwrap();
    let base = config(dir.path(), &room("a", &server.url("live/a.flv")), "");
    let d = Daemon::start(dir.path(), "bad", &base);
    let addr = control_address(dir.path()).await;
    let rec = dir.path().join("rec");
    assert!(wait_until(Duration::from_secs(15), || !parts(&rec, "a").is_empty()).await);
    assert!(
        d.wait_ready(Duration::from_secs(10)).await,
        "{}",
        d.log_text()
    );
    let path = dir.path().join("bad.toml");
    std::fs::write(&path, base.replace("min_free_space", "min_free_spac")).unwrap();
    let (code, body) = call(&addr, "POST", "/api/reload", None, None).await;
    assert_eq!(code, 422, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert!(
        v["problems"][0].as_str().unwrap().contains("unknown key"),
        "{body}"
    );
    // Each problem also comes as an object with its parts, the same problem as the line.
    let p = &v["details"][0];
    let line = base
        .lines()
        .position(|l| l.starts_with("min_free_space"))
        .unwrap()
        + 1;
    assert_eq!(p["key"], "min_free_spac", "{body}");
    assert_eq!(p["line"], line, "{body}");
    assert!(
        p["reason"].as_str().unwrap().contains("unknown key"),
        "{body}"
    );
    assert_eq!(
        v["problems"][0].as_str().unwrap(),
        format!(
            "{}:{line}: min_free_spac: {}",
            p["file"].as_str().unwrap(),
            p["reason"].as_str().unwrap()
        ),
        "{body}"
    );
    assert!(p["file"].as_str().unwrap().ends_with("bad.toml"), "{body}");
    // Logged before the API answered.
    assert!(d.log_text().contains("reload rejected"), "{}", d.log_text());
    // SIGHUP with the broken file: rejected the same way; still recording the same file.
    let before = parts(&rec, "a");
    d.signal(libc::SIGHUP);
    // The log line is the effect under test here: a rejected SIGHUP reload changes nothing
    // else, and its rejection is complete once logged (nothing runs after it).
    assert!(
        d.wait_log("reload rejected (SIGHUP): ", Duration::from_secs(5))
            .await,
        "{}",
        d.log_text()
    );
    assert_eq!(parts(&rec, "a"), before);
    // A valid change of this room's settings applies without cutting the recording.
    std::fs::write(
        &path,
        base.replace(
            "filename = \"{name}/{index}\"",
            "filename = \"{name}/renamed_{index}\"",
        ),
    )
    .unwrap();
    // The reload's summary, as the daemon tells systemd; what it changed is checked by its
    // effects (the split below opens a file under the new name).
    assert!(
        d.wait_status_line(", 1 changed", Duration::from_secs(5))
            .await,
        "{}",
        d.log_text()
    );
    let (_, body) = call(
        &addr,
        "POST",
        &format!("/api/rooms/{}/split", room_key(&addr).await),
        None,
        None,
    )
    .await;
    assert!(body.contains("\"ok\":true"), "{body}");
    assert!(
        wait_until(Duration::from_secs(10), || !files(
            &rec.join("a"),
            "renamed_2.flv.part"
        )
        .is_empty())
        .await,
        "the next segment uses the new name: {:?}",
        files(&rec, "")
    );
    // The segment open during the reload went on to the split: one file, its first name.
    let first = before[0].to_str().unwrap().trim_end_matches(".part");
    assert_eq!(
        files(&rec.join("a"), ".flv"),
        [std::path::PathBuf::from(first)],
        "the open segment was cut by the reload"
    );
    // A key that applies only at a restart is named in the reply, and stays named while the
    // running value differs.
    let limited = base.replace("min_free_space", "max_recordings = 3\nmin_free_space");
    std::fs::write(&path, limited).unwrap();
    for _ in 0..2 {
        let (code, body) = call(&addr, "POST", "/api/reload", None, None).await;
        assert_eq!(code, 200, "{body}");
        assert!(
            body.contains("restart liverec to apply max_recordings"),
            "{body}"
        );
    }
}

async fn room_key(addr: &str) -> String {
    let (_, body) = call(addr, "GET", "/api/status", None, None).await;
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    v["rooms"][0]["key"].as_str().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reload_during_shutdown_does_not_stop_a_clean_exit() {
    let server = StreamServer::start().await;
    server.set("live/a.flv", Answer::flv("flv_640x360_20s.flv", 1.0, 0));
    let dir = tempfile::tempdir().unwrap();
    let mut d = Daemon::start(
        dir.path(),
        "sd",
        &config(dir.path(), &room("a", &server.url("live/a.flv")), ""),
    );
    let addr = control_address(dir.path()).await;
    let rec = dir.path().join("rec");
    assert!(wait_until(Duration::from_secs(15), || !parts(&rec, "a").is_empty()).await);
    d.signal(libc::SIGTERM);
    d.signal(libc::SIGHUP);
    let _ = reqwest::Client::new()
        .post(format!("http://{addr}/api/reload"))
        .send()
        .await;
    let status = d.wait_exit(Duration::from_secs(15)).await.expect("exits");
    assert!(status.success(), "{}", d.log_text());
    assert!(parts(&rec, "a").is_empty());
    assert_eq!(files(&rec.join("a"), ".flv").len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_also_listens_on_a_unix_socket() {
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("run/control.sock");
    let cfg = config(dir.path(), "", "").replace(
        "listen = \"127.0.0.1:0\"",
        &format!("listen = \"unix:{}\"", sock.display()),
    );
    let d = Daemon::start(dir.path(), "unix", &cfg);
    assert!(
        wait_until(Duration::from_secs(10), || sock.exists()).await,
        "{}",
        d.log_text()
    );
    let out = std::process::Command::new(crate::support::daemon::bin())
        .args(["status", "--json", "-c"])
        .arg(&d.config)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["rooms"].as_array().unwrap().len(), 0);
    assert!(v["version"].is_string());
}

/// systemd's side of sd_notify: a datagram socket the daemon reports to.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn systemd_hears_ready_watchdog_reloading_and_stopping() {
    use std::os::unix::net::UnixDatagram;
    let dir = tempfile::tempdir().unwrap();
    let sock_path = dir.path().join("notify.sock");
    let sock = UnixDatagram::bind(&sock_path).unwrap();
    sock.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let cfg_path = dir.path().join("sd.toml");
    std::fs::write(&cfg_path, config(dir.path(), "", "")).unwrap();
    let log = std::fs::File::create(dir.path().join("sd.log")).unwrap();
    let mut child = std::process::Command::new(crate::support::daemon::bin())
        .args(["run", "-c"])
        .arg(&cfg_path)
        .env("NOTIFY_SOCKET", &sock_path)
        .env("WATCHDOG_USEC", "1000000")
        .stderr(log)
        .spawn()
        .unwrap();
    let mut heard = Vec::new();
    let started = Instant::now();
    let mut buf = [0u8; 4096];
    let mut reloaded = false;
    let mut stopped = false;
    while started.elapsed() < Duration::from_secs(15) {
        if let Ok(n) = sock.recv(&mut buf) {
            heard.push(String::from_utf8_lossy(&buf[..n]).into_owned());
        }
        let all = heard.join("\n");
        if all.contains("READY=1") && all.contains("WATCHDOG=1") && !reloaded {
            unsafe { libc::kill(child.id() as i32, libc::SIGHUP) };
            reloaded = true;
        }
        if reloaded && all.contains("RELOADING=1") && !stopped {
            unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
            stopped = true;
        }
        if all.contains("STOPPING=1") {
            break;
        }
    }
    let status = child.wait().unwrap();
    let all = heard.join("\n");
    assert!(status.success());
    for want in [
        "READY=1",
        "WATCHDOG=1",
        "RELOADING=1",
        "MONOTONIC_USEC=",
        "STOPPING=1",
        "STATUS=",
    ] {
        assert!(all.contains(want), "missing {want} in {all:?}");
    }
    let ready = heard.iter().position(|m| m.contains("READY=1")).unwrap();
    let stopping = heard.iter().position(|m| m.contains("STOPPING=1")).unwrap();
    assert!(ready < stopping);
}

/// A reload that adds a room already recorded, under a URL form that has to be resolved first
/// (a Bilibili short id for a long id), starts no second recorder and leaves the first alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reload_adding_a_short_id_of_a_recorded_room_starts_nothing() {
    use crate::support::platform_server::{BiliRoom, PlatformServer};
    let streams = StreamServer::start().await;
    streams.set(
        "live-bvc/7734200/live.flv",
        Answer::flv("flv_640x360_20s.flv", 1.0, 0),
    );
    let api = PlatformServer::start().await;
    api.set_bili(
        7734200,
        BiliRoom {
            short_id: 77,
            live_status: 1,
            title: "title".into(),
            uname: "streamer".into(),
            live_start_time: 1763712000,
            stream_host: format!("http://{}", streams.addr),
            stream_path: "live-bvc/7734200/live.flv".into(),
        },
    );
    let dir = tempfile::tempdir().unwrap();
    let extra = format!(
        "[platforms.bilibili]\napi_base = \"{}\"\ndanmaku = false\nlive_push = false\n",
        api.base()
    );
    let long = room("long", "https://live.bilibili.com/7734200");
    let cfg = config(dir.path(), &long, &extra);
    let d = Daemon::start(dir.path(), "short", &cfg);
    let rec = dir.path().join("rec");
    assert!(
        wait_until(Duration::from_secs(15), || !parts(&rec, "long").is_empty()).await,
        "{}",
        d.log_text()
    );
    let open = parts(&rec, "long");
    assert!(
        d.wait_ready(Duration::from_secs(10)).await,
        "{}",
        d.log_text()
    );
    let both = config(
        dir.path(),
        &format!("{long}{}", room("short", "https://live.bilibili.com/77")),
        &extra,
    );
    std::fs::write(dir.path().join("short.toml"), both).unwrap();
    // The decision shows only in the log (a room that is ignored is never listed): the line
    // is the effect under test. What it must not do is checked right after: no second room.
    assert!(
        d.wait_log("already records; ignored", Duration::from_secs(15))
            .await,
        "{}",
        d.log_text()
    );
    let rooms = status_now(dir.path()).await["rooms"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(rooms, 1, "a second room was started:\n{}", d.log_text());
    assert!(
        parts(&rec, "short").is_empty() && files(&rec.join("short"), ".flv").is_empty(),
        "a second recorder started:\n{}",
        d.log_text()
    );
    assert_eq!(
        parts(&rec, "long"),
        open,
        "the running recording was disturbed"
    );
}

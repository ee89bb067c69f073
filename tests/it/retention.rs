//! Retention end to end: the real daemon, finished segments it raises `segment_complete` for at
//! start-up (left as a crash leaves them: renamed, their event not yet journaled), hooks that
//! succeed, fail, give up or hang, and `liverec retention` against the running daemon.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::Value;

use crate::support::daemon::{Daemon, bin, config, status_when, try_control_get, wait_until};

const FAST: &[(&str, &str)] = &[("LIVEREC_HOOK_BACKOFF_MS", "200")];

fn script(dir: &Path, name: &str, body: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

fn toml_str(s: &str) -> String {
    serde_json::to_string(s).unwrap()
}

/// A finished segment `alice/<name>.flv` that ended `days` ago, left as a writer killed after
/// its rename leaves it: the start-up raises its `segment_complete`. Returns its final path.
fn finished(state: &Path, rec: &Path, name: &str, n: u32, days: i64) -> PathBuf {
    finished_in(state, rec, "alice", name, n, days)
}

/// The same for room `room` (key `direct:<room>`): deliveries of one hook for one room run in
/// order, so a hook that hangs on one room's file holds back only that room's.
fn finished_in(state: &Path, rec: &Path, room: &str, name: &str, n: u32, days: i64) -> PathBuf {
    use liverec::event::{Event, EventType, RoomRef, SegmentRef};
    use liverec::segment::intent::{Intent, Intents, Stage, identity};
    let part = rec.join(format!("alice/{name}.flv.part"));
    std::fs::create_dir_all(part.parent().unwrap()).unwrap();
    std::fs::write(&part, b"recorded bytes").unwrap();
    std::fs::write(rec.join(format!("alice/{name}.xml")), b"<i/>").unwrap();
    let end = liverec::event::now() - chrono::Duration::days(days);
    let mut segment = SegmentRef {
        path: part.clone(),
        index: n,
        bytes: 14,
        duration_s: 60.0,
        start: end,
        end,
        recovered: false,
        danmaku: None,
    };
    segment.danmaku = Some(liverec::event::DanmakuRef {
        path: rec.join(format!("alice/{name}.xml")),
        messages: 1,
    });
    let event = Event::new(
        EventType::SegmentComplete,
        Some(RoomRef {
            key: format!("direct:{room}"),
            platform: "direct".into(),
            id: room.into(),
            name: room.into(),
            url: String::new(),
            streamer: String::new(),
            title: String::new(),
        }),
    )
    .with_segment(segment);
    let store = Intents::open(&state.join("segments")).unwrap();
    let (dev, ino) = identity(&std::fs::metadata(&part).unwrap());
    store
        .begin(&Intent {
            stage: Stage::Closing,
            part: part.clone(),
            dev,
            ino,
            event,
        })
        .unwrap();
    liverec::segment::part::rename_no_replace(&part, &rec.join(format!("alice/{name}")), "flv")
        .unwrap()
}

/// `liverec retention [--dry-run] --json` against the daemon of `cfg`.
fn retention_cli(cfg: &Path, dry_run: bool) -> Value {
    let mut args = vec!["retention", "--json", "-c", cfg.to_str().unwrap()];
    if dry_run {
        args.push("--dry-run");
    }
    let out = Command::new(bin()).args(&args).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn names(entries: &Value) -> Vec<String> {
    entries
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            Path::new(e["path"].as_str().unwrap())
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect()
}

fn hook(status: &Value, name: &str) -> Value {
    status["hooks"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|h| h["name"] == name)
        .cloned()
        .unwrap_or(Value::Null)
}

fn lines(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_segments_every_hook_succeeded_with_are_deleted_and_the_dry_run_says_so_first() {
    let dir = tempfile::tempdir().unwrap();
    let (state, rec) = (dir.path().join("state"), dir.path().join("rec"));
    // Oldest first: two done, then one whose upload gives up, one whose upload hangs, one
    // whose backup keeps failing and retrying; a young one; one of another room's rules.
    // Each in a room of its own: one room's deliveries of a hook wait for each other.
    let old = ["1-ok", "2-ok", "3-fail", "4-hang", "5-retry"];
    for (n, name) in old.iter().enumerate() {
        let room = if n < 2 { "alice" } else { &name[2..] };
        finished_in(&state, &rec, room, name, n as u32 + 1, 20 - n as i64);
    }
    finished(&state, &rec, "6-young", 6, 1);
    let deleted_out = dir.path().join("deleted.jsonl");
    let upload = script(
        dir.path(),
        "upload.sh",
        "case \"$1\" in *fail*) exit 1;; *hang*) exec sleep 60;; esac",
    );
    let backup = script(
        dir.path(),
        "backup.sh",
        "case \"$1\" in *retry*) exit 1;; esac",
    );
    let tell = script(
        dir.path(),
        "tell.sh",
        &format!(
            "cat >> {}; echo >> {}",
            deleted_out.display(),
            deleted_out.display()
        ),
    );
    let rules = format!(
        "[retention]\nkeep_for = \"7d\"\ninterval = \"1h\"\n\
         [[hooks]]\nname = \"upload\"\nevents = [\"segment_complete\"]\ncommand = [{}, \"{{path}}\"]\nretries = 0\nconcurrency = 4\n\
         [[hooks]]\nname = \"backup\"\nevents = [\"segment_complete\"]\ncommand = [{}, \"{{path}}\"]\nretries = 100\n\
         [[hooks]]\nname = \"tell\"\nevents = [\"segment_deleted\"]\ncommand = [{}]\n",
        toml_str(upload.to_str().unwrap()),
        toml_str(backup.to_str().unwrap()),
        toml_str(tell.to_str().unwrap()),
    );
    let d = Daemon::start_env(dir.path(), "keep", &config(dir.path(), &rules, ""), FAST);
    // upload: 4 done, 1 gave up, 1 running; backup: 5 done, 1 failing and retrying.
    let (ok, s) = status_when(dir.path(), Duration::from_secs(30), |s| {
        let (u, b) = (hook(s, "upload"), hook(s, "backup"));
        u["succeeded"] == 4
            && u["gave_up"] == 1
            && u["running"] == 1
            && b["succeeded"] == 5
            && b["attempts_failed"].as_u64().unwrap_or(0) >= 1
    })
    .await;
    assert!(ok, "{s:#}\n{}", d.log_text());

    let plan = retention_cli(&d.config, true);
    assert_eq!(plan["enabled"], true);
    assert_eq!(names(&plan["delete"]), ["1-ok.flv", "2-ok.flv"], "{plan:#}");
    assert!(
        plan["delete"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["reason"] == "age")
    );
    assert_eq!(
        names(&plan["held"]),
        ["3-fail.flv", "4-hang.flv", "5-retry.flv"],
        "{plan:#}"
    );
    let why: Vec<&str> = plan["held"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["held"].as_str().unwrap())
        .collect();
    assert_eq!(why, ["upload gave up", "upload pending", "backup pending"]);
    // The dry run deleted nothing.
    assert!(rec.join("alice/1-ok.flv").exists());

    let report = retention_cli(&d.config, false);
    assert_eq!(
        report["deleted"], plan["delete"],
        "the run deletes what the dry run listed"
    );
    for name in ["1-ok", "2-ok"] {
        assert!(!rec.join(format!("alice/{name}.flv")).exists(), "{name}");
        assert!(
            !rec.join(format!("alice/{name}.xml")).exists(),
            "{name}'s chat"
        );
    }
    for name in ["3-fail", "4-hang", "5-retry", "6-young"] {
        assert!(
            rec.join(format!("alice/{name}.flv")).exists(),
            "{name} is kept"
        );
    }
    assert!(
        wait_until(Duration::from_secs(20), || lines(&deleted_out).len() == 2).await,
        "{}",
        d.log_text()
    );
    let told = lines(&deleted_out);
    for (e, name) in told.iter().zip(["1-ok", "2-ok"]) {
        assert_eq!(e["type"], "segment_deleted");
        assert_eq!(e["room"]["key"], "direct:alice");
        assert!(
            e["segment"]["path"]
                .as_str()
                .unwrap()
                .ends_with(&format!("{name}.flv"))
        );
        assert_eq!(e["segment"]["bytes"], 14);
        assert_eq!(e["deletion"]["reason"], "age");
        assert!(e["deletion"]["age_s"].as_u64().unwrap() > 7 * 86400);
    }
    let log = d.log_text();
    assert!(
        log.lines()
            .any(|l| l.contains("retention deleted ") && l.contains("direct:alice")),
        "{log}"
    );
    let (ok, s) = status_when(dir.path(), Duration::from_secs(5), |s| {
        s["retention"]["deleted_files"] == 2 && s["retention"]["held_by_hooks"] == 3
    })
    .await;
    assert!(ok, "{s:#}");
    assert!(s["retention"]["next_pass"].is_string(), "{s:#}");
    let metrics = try_control_get(dir.path(), "/metrics").await.unwrap();
    assert!(
        metrics.contains("liverec_retention_deleted_files_total 2"),
        "{metrics}"
    );
    assert!(
        metrics.contains("liverec_retention_held_files 3"),
        "{metrics}"
    );
    // Nothing pending is ever deleted: a second pass changes nothing.
    let again = retention_cli(&d.config, false);
    assert_eq!(again["deleted"], Value::Array(vec![]), "{again:#}");
    // An operator lets the given-up one go (its backup is done); the hung and the retrying
    // ones cannot be released into deletion while a delivery is pending.
    let release = |file: &Path| {
        Command::new(bin())
            .args(["retention", "-c", d.config.to_str().unwrap(), "--release"])
            .arg(file)
            .output()
            .unwrap()
    };
    let out = release(&rec.join("alice/3-fail.flv"));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(release(&rec.join("alice/4-hang.flv")).status.success());
    let unknown = release(&dir.path().join("not-ours.flv"));
    assert!(!unknown.status.success());
    assert!(
        String::from_utf8_lossy(&unknown.stderr).contains("no finished segment of liverec's"),
        "{unknown:?}"
    );
    let report = retention_cli(&d.config, false);
    assert_eq!(names(&report["deleted"]), ["3-fail.flv"], "{report:#}");
    assert_eq!(
        names(&report["plan"]["held"]),
        ["4-hang.flv", "5-retry.flv"],
        "{report:#}"
    );
    // A reload without [retention] turns it off.
    let text = std::fs::read_to_string(&d.config).unwrap();
    let off = text.replace("[retention]\nkeep_for = \"7d\"\ninterval = \"1h\"\n", "");
    assert_ne!(off, text);
    std::fs::write(&d.config, off).unwrap();
    let addr = crate::support::daemon::control_address(dir.path()).await;
    let reply = reqwest::Client::new()
        .post(format!("http://{addr}/api/reload"))
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status().as_u16(), 200);
    let plan = retention_cli(&d.config, true);
    assert_eq!(plan["enabled"], false, "{plan:#}");
    assert!(plan["delete"].as_array().unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_in_the_middle_of_deletions_loses_nothing_and_doubles_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (state, rec) = (dir.path().join("state"), dir.path().join("rec"));
    let a = finished(&state, &rec, "a", 1, 10);
    let b = finished(&state, &rec, "b", 2, 9);
    let deleted_out = dir.path().join("deleted.jsonl");
    let tell = script(
        dir.path(),
        "tell.sh",
        &format!(
            "cat >> {}; echo >> {}",
            deleted_out.display(),
            deleted_out.display()
        ),
    );
    let rules = format!(
        "[retention]\nkeep_for = \"7d\"\ninterval = \"1s\"\n\
         [[hooks]]\nname = \"upload\"\nevents = [\"segment_complete\"]\ncommand = [\"true\"]\n\
         [[hooks]]\nname = \"tell\"\nevents = [\"segment_deleted\"]\ncommand = [{}]\n",
        toml_str(tell.to_str().unwrap()),
    );
    let cfg = config(dir.path(), &rules, "");
    // 1. Killed after the deletion is recorded, before the unlink.
    let marker = dir.path().join("paused");
    let pause = format!("before_unlink:{}", marker.display());
    let mut d = Daemon::start_env(
        dir.path(),
        "kill",
        &cfg,
        &[("LIVEREC_TEST_RETENTION_PAUSE", pause.as_str())],
    );
    assert!(
        wait_until(Duration::from_secs(30), || marker.exists()).await,
        "{}",
        d.log_text()
    );
    d.kill9();
    let _ = d.wait_exit(Duration::from_secs(5)).await;
    assert!(a.exists() && b.exists(), "nothing unlinked yet");
    // 2. The restart finishes that deletion; the next one is killed after its unlink.
    std::fs::remove_file(&marker).unwrap();
    let pause = format!("after_unlink:{}", marker.display());
    let mut d = Daemon::start_file_env(
        &d.config.clone(),
        "kill2",
        &[("LIVEREC_TEST_RETENTION_PAUSE", pause.as_str())],
    );
    assert!(
        wait_until(Duration::from_secs(30), || marker.exists()).await,
        "{}",
        d.log_text()
    );
    d.kill9();
    let _ = d.wait_exit(Duration::from_secs(5)).await;
    assert!(!a.exists() && !b.exists(), "both unlinked");
    // 3. The last start raises the second event; each deletion is told exactly once.
    let mut d = Daemon::start_file(&d.config.clone(), "kill3");
    assert!(
        wait_until(Duration::from_secs(30), || lines(&deleted_out).len() >= 2).await,
        "{}",
        d.log_text()
    );
    d.signal(libc::SIGTERM);
    assert!(d.wait_exit(Duration::from_secs(15)).await.is_some());
    let d = Daemon::start_file(&d.config.clone(), "kill4");
    let (ok, s) = status_when(dir.path(), Duration::from_secs(10), |s| {
        s["retention"]["last_pass"].is_string()
    })
    .await;
    assert!(ok, "{s:#}\n{}", d.log_text());
    let told = lines(&deleted_out);
    let mut paths: Vec<&str> = told
        .iter()
        .map(|e| e["segment"]["path"].as_str().unwrap())
        .collect();
    paths.sort();
    assert_eq!(
        paths,
        [a.to_str().unwrap(), b.to_str().unwrap()],
        "{told:#?}"
    );
    assert_ne!(told[0]["id"], told[1]["id"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_space_target_deletes_the_oldest_deletable_segments_until_it_is_met() {
    let dir = tempfile::tempdir().unwrap();
    let (state, rec) = (dir.path().join("state"), dir.path().join("rec"));
    // Five segments of 14 bytes, the second one's upload gives up.
    for (n, name) in ["1", "2-fail", "3", "4", "5"].iter().enumerate() {
        finished(&state, &rec, name, n as u32 + 1, 5 - n as i64);
    }
    let upload = script(
        dir.path(),
        "upload.sh",
        "case \"$1\" in *fail*) exit 1;; esac",
    );
    // 1000 bytes free, 1040 wanted: three files of 14 bytes.
    let rules = format!(
        "[retention]\nmin_free_space_target = \"1040B\"\ninterval = \"1h\"\n\
         [[hooks]]\nname = \"upload\"\nevents = [\"segment_complete\"]\ncommand = [{}, \"{{path}}\"]\nretries = 0\n",
        toml_str(upload.to_str().unwrap()),
    );
    let d = Daemon::start_env(
        dir.path(),
        "space",
        &config(dir.path(), &rules, ""),
        &[("LIVEREC_TEST_FREE_SPACE", "1000")],
    );
    let (ok, s) = status_when(dir.path(), Duration::from_secs(30), |s| {
        let u = hook(s, "upload");
        u["succeeded"] == 4 && u["gave_up"] == 1
    })
    .await;
    assert!(ok, "{s:#}\n{}", d.log_text());
    let report = retention_cli(&d.config, false);
    assert_eq!(
        names(&report["deleted"]),
        ["1.flv", "3.flv", "4.flv"],
        "{report:#}"
    );
    assert!(
        report["deleted"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["reason"] == "space")
    );
    assert_eq!(names(&report["plan"]["held"]), ["2-fail.flv"]);
    assert_eq!(report["plan"]["target_bytes"], 1040);
    assert!(rec.join("alice/2-fail.flv").exists() && rec.join("alice/5.flv").exists());
}

//! Runs the real `liverec` binary as a user would, with its log captured to a file.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_liverec")
}

static COUNTER: AtomicUsize = AtomicUsize::new(0);

pub struct Daemon {
    child: Child,
    pub config: PathBuf,
    pub log: PathBuf,
    /// What the daemon tells systemd (it runs with `NOTIFY_SOCKET` set to this listener).
    notify: super::notify::Notified,
}

impl Daemon {
    /// Writes `config` into `dir/<name>.toml` and starts `liverec run` on it.
    pub fn start(dir: &Path, name: &str, config: &str) -> Self {
        let path = dir.join(format!("{name}.toml"));
        std::fs::write(&path, config).unwrap();
        Self::start_file(&path, name)
    }

    pub fn start_file(config: &Path, name: &str) -> Self {
        Self::start_file_env(config, name, &[])
    }

    /// Like [`Daemon::start`], with extra environment variables for the daemon.
    pub fn start_env(dir: &Path, name: &str, config: &str, env: &[(&str, &str)]) -> Self {
        let path = dir.join(format!("{name}.toml"));
        std::fs::write(&path, config).unwrap();
        Self::start_file_env(&path, name, env)
    }

    pub fn start_file_env(config: &Path, name: &str, env: &[(&str, &str)]) -> Self {
        let dir = config.parent().unwrap();
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let log = dir.join(format!("{name}-{n}.log"));
        let notify = super::notify::Notified::listen(dir.join(format!("{name}-{n}.sd")));
        let child = Command::new(bin())
            .args(["run", "-c"])
            .arg(config)
            .env("RUST_LOG", "info,liverec=debug")
            .env("NOTIFY_SOCKET", notify.path())
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("start liverec");
        Self {
            child,
            config: config.to_path_buf(),
            log,
            notify,
        }
    }

    /// Waits until a status the daemon gave systemd (`STATUS=`, as `systemctl status` shows it;
    /// a reload's summary, for one) contained `text`.
    pub async fn wait_status_line(&self, text: &str, timeout: Duration) -> bool {
        wait_until(timeout, || self.notify.status_had(text)).await
    }

    /// Waits until the daemon has told systemd READY=1: its rooms run and it watches its config
    /// file (an edit saved before that may go unseen).
    pub async fn wait_ready(&self, timeout: Duration) -> bool {
        wait_until(timeout, || self.notify.heard("READY=1")).await
    }

    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    pub fn signal(&self, sig: i32) {
        // SAFETY: sending a signal to our own child process.
        unsafe {
            libc::kill(self.pid(), sig);
        }
    }

    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    pub async fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let until = Instant::now() + timeout;
        while Instant::now() < until {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Some(status);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        None
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits until the log contains `needle`.
    pub async fn wait_log(&self, needle: &str, timeout: Duration) -> bool {
        wait_until(timeout, || self.log_text().contains(needle)).await
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The address the control API of the daemon whose config came from [`config`] in `dir` bound
/// (its config says port 0; the bound address is in `<dir>/state/control.json`).
pub async fn control_address(dir: &Path) -> String {
    let note = dir.join("state/control.json");
    assert!(
        wait_until(Duration::from_secs(10), || note.exists()).await,
        "no control.json"
    );
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(note).unwrap()).unwrap();
    v["listen"].as_str().unwrap().to_string()
}

/// GET `path` from the control API of the daemon in `dir`: the body of a 200 answer.
pub async fn control_get(dir: &Path, path: &str) -> String {
    let addr = control_address(dir).await;
    let resp = reqwest::get(format!("http://{addr}{path}")).await.unwrap();
    assert_eq!(resp.status().as_u16(), 200, "GET {path}");
    resp.text().await.unwrap()
}

/// GET `path` from the control API of the daemon in `dir`, or `None` while it does not answer
/// (not started yet, or `control.json` still names a daemon killed before a restart).
pub async fn try_control_get(dir: &Path, path: &str) -> Option<String> {
    let text = std::fs::read_to_string(dir.join("state/control.json")).ok()?;
    let note: serde_json::Value = serde_json::from_str(&text).ok()?;
    let addr = note["listen"].as_str()?;
    let resp = reqwest::get(format!("http://{addr}{path}")).await.ok()?;
    if !resp.status().is_success() {
        return None;
    }
    resp.text().await.ok()
}

/// The daemon's `GET /api/status`, parsed (`null` while it does not answer).
pub async fn status(dir: &Path) -> serde_json::Value {
    match try_control_get(dir, "/api/status").await {
        Some(body) => serde_json::from_str(&body).unwrap(),
        None => serde_json::Value::Null,
    }
}

/// The daemon's `/api/status` once `cond` holds for it (polled every 100 ms), or the last one
/// read when `timeout` passed.
pub async fn status_when(
    dir: &Path,
    timeout: Duration,
    cond: impl Fn(&serde_json::Value) -> bool,
) -> (bool, serde_json::Value) {
    let until = Instant::now() + timeout;
    loop {
        let v = status(dir).await;
        if cond(&v) {
            return (true, v);
        }
        if Instant::now() >= until {
            return (false, v);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The daemon's `GET /api/status` as soon as it answers (its API starts just after its rooms).
pub async fn status_now(dir: &Path) -> serde_json::Value {
    let (up, v) = status_when(dir, Duration::from_secs(10), |s| !s.is_null()).await;
    assert!(up, "the control API does not answer");
    v
}

/// The daemon's recent events (`GET /api/events`), oldest first (none while it does not
/// answer).
pub async fn events(dir: &Path) -> Vec<serde_json::Value> {
    match try_control_get(dir, "/api/events").await {
        Some(body) => serde_json::from_str(&body).unwrap(),
        None => Vec::new(),
    }
}

/// Waits until the daemon's recent events hold `n` of type `kind` (polled every 100 ms).
pub async fn wait_events(dir: &Path, kind: &str, n: usize, timeout: Duration) -> bool {
    let until = Instant::now() + timeout;
    loop {
        let got = events(dir)
            .await
            .iter()
            .filter(|e| e["type"] == kind)
            .count();
        if got >= n {
            return true;
        }
        if Instant::now() >= until {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Polls `cond` every 50 ms until it holds or `timeout` passes.
pub async fn wait_until(timeout: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let until = Instant::now() + timeout;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= until {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Polls the async `cond` every 50 ms until it holds or `timeout` passes (for conditions read
/// from the control API).
pub async fn wait_for<F, Fut>(timeout: Duration, mut cond: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let until = Instant::now() + timeout;
    loop {
        if cond().await {
            return true;
        }
        if Instant::now() >= until {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The room named `name` in a `GET /api/status` answer.
pub fn room_status<'a>(status: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    status["rooms"]
        .as_array()
        .and_then(|rooms| rooms.iter().find(|r| r["name"] == name))
        .unwrap_or(&serde_json::Value::Null)
}

/// Whether the room's reason for its state (`detail`) or its last error mentions `text`.
pub fn room_says(room: &serde_json::Value, text: &str) -> bool {
    ["detail", "last_error"]
        .iter()
        .any(|k| room[*k].as_str().is_some_and(|s| s.contains(text)))
}

/// Every file under `dir` whose name ends with `suffix`, sorted.
pub fn files(dir: &Path, suffix: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.to_string_lossy().ends_with(suffix) {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// A config for tests: fast polling, short grace, everything under `dir`.
pub fn config(dir: &Path, rooms: &str, extra: &str) -> String {
    format!(
        r#"output_dir = "{out}"
state_dir = "{state}"
poll_interval = "1s"
offline_grace = "2s"
stall_timeout = "3s"
alert_after = "5s"
min_free_space = "0B"
shutdown_timeout = "10s"
filename = "{{name}}/{{index}}"
{extra}
[control]
listen = "127.0.0.1:0"
{rooms}
"#,
        out = dir.join("rec").display(),
        state = dir.join("state").display(),
    )
}

/// A `[[rooms]]` entry.
pub fn room(name: &str, url: &str) -> String {
    format!("[[rooms]]\nname = \"{name}\"\nurl = \"{url}\"\n")
}

//! Headless Chromium driven over the DevTools protocol (CDP), for testing the status page as a
//! user's browser renders it.
//!
//! Transport: `--remote-debugging-pipe`. Chromium reads commands on fd 3 and writes answers and
//! events on fd 4, each message one JSON object followed by a NUL byte: no port, no WebSocket, no
//! file to wait for. One reader thread splits fd 4 and files answers by id; protocol events
//! (exceptions, console and log entries) are kept so a test can fail on page errors.
//!
//! Everything here blocks: run it on a blocking thread (`spawn_blocking`), not on the runtime
//! that serves the fake servers.

#![allow(dead_code)]

use std::collections::HashMap;
use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{FromRawFd, RawFd};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{Value, json};

const FLAGS: &[&str] = &[
    "--headless",
    // Tests run as root in CI containers, where Chromium's sandbox cannot start.
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--mute-audio",
    "--hide-scrollbars",
    "--force-color-profile=srgb",
    "--lang=en-US",
    "--remote-debugging-pipe",
];

/// How long one protocol call may take (a loaded 2-core machine starts Chromium slowly).
const CALL_TIMEOUT: Duration = Duration::from_secs(60);

/// The Chromium to run: `$CHROMIUM`, else the first of the usual names on `PATH`.
pub fn chromium() -> Result<PathBuf, String> {
    if let Some(p) = std::env::var_os("CHROMIUM") {
        return Ok(PathBuf::from(p));
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    for name in ["chromium", "chromium-browser", "google-chrome", "chrome"] {
        for dir in std::env::split_paths(&path) {
            let p = dir.join(name);
            if p.is_file() {
                return Ok(p);
            }
        }
    }
    Err(
        "the status page test needs Chromium and found none on PATH: install Debian's `chromium` \
         (.ci/run does), or set CHROMIUM=/path/to/chromium"
            .into(),
    )
}

#[derive(Default)]
struct Inbox {
    answers: HashMap<u64, Value>,
    events: Vec<Value>,
    closed: bool,
}

struct Shared {
    inbox: Mutex<Inbox>,
    arrived: Condvar,
}

pub struct Browser {
    child: Child,
    commands: File,
    shared: Arc<Shared>,
    next_id: Mutex<u64>,
    profile: tempfile::TempDir,
    log: PathBuf,
}

/// A pipe whose both ends close on exec (the child gets copies placed on 3 and 4).
fn pipe() -> (RawFd, RawFd) {
    let mut fds = [0; 2];
    // SAFETY: pipe2 writes two descriptors into the array it is given.
    let rc = unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) };
    assert_eq!(rc, 0, "pipe2: {}", std::io::Error::last_os_error());
    (fds[0], fds[1])
}

impl Browser {
    /// Starts a headless Chromium with a fresh profile; its output goes to a log file that
    /// [`Browser::log_text`] returns.
    pub fn launch() -> Result<Self, String> {
        let exe = chromium()?;
        let profile = tempfile::tempdir().map_err(|e| e.to_string())?;
        let log = profile.path().join("chromium.log");
        let (cmd_r, cmd_w) = pipe();
        let (ans_r, ans_w) = pipe();
        let logf = File::create(&log).map_err(|e| e.to_string())?;
        let mut command = Command::new(&exe);
        command
            .args(FLAGS)
            .arg(format!(
                "--user-data-dir={}",
                profile.path().join("profile").display()
            ))
            .arg("about:blank")
            .stdin(Stdio::null())
            .stdout(logf.try_clone().map_err(|e| e.to_string())?)
            .stderr(logf);
        // SAFETY: only async-signal-safe calls between fork and exec. The ends are first lifted
        // above 10, so that placing one on 3 cannot close the other if it happens to be 3 or 4;
        // dup2 clears close-on-exec on the placed copies. A session of its own lets Drop kill
        // Chromium's helper processes with it.
        unsafe {
            command.pre_exec(move || {
                let a = libc::fcntl(cmd_r, libc::F_DUPFD_CLOEXEC, 10);
                let b = libc::fcntl(ans_w, libc::F_DUPFD_CLOEXEC, 10);
                if a < 0 || b < 0 || libc::dup2(a, 3) < 0 || libc::dup2(b, 4) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                libc::setsid();
                Ok(())
            });
        }
        let spawned = command.spawn();
        // The parent's copies of the child's ends: closed, or EOF is never seen.
        // SAFETY: both are descriptors pipe() returned and nothing else owns.
        unsafe {
            libc::close(cmd_r);
            libc::close(ans_w);
        }
        // SAFETY: as above; each is owned by exactly one File from here on.
        let (commands, answers) = unsafe { (File::from_raw_fd(cmd_w), File::from_raw_fd(ans_r)) };
        let child = spawned.map_err(|e| format!("cannot start {}: {e}", exe.display()))?;
        let shared = Arc::new(Shared {
            inbox: Mutex::new(Inbox::default()),
            arrived: Condvar::new(),
        });
        let reader = shared.clone();
        std::thread::spawn(move || read_messages(answers, &reader));
        Ok(Self {
            child,
            commands,
            shared,
            next_id: Mutex::new(0),
            profile,
            log,
        })
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// One protocol call; `session` for a page's commands. The result, or the protocol error.
    pub fn call(
        &self,
        session: Option<&str>,
        method: &str,
        params: Value,
    ) -> Result<Value, String> {
        self.call_within(session, method, params, CALL_TIMEOUT)
    }

    fn call_within(
        &self,
        session: Option<&str>,
        method: &str,
        params: Value,
        timeout: Duration,
    ) -> Result<Value, String> {
        let id = {
            let mut n = self.next_id.lock().unwrap();
            *n += 1;
            *n
        };
        let mut msg = json!({ "id": id, "method": method, "params": params });
        if let Some(s) = session {
            msg["sessionId"] = json!(s);
        }
        let mut bytes = serde_json::to_vec(&msg).unwrap();
        bytes.push(0);
        (&self.commands)
            .write_all(&bytes)
            .map_err(|e| format!("{method}: the browser is gone ({e})"))?;
        let until = Instant::now() + timeout;
        let mut inbox = self.shared.inbox.lock().unwrap();
        loop {
            if let Some(answer) = inbox.answers.remove(&id) {
                return match answer.get("error") {
                    Some(e) => Err(format!("{method}: {e}")),
                    None => Ok(answer["result"].clone()),
                };
            }
            if inbox.closed {
                return Err(format!("{method}: the browser closed the pipe"));
            }
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(format!("{method}: no answer in {timeout:?}"));
            }
            inbox = self.shared.arrived.wait_timeout(inbox, left).unwrap().0;
        }
    }

    /// A new tab, attached, with its runtime and log reporting on, at `width` x `height`.
    pub fn new_page(&self, width: u32, height: u32) -> Result<Page<'_>, String> {
        let target = self.call(None, "Target.createTarget", json!({ "url": "about:blank" }))?;
        let attached = self.call(
            None,
            "Target.attachToTarget",
            json!({ "targetId": target["targetId"], "flatten": true }),
        )?;
        let session = attached["sessionId"]
            .as_str()
            .ok_or("attachToTarget: no sessionId")?
            .to_string();
        let page = Page {
            browser: self,
            session,
        };
        page.call("Runtime.enable", json!({}))?;
        page.call("Log.enable", json!({}))?;
        page.resize(width, height, 1.0, false)?;
        Ok(page)
    }

    /// Problems the pages reported so far: uncaught exceptions, console errors, CSP violations
    /// and other errors (failed requests are not: a 401 before the token is expected).
    pub fn problems(&self) -> Vec<String> {
        let inbox = self.shared.inbox.lock().unwrap();
        inbox.events.iter().filter_map(problem).collect()
    }
}

fn problem(ev: &Value) -> Option<String> {
    let p = &ev["params"];
    match ev["method"].as_str()? {
        "Runtime.exceptionThrown" => Some(format!(
            "exception: {} {}",
            p["exceptionDetails"]["text"], p["exceptionDetails"]["exception"]["description"]
        )),
        "Runtime.consoleAPICalled" if matches!(p["type"].as_str(), Some("error" | "assert")) => {
            Some(format!("console.{}: {}", p["type"], p["args"]))
        }
        "Log.entryAdded" if p["entry"]["level"] == "error" && p["entry"]["source"] != "network" => {
            Some(format!(
                "log ({}): {}",
                p["entry"]["source"], p["entry"]["text"]
            ))
        }
        _ => None,
    }
}

fn read_messages(mut from: File, shared: &Shared) {
    let mut buf = Vec::new();
    let mut chunk = vec![0u8; 1 << 16];
    loop {
        let n = from.read(&mut chunk).unwrap_or(0);
        if n == 0 {
            shared.inbox.lock().unwrap().closed = true;
            shared.arrived.notify_all();
            return;
        }
        buf.extend_from_slice(&chunk[..n]);
        while let Some(end) = buf.iter().position(|&b| b == 0) {
            let raw: Vec<u8> = buf.drain(..=end).collect();
            let Ok(msg) = serde_json::from_slice::<Value>(&raw[..raw.len() - 1]) else {
                continue;
            };
            let mut inbox = shared.inbox.lock().unwrap();
            match msg.get("id").and_then(Value::as_u64) {
                Some(id) => {
                    inbox.answers.insert(id, msg);
                }
                // Only what `problem` may report is kept: network events would pile up.
                None if problem(&msg).is_some() => inbox.events.push(msg),
                None => {}
            }
            drop(inbox);
            shared.arrived.notify_all();
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.call_within(None, "Browser.close", json!({}), Duration::from_secs(5));
        let until = Instant::now() + Duration::from_secs(5);
        while Instant::now() < until {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        // SAFETY: signalling the process group of our own child (it leads its session).
        unsafe {
            libc::kill(-(self.child.id() as i32), libc::SIGKILL);
        }
        let _ = self.child.wait();
    }
}

fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64() != Some(0.0),
        Value::String(s) => !s.is_empty(),
        _ => true,
    }
}

pub struct Page<'a> {
    browser: &'a Browser,
    session: String,
}

impl Page<'_> {
    pub fn call(&self, method: &str, params: Value) -> Result<Value, String> {
        self.browser.call(Some(&self.session), method, params)
    }

    pub fn navigate(&self, url: &str) -> Result<(), String> {
        self.call("Page.navigate", json!({ "url": url }))
            .map(|_| ())
    }

    /// The value of a JavaScript expression (promises awaited).
    pub fn eval(&self, expression: &str) -> Result<Value, String> {
        self.try_eval(expression)?
    }

    /// The protocol's error outside, the expression's exception inside.
    fn try_eval(&self, expression: &str) -> Result<Result<Value, String>, String> {
        let r = self.call(
            "Runtime.evaluate",
            json!({ "expression": expression, "returnByValue": true, "awaitPromise": true }),
        )?;
        if let Some(d) = r.get("exceptionDetails") {
            let short: String = expression.chars().take(80).collect();
            return Ok(Err(format!(
                "evaluating {short:?}: {}",
                d["exception"]["description"]
            )));
        }
        Ok(Ok(r["result"]["value"].clone()))
    }

    /// Polls `expression` until it is truthy (not null, false, 0 or ""); returns its value. An
    /// expression that throws is not there yet (the page may still be loading).
    pub fn wait(&self, what: &str, expression: &str, timeout: Duration) -> Result<Value, String> {
        let until = Instant::now() + timeout;
        let mut last = String::new();
        while Instant::now() < until {
            match self.try_eval(expression)? {
                Ok(v) if truthy(&v) => return Ok(v),
                Ok(v) => last = v.to_string(),
                Err(e) => last = e,
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Err(format!("waited {timeout:?} for {what}; last: {last}"))
    }

    pub fn resize(&self, width: u32, height: u32, scale: f64, mobile: bool) -> Result<(), String> {
        self.call(
            "Emulation.setDeviceMetricsOverride",
            json!({ "width": width, "height": height, "deviceScaleFactor": scale, "mobile": mobile }),
        )
        .map(|_| ())
    }

    /// A PNG of the whole page at `width` CSS pixels (at least `height` tall), into `path`.
    pub fn screenshot(
        &self,
        path: &Path,
        width: u32,
        height: u32,
        scale: f64,
        mobile: bool,
    ) -> Result<(), String> {
        self.resize(width, height, scale, mobile)?;
        // Two frames, so the new width is laid out before it is measured.
        self.eval(
            "new Promise(r => requestAnimationFrame(() => requestAnimationFrame(() => r(true))))",
        )?;
        let size = self.call("Page.getLayoutMetrics", json!({}))?;
        let full = size["cssContentSize"]["height"]
            .as_f64()
            .unwrap_or(0.0)
            .ceil();
        let shot = self.call(
            "Page.captureScreenshot",
            json!({
                "format": "png",
                "captureBeyondViewport": true,
                "clip": { "x": 0, "y": 0, "width": width, "height": full.max(f64::from(height)), "scale": 1 },
            }),
        )?;
        let png = base64::engine::general_purpose::STANDARD
            .decode(shot["data"].as_str().unwrap_or_default())
            .map_err(|e| format!("screenshot: {e}"))?;
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
        }
        std::fs::write(path, png).map_err(|e| format!("{}: {e}", path.display()))
    }
}

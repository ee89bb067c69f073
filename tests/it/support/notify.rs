//! systemd's side of `sd_notify`, as the tests listen to it: the datagram socket named by
//! `NOTIFY_SOCKET`. The daemon says READY=1 once its rooms run and its config watcher is up,
//! which no file or API shows; tests that edit the config wait for it. A thread drains the
//! socket: one left unread would block the daemon's sends once its queue is full.

use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub struct Notified {
    path: PathBuf,
    heard: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
}

impl Notified {
    /// Listens on a new socket at `path`.
    pub fn listen(path: PathBuf) -> Self {
        let _ = std::fs::remove_file(&path);
        let sock = UnixDatagram::bind(&path).expect("bind the notify socket");
        sock.set_read_timeout(Some(Duration::from_millis(100)))
            .unwrap();
        let heard: Arc<Mutex<Vec<String>>> = Arc::default();
        let stop: Arc<AtomicBool> = Arc::default();
        let (h, s) = (heard.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while !s.load(Ordering::Relaxed) {
                if let Ok(n) = sock.recv(&mut buf) {
                    let text = String::from_utf8_lossy(&buf[..n]).into_owned();
                    h.lock().unwrap().push(text);
                }
            }
        });
        Self { path, heard, stop }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether a message had the line `line` (such as `READY=1`).
    pub fn heard(&self, line: &str) -> bool {
        self.heard
            .lock()
            .unwrap()
            .iter()
            .any(|m| m.lines().any(|l| l == line))
    }
}

impl Notified {
    /// Whether a STATUS= line (what `systemctl status` shows) contained `text`.
    pub fn status_had(&self, text: &str) -> bool {
        self.heard.lock().unwrap().iter().any(|m| {
            m.lines()
                .any(|l| l.strip_prefix("STATUS=").is_some_and(|s| s.contains(text)))
        })
    }
}

impl Drop for Notified {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = std::fs::remove_file(&self.path);
    }
}

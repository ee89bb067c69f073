//! A real etcd for the cluster tests: started on free loopback ports with a temporary data
//! directory, paused, resumed, restarted on the same ports and data, killed on drop.

#![allow(dead_code)]

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use liverec::cluster::etcd::{Config, Credentials, EtcdClient};

pub struct Etcd {
    child: Option<Child>,
    pub url: String,
    peer_url: String,
    dir: tempfile::TempDir,
}

/// The etcd binary, if installed (Debian: `apt-get install etcd-server`).
pub fn etcd_binary() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/bin")])
        .map(|dir| dir.join("etcd"))
        .find(|p| p.is_file())
}

/// Starts an etcd, or returns `None` (after saying so) when the binary is not installed.
macro_rules! etcd_or_skip {
    () => {
        match $crate::support::etcd::Etcd::start().await {
            Some(etcd) => etcd,
            None => {
                eprintln!(
                    "SKIPPED: no `etcd` binary on this machine (apt-get install etcd-server)"
                );
                return;
            }
        }
    };
}
pub(crate) use etcd_or_skip;

pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("local addr").port()
}

impl Etcd {
    pub async fn start() -> Option<Self> {
        etcd_binary()?;
        let dir = tempfile::tempdir().expect("temp dir");
        let mut etcd = Self {
            child: None,
            url: format!("http://127.0.0.1:{}", free_port()),
            peer_url: format!("http://127.0.0.1:{}", free_port()),
            dir,
        };
        etcd.spawn().await;
        Some(etcd)
    }

    async fn spawn(&mut self) {
        let binary = etcd_binary().expect("etcd binary");
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.path().join("etcd.log"))
            .expect("etcd log file");
        let child = Command::new(binary)
            .args(["--name", "default"])
            .arg("--data-dir")
            .arg(self.dir.path().join("data"))
            .args(["--listen-client-urls", &self.url])
            .args(["--advertise-client-urls", &self.url])
            .args(["--listen-peer-urls", &self.peer_url])
            .args(["--initial-advertise-peer-urls", &self.peer_url])
            .args(["--initial-cluster", &format!("default={}", self.peer_url)])
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log fd"))
            .stderr(log)
            .spawn()
            .expect("start etcd");
        self.child = Some(child);
        self.wait_healthy().await;
    }

    async fn wait_healthy(&mut self) {
        let http = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(r) = http
                .get(format!("{}/health", self.url))
                .timeout(Duration::from_millis(500))
                .send()
                .await
            {
                if r.bytes()
                    .await
                    .is_ok_and(|t| t.windows(6).any(|w| w == b"\"true\""))
                {
                    return;
                }
            }
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                panic!("etcd exited ({status}):\n{}", self.log_tail());
            }
            assert!(
                Instant::now() < deadline,
                "etcd not healthy in 20 s:\n{}",
                self.log_tail()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(self.dir.path().join("etcd.log")).unwrap_or_default();
        let lines: Vec<_> = log.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }

    fn signal(&self, signal: i32) {
        let pid = self.child.as_ref().expect("etcd running").id();
        let pid = i32::try_from(pid).expect("pid");
        // SAFETY: kill(2) on our own child's pid, which we have not reaped yet.
        assert_eq!(
            unsafe { libc::kill(pid, signal) },
            0,
            "kill({pid}, {signal})"
        );
    }

    /// SIGSTOP: etcd keeps its sockets but answers nothing.
    pub fn pause(&self) {
        self.signal(libc::SIGSTOP);
    }

    pub fn resume(&self) {
        self.signal(libc::SIGCONT);
    }

    /// Stops etcd cleanly and starts it again on the same ports and data.
    pub async fn restart(&mut self) {
        self.signal(libc::SIGTERM);
        if let Some(mut child) = self.child.take() {
            child.wait().expect("wait for etcd");
        }
        self.spawn().await;
    }

    pub fn client(&self) -> EtcdClient {
        client(vec![self.url.clone()], None)
    }

    pub fn client_with(&self, credentials: Credentials) -> EtcdClient {
        client(vec![self.url.clone()], Some(credentials))
    }

    /// A gateway call the client does not offer (auth setup, compaction).
    pub async fn raw(
        &self,
        path: &str,
        body: serde_json::Value,
        token: Option<&str>,
    ) -> serde_json::Value {
        let mut request = reqwest::Client::new()
            .post(format!("{}{path}", self.url))
            .body(serde_json::to_vec(&body).expect("encode"));
        if let Some(token) = token {
            request = request.header("Authorization", token);
        }
        let response = request.send().await.expect("raw etcd call");
        let status = response.status();
        let bytes = response.bytes().await.expect("raw etcd answer");
        let value: serde_json::Value = serde_json::from_slice(&bytes).expect("raw etcd JSON");
        assert!(status.is_success(), "{path}: {status} {value}");
        value
    }
}

impl Drop for Etcd {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            // SIGKILL works on a stopped process too.
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

pub fn client(endpoints: Vec<String>, credentials: Option<Credentials>) -> EtcdClient {
    EtcdClient::new(Config {
        endpoints,
        request_timeout: Duration::from_secs(1),
        credentials,
    })
    .expect("client")
}

/// Polls `check` every 50 ms until it returns `Some`, or panics after `limit`.
pub async fn eventually<T, F, Fut>(what: &str, limit: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + limit;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A TCP proxy in front of etcd that can black-hole its traffic: while cut, bytes in both
/// directions are read and dropped (the connections stay open, as behind a dead switch); a
/// heal closes every connection of the cut so that clients start clean ones.
pub struct CutProxy {
    pub url: String,
    cut: std::sync::Arc<std::sync::atomic::AtomicBool>,
    epoch: std::sync::Arc<std::sync::atomic::AtomicU64>,
    task: tokio::task::JoinHandle<()>,
}

impl CutProxy {
    pub async fn start(target_url: &str) -> Self {
        use std::sync::Arc;
        use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
        let target: std::net::SocketAddr = target_url
            .trim_start_matches("http://")
            .parse()
            .expect("etcd url is http://ip:port");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let cut = Arc::new(AtomicBool::new(false));
        let epoch = Arc::new(AtomicU64::new(0));
        let (c, e) = (cut.clone(), epoch.clone());
        let task = tokio::spawn(async move {
            loop {
                let Ok((inbound, _)) = listener.accept().await else {
                    return;
                };
                let (cut, epoch) = (c.clone(), e.clone());
                tokio::spawn(async move {
                    let born = epoch.load(Ordering::SeqCst);
                    let (ri, wi) = inbound.into_split();
                    if cut.load(Ordering::SeqCst) {
                        pump(ri, None, cut, epoch, born).await;
                        return;
                    }
                    let Ok(outbound) = tokio::net::TcpStream::connect(target).await else {
                        return;
                    };
                    let (ro, wo) = outbound.into_split();
                    tokio::join!(
                        pump(ri, Some(wo), cut.clone(), epoch.clone(), born),
                        pump(ro, Some(wi), cut, epoch, born)
                    );
                });
            }
        });
        Self {
            url,
            cut,
            epoch,
            task,
        }
    }

    pub fn cut(&self) {
        self.cut.store(true, std::sync::atomic::Ordering::SeqCst);
    }

    pub fn heal(&self) {
        self.epoch.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.cut.store(false, std::sync::atomic::Ordering::SeqCst);
    }
}

impl Drop for CutProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: Option<tokio::net::tcp::OwnedWriteHalf>,
    cut: std::sync::Arc<std::sync::atomic::AtomicBool>,
    epoch: std::sync::Arc<std::sync::atomic::AtomicU64>,
    born: u64,
) {
    use std::sync::atomic::Ordering;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let read = tokio::time::timeout(Duration::from_millis(200), from.read(&mut buf)).await;
        if epoch.load(Ordering::SeqCst) != born && !cut.load(Ordering::SeqCst) {
            // Healed: this connection saw the cut; close it.
            return;
        }
        let n = match read {
            Err(_) => continue,
            Ok(Ok(0)) | Ok(Err(_)) => return,
            Ok(Ok(n)) => n,
        };
        if cut.load(Ordering::SeqCst) {
            continue;
        }
        if let Some(w) = to.as_mut() {
            if w.write_all(&buf[..n]).await.is_err() {
                return;
            }
        }
    }
}

//! Command hook attempts: the program runs with its argument list (no shell), the event JSON on
//! stdin and the `LIVEREC_*` environment, in a process group of its own. A timeout or a daemon
//! shutdown kills the whole group. Its output goes to the log line by line, tagged with the hook
//! and the room, up to [`LOG_CAP`] bytes per stream and attempt.

use std::os::unix::process::ExitStatusExt;
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::placeholders;
use crate::config::HookConfig;
use crate::event::Event;
use crate::util::units::format_duration;

/// Output of one stream (stdout or stderr) logged per attempt; the rest is counted, not logged.
pub(crate) const LOG_CAP: usize = 8 * 1024;
/// A longer output line is cut to this many bytes in the log.
const LINE_CAP: usize = 1024;
/// After the hook exits, its output pipes may be held open by a child it left running; they
/// are read for this much longer at most.
const DRAIN_GRACE: Duration = Duration::from_secs(2);

/// How an attempt ended.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Outcome {
    Success,
    /// The reason, for the log, the journal and `hook_failed`.
    Failed(String),
    /// The daemon is stopping: the attempt was killed and does not count.
    Cancelled,
}

/// Runs one attempt of `hook` for `event`.
pub(crate) async fn run(
    hook: &HookConfig,
    event: &Event,
    delivery: Uuid,
    attempt: u32,
    cancel: &CancellationToken,
) -> Outcome {
    let room = event.room.as_ref().map_or("-", |r| r.key.as_str());
    let argv = placeholders::argv(&hook.command, event);
    let Some((program, args)) = argv.split_first() else {
        return Outcome::Failed("the command is empty".into());
    };
    let mut cmd = tokio::process::Command::new(program);
    cmd.args(args)
        .envs(placeholders::env(event, &hook.name, delivery, attempt))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
            // The bare OS message does not say which permission; this is nearly always a
            // script that lost (or never had) its execute bit.
            return Outcome::Failed(format!(
                "cannot start {program:?}: {e}: it is not executable by liverec's user (chmod +x?)"
            ));
        }
        Err(e) => return Outcome::Failed(format!("cannot start {program:?}: {e}")),
    };
    let pid = child.id();
    tracing::debug!(hook = %hook.name, room, pid, attempt, "started {program:?}");

    let mut json = serde_json::to_vec(event).unwrap_or_default();
    json.push(b'\n');
    let stdin = child.stdin.take().map(|mut stdin| {
        tokio::spawn(async move {
            // A hook that does not read stdin closes it: that is fine.
            let _ = stdin.write_all(&json).await;
        })
    });
    let tag = Tag {
        hook: hook.name.clone(),
        room: room.to_string(),
    };
    let stdout = child
        .stdout
        .take()
        .map(|s| Pump::spawn(s, tag.clone(), Stream::Stdout));
    let stderr = child
        .stderr
        .take()
        .map(|s| Pump::spawn(s, tag, Stream::Stderr));

    let ended = tokio::select! {
        status = child.wait() => Ended::Exited(status),
        _ = tokio::time::sleep(hook.timeout) => Ended::TimedOut,
        _ = cancel.cancelled() => Ended::Cancelled,
    };
    if !matches!(ended, Ended::Exited(_)) {
        kill_group(pid);
        // Reap it (SIGKILL cannot be ignored; this returns at once).
        let _ = child.wait().await;
    }
    if let Some(t) = stdin {
        t.abort();
    }
    let mut last_err = String::new();
    for pump in [stdout, stderr].into_iter().flatten() {
        if let Some(line) = pump.finish().await {
            last_err = line;
        }
    }
    match ended {
        Ended::Exited(Ok(status)) if status.success() => Outcome::Success,
        Ended::Exited(Ok(status)) => {
            let mut why = describe_exit(status);
            if !last_err.is_empty() {
                why = format!("{why}: {last_err}");
            }
            Outcome::Failed(why)
        }
        Ended::Exited(Err(e)) => Outcome::Failed(format!("cannot wait for the hook: {e}")),
        Ended::TimedOut => Outcome::Failed(format!(
            "timed out after {}; its process group was killed",
            format_duration(hook.timeout)
        )),
        Ended::Cancelled => Outcome::Cancelled,
    }
}

enum Ended {
    Exited(std::io::Result<ExitStatus>),
    TimedOut,
    Cancelled,
}

fn describe_exit(status: ExitStatus) -> String {
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exited with status {code}"),
        (None, Some(sig)) => format!("killed by signal {sig}"),
        _ => format!("ended with {status}"),
    }
}

/// Kills the process group the hook leads (it was started with `process_group(0)`, so its
/// group id is its pid): the hook and everything it started that stayed in its group.
fn kill_group(pid: Option<u32>) {
    let Some(pid) = pid.and_then(|p| i32::try_from(p).ok()).filter(|p| *p > 1) else {
        return;
    };
    // SAFETY: killpg has no memory effects; the group is the one our child leads, and the child
    // is not reaped yet, so its pid (= group id) cannot have been reused.
    unsafe {
        libc::killpg(pid, libc::SIGKILL);
    }
}

#[derive(Clone)]
struct Tag {
    hook: String,
    room: String,
}

#[derive(Clone, Copy, PartialEq)]
enum Stream {
    Stdout,
    Stderr,
}

/// Reads one output stream of a hook into the log.
struct Pump {
    task: tokio::task::JoinHandle<()>,
    /// The last non-empty line (stderr's becomes part of a failure reason).
    last: Arc<Mutex<String>>,
}

impl Pump {
    fn spawn<R: AsyncRead + Unpin + Send + 'static>(reader: R, tag: Tag, stream: Stream) -> Self {
        let last = Arc::new(Mutex::new(String::new()));
        let task = tokio::spawn(pump(reader, tag, stream, last.clone()));
        Self { task, last }
    }

    /// Waits a little for the rest of the output, then gives the last line (stderr only).
    async fn finish(mut self) -> Option<String> {
        if tokio::time::timeout(DRAIN_GRACE, &mut self.task)
            .await
            .is_err()
        {
            self.task.abort();
        }
        let last = self.last.lock().map(|l| l.clone()).unwrap_or_default();
        (!last.is_empty()).then_some(last)
    }
}

async fn pump<R: AsyncRead + Unpin>(
    mut reader: R,
    tag: Tag,
    stream: Stream,
    last: Arc<Mutex<String>>,
) {
    let mut logged = 0usize;
    let mut dropped = 0usize;
    let mut line: Vec<u8> = Vec::new();
    let mut cut = false;
    let mut buf = vec![0u8; 8192];
    let mut emit = |line: &mut Vec<u8>, cut: &mut bool| {
        let text = clean(line, *cut);
        line.clear();
        *cut = false;
        if text.trim().is_empty() {
            return;
        }
        if stream == Stream::Stderr {
            if let Ok(mut l) = last.lock() {
                *l = text.chars().take(300).collect();
            }
        }
        if logged >= LOG_CAP {
            dropped += text.len() + 1;
            return;
        }
        logged += text.len() + 1;
        match stream {
            Stream::Stdout => {
                tracing::info!(hook = %tag.hook, room = %tag.room, "hook stdout: {text}")
            }
            Stream::Stderr => {
                tracing::warn!(hook = %tag.hook, room = %tag.room, "hook stderr: {text}")
            }
        }
    };
    loop {
        let n = match reader.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        for &b in &buf[..n] {
            if b == b'\n' || b == b'\r' {
                emit(&mut line, &mut cut);
            } else if line.len() < LINE_CAP {
                line.push(b);
            } else {
                cut = true;
            }
        }
    }
    emit(&mut line, &mut cut);
    if dropped > 0 {
        let what = match stream {
            Stream::Stdout => "stdout",
            Stream::Stderr => "stderr",
        };
        tracing::info!(
            hook = %tag.hook,
            room = %tag.room,
            "hook {what}: {dropped} more bytes not logged (cap {LOG_CAP} bytes per attempt)"
        );
    }
}

/// A log-safe line: lossy UTF-8, control characters replaced, a mark when it was cut.
fn clean(line: &[u8], cut: bool) -> String {
    let mut s: String = String::from_utf8_lossy(line)
        .chars()
        .map(|c| {
            if c.is_control() && c != '\t' {
                '\u{fffd}'
            } else {
                c
            }
        })
        .collect();
    if cut {
        s.push_str(" [line cut]");
    }
    s
}

#[cfg(test)]
mod tests;

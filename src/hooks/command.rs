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
mod tests {
    use super::*;
    use crate::config::{HOOK_FIELDS, TIME_FIELDS};
    use crate::event::{EventType, RoomRef};
    use crate::template::Template;

    fn hook(dir: &std::path::Path, script: &str, timeout: Duration) -> HookConfig {
        let path = dir.join("hook.sh");
        std::fs::write(&path, format!("#!/bin/sh\n{script}\n")).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        let args = [path.to_str().unwrap(), "{title}", "{type}"];
        HookConfig {
            name: "t".into(),
            events: vec![EventType::LiveStart],
            command: args
                .iter()
                .map(|a| Template::parse(a, HOOK_FIELDS, TIME_FIELDS).unwrap())
                .collect(),
            timeout,
            retries: 0,
            window: None,
            concurrency: 1,
            rooms: vec![],
        }
    }

    fn event(title: &str) -> Event {
        Event::new(
            EventType::LiveStart,
            Some(RoomRef {
                key: "direct:1".into(),
                platform: "direct".into(),
                id: "1".into(),
                name: "n".into(),
                url: "u".into(),
                streamer: "s".into(),
                title: title.into(),
            }),
        )
    }

    #[tokio::test]
    async fn arguments_stdin_and_environment_reach_the_program() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        let script = format!(
            "printf '%s\\n' \"$#\" \"$1\" \"$2\" \"$LIVEREC_EVENT_TYPE\" \"$LIVEREC_ROOM\" \"$LIVEREC_ATTEMPT\" > {o}\ncat > {o}.json",
            o = out.display()
        );
        let h = hook(dir.path(), &script, Duration::from_secs(10));
        let title = "x $(touch pwned); y";
        let got = run(&h, &event(title), Uuid::nil(), 3, &CancellationToken::new()).await;
        assert_eq!(got, Outcome::Success);
        let text = std::fs::read_to_string(&out).unwrap();
        assert_eq!(
            text,
            format!("2\n{title}\nlive_start\nlive_start\ndirect:1\n3\n")
        );
        let json: serde_json::Value =
            serde_json::from_slice(&std::fs::read(format!("{}.json", out.display())).unwrap())
                .unwrap();
        assert_eq!(json["room"]["title"], title);
        assert!(!std::path::Path::new("pwned").exists());
    }

    #[tokio::test]
    async fn a_failing_exit_gives_the_status_and_last_stderr_line() {
        let dir = tempfile::tempdir().unwrap();
        let h = hook(
            dir.path(),
            "echo progress; echo 'quota exceeded' >&2; exit 3",
            Duration::from_secs(10),
        );
        let got = run(&h, &event("t"), Uuid::nil(), 1, &CancellationToken::new()).await;
        assert_eq!(
            got,
            Outcome::Failed("exited with status 3: quota exceeded".into())
        );
    }

    #[tokio::test]
    async fn a_missing_program_is_a_failed_attempt() {
        let dir = tempfile::tempdir().unwrap();
        let mut h = hook(dir.path(), "true", Duration::from_secs(10));
        h.command[0] = Template::parse("/no/such/program", HOOK_FIELDS, TIME_FIELDS).unwrap();
        let Outcome::Failed(why) =
            run(&h, &event("t"), Uuid::nil(), 1, &CancellationToken::new()).await
        else {
            panic!("must fail");
        };
        assert!(why.contains("cannot start \"/no/such/program\""), "{why}");
    }

    #[tokio::test]
    async fn a_timeout_kills_the_whole_group() {
        let dir = tempfile::tempdir().unwrap();
        let pidfile = dir.path().join("child.pid");
        let script = format!("sleep 600 &\necho $! > {}\nsleep 600", pidfile.display());
        let h = hook(dir.path(), &script, Duration::from_millis(500));
        let started = std::time::Instant::now();
        let got = run(&h, &event("t"), Uuid::nil(), 1, &CancellationToken::new()).await;
        assert!(started.elapsed() < Duration::from_secs(5));
        let Outcome::Failed(why) = got else {
            panic!("{got:?}")
        };
        assert!(why.contains("timed out after"), "{why}");
        let child: i32 = std::fs::read_to_string(&pidfile)
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        // The background child got SIGKILL too (it may linger as a zombie until reaped by init).
        let gone = (0..50).any(|_| {
            std::thread::sleep(Duration::from_millis(20));
            match std::fs::read_to_string(format!("/proc/{child}/stat")) {
                Err(_) => true,
                Ok(stat) => stat
                    .rsplit(')')
                    .next()
                    .is_some_and(|s| s.trim_start().starts_with('Z')),
            }
        });
        assert!(gone, "the hook's child {child} survived the timeout");
    }

    #[tokio::test]
    async fn cancelling_kills_and_does_not_count() {
        let dir = tempfile::tempdir().unwrap();
        let h = hook(dir.path(), "sleep 600", Duration::from_secs(600));
        let cancel = CancellationToken::new();
        let c = cancel.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(200)).await;
            c.cancel();
        });
        assert_eq!(
            run(&h, &event("t"), Uuid::nil(), 1, &cancel).await,
            Outcome::Cancelled
        );
    }

    /// Log lines written while the guard lives on this thread (tests run the hook on a
    /// current-thread runtime, so the output pumps log here too).
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
        type Writer = Captured;
        fn make_writer(&'a self) -> Self::Writer {
            self.clone()
        }
    }

    impl Captured {
        fn start() -> (Self, tracing::subscriber::DefaultGuard) {
            let c = Captured::default();
            let subscriber = tracing_subscriber::fmt()
                .with_writer(c.clone())
                .with_ansi(false)
                .with_max_level(tracing::Level::INFO)
                .finish();
            (c, tracing::subscriber::set_default(subscriber))
        }

        fn lines(&self) -> Vec<String> {
            String::from_utf8_lossy(&self.0.lock().unwrap())
                .lines()
                .map(String::from)
                .collect()
        }
    }

    #[tokio::test]
    async fn output_is_logged_tagged_and_capped_per_stream() {
        let (log, _guard) = Captured::start();
        let dir = tempfile::tempdir().unwrap();
        // "hello" (6 bytes with its newline), then 200 lines of 100 bytes on stdout; one line
        // on stderr; a 2000-byte line on stderr that is cut.
        let script = "echo hello\n\
             i=0; while [ $i -lt 200 ]; do printf '%099d\\n' $i; i=$((i+1)); done\n\
             echo 'warning: slow' >&2\n\
             printf '%02000d\\n' 7 >&2";
        let h = hook(dir.path(), script, Duration::from_secs(10));
        let got = run(&h, &event("t"), Uuid::nil(), 1, &CancellationToken::new()).await;
        assert_eq!(got, Outcome::Success);
        let lines = log.lines();
        let tagged = |l: &&String| l.contains("hook=t") && l.contains("room=direct:1");
        let stdout: Vec<&String> = lines
            .iter()
            .filter(|l| l.contains("hook stdout: "))
            .collect();
        assert!(stdout.iter().all(tagged), "{stdout:?}");
        assert!(stdout.iter().all(|l| l.contains(" INFO ")), "{stdout:?}");
        // The fmt layer writes the fields after the message.
        assert!(
            stdout[0].contains("hook stdout: hello hook=t room=direct:1"),
            "{}",
            stdout[0]
        );
        // Lines are logged while under the cap: 6 + 100 * 81 < 8192, so 82 numbered lines.
        let numbered = stdout
            .iter()
            .filter(|l| !l.contains("hello") && !l.contains("not logged"))
            .count();
        assert_eq!(numbered, 82);
        let has = |n: u32| {
            let want = format!("{n:099} hook=t");
            stdout.iter().any(|l| l.contains(&want))
        };
        assert!(has(81) && !has(82));
        let more: Vec<&&String> = stdout.iter().filter(|l| l.contains("not logged")).collect();
        assert_eq!(more.len(), 1, "{more:?}");
        assert!(
            more[0].contains(
                "hook stdout: 11800 more bytes not logged (cap 8192 bytes per attempt) hook=t"
            ),
            "{}",
            more[0]
        );
        let stderr: Vec<&String> = lines
            .iter()
            .filter(|l| l.contains("hook stderr: "))
            .collect();
        assert_eq!(stderr.len(), 2, "{stderr:?}");
        assert!(stderr.iter().all(tagged) && stderr.iter().all(|l| l.contains(" WARN ")));
        assert!(stderr[0].contains("hook stderr: warning: slow hook=t"));
        assert!(
            stderr[1].contains(&format!("{} [line cut] hook=t", "0".repeat(LINE_CAP))),
            "{}",
            stderr[1]
        );
    }

    #[tokio::test]
    async fn a_program_that_is_not_executable_says_so() {
        let dir = tempfile::tempdir().unwrap();
        let h = hook(dir.path(), "exit 0", Duration::from_secs(10));
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(
            dir.path().join("hook.sh"),
            std::fs::Permissions::from_mode(0o644),
        )
        .unwrap();
        let Outcome::Failed(why) =
            run(&h, &event("t"), Uuid::nil(), 1, &CancellationToken::new()).await
        else {
            panic!("must fail");
        };
        assert!(
            why.contains("hook.sh\": Permission denied") && why.contains("not executable"),
            "{why}"
        );
    }

    #[test]
    fn output_lines_are_made_log_safe() {
        assert_eq!(clean(b"a\x1b[31mb\tc", false), "a\u{fffd}[31mb\tc");
        assert_eq!(clean(b"\xffok", true), "\u{fffd}ok [line cut]");
    }
}

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
        serde_json::from_slice(&std::fs::read(format!("{}.json", out.display())).unwrap()).unwrap();
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
    let started = dir.path().join("started");
    let script = format!("touch {}\nsleep 600", started.display());
    let h = hook(dir.path(), &script, Duration::from_secs(600));
    let cancel = CancellationToken::new();
    let c = cancel.clone();
    // Cancelled once the hook runs (its file says so), not after a guessed delay.
    tokio::spawn(async move {
        while !started.exists() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
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

//! The dispatcher in-process: real command hooks (small shell scripts, run without a shell by
//! the dispatcher), a fake clock for windows, short backoffs.
//!
//! Real time, not tokio's paused clock: these tests run real processes and sockets, and a paused
//! clock jumps ahead whenever every task waits on one of them, so a hook's `timeout` would fire
//! while its script runs. They wait for effects (the dispatcher's stats, files the scripts write,
//! [`Dispatcher::nudge`] answering once it looked again), never for a fixed time.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex as StdMutex;
use std::time::Duration;

use super::*;
use crate::config::{HOOK_FIELDS, TIME_FIELDS, Window};
use crate::event::{EventTx, EventType, RoomRef};
use crate::template::Template;

struct FakeClock(Arc<StdMutex<NaiveTime>>);

impl FakeClock {
    fn at(h: u32, m: u32) -> Self {
        Self(Arc::new(StdMutex::new(
            NaiveTime::from_hms_opt(h, m, 0).unwrap(),
        )))
    }

    fn set(&self, h: u32, m: u32) {
        *self.0.lock().unwrap() = NaiveTime::from_hms_opt(h, m, 0).unwrap();
    }

    fn clock(&self) -> Clock {
        let t = self.0.clone();
        Arc::new(move || *t.lock().unwrap())
    }
}

/// A hook running `script` (a /bin/sh script) with `{title}` as its argument.
fn hook(dir: &Path, name: &str, events: &[EventType], script: &str) -> HookConfig {
    let path = dir.join(format!("{name}.sh"));
    std::fs::write(&path, format!("#!/bin/sh\n{script}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    HookConfig {
        name: name.into(),
        events: events.to_vec(),
        command: [path.to_str().unwrap(), "{title}"]
            .iter()
            .map(|a| Template::parse(a, HOOK_FIELDS, TIME_FIELDS).unwrap())
            .collect(),
        timeout: Duration::from_secs(10),
        retries: 0,
        window: None,
        concurrency: 1,
        rooms: vec![],
    }
}

fn event(kind: EventType, room: &str, title: &str) -> Event {
    Event::new(
        kind,
        Some(RoomRef {
            key: format!("direct:{room}"),
            platform: "direct".into(),
            id: room.into(),
            name: room.into(),
            url: String::new(),
            streamer: String::new(),
            title: title.into(),
        }),
    )
}

struct Harness {
    dir: tempfile::TempDir,
    tx: EventTx,
    d: Dispatcher,
}

fn options(dir: &Path, hooks: Vec<HookConfig>, clock: Clock) -> Options {
    Options {
        state_dir: dir.join("state"),
        hooks,
        webhooks: vec![],
        notify: vec![],
        backoff: Backoff {
            base: Duration::from_millis(50),
            cap: Duration::from_millis(400),
        },
        clock,
        intents: None,
    }
}

impl Harness {
    fn start(dir: tempfile::TempDir, hooks: Vec<HookConfig>, clock: Clock) -> Self {
        Self::start_with(dir, hooks, vec![], clock)
    }

    fn start_with(
        dir: tempfile::TempDir,
        hooks: Vec<HookConfig>,
        webhooks: Vec<WebhookConfig>,
        clock: Clock,
    ) -> Self {
        Self::start_opts(dir, |o| o.webhooks = webhooks, hooks, clock)
    }

    fn start_opts(
        dir: tempfile::TempDir,
        tweak: impl FnOnce(&mut Options),
        hooks: Vec<HookConfig>,
        clock: Clock,
    ) -> Self {
        std::fs::create_dir_all(dir.path().join("state")).unwrap();
        journal_released(&dir.path().join("state"));
        let (tx, rx) = EventTx::channel();
        let mut opts = options(dir.path(), hooks, clock);
        tweak(&mut opts);
        let d = Dispatcher::start(opts, rx).unwrap();
        Self { dir, tx, d }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn lines(&self, name: &str) -> Vec<String> {
        std::fs::read_to_string(self.path(name))
            .unwrap_or_default()
            .lines()
            .map(String::from)
            .collect()
    }

    async fn send(&self, e: Event) {
        self.tx.emit(e);
    }

    fn stats(&self, name: &str) -> TargetStats {
        self.d
            .stats()
            .into_iter()
            .find(|s| s.name == name)
            .unwrap_or_else(|| panic!("no stats for {name}"))
    }

    async fn stop(self) -> tempfile::TempDir {
        self.d
            .shutdown(Instant::now() + Duration::from_secs(5))
            .await;
        self.dir
    }
}

impl Harness {
    /// Waits (generously: the machine may be busy) until `cond` holds; on a timeout, fails with
    /// the dispatcher's counters.
    async fn wait(&self, what: &str, mut cond: impl FnMut() -> bool) {
        for _ in 0..600 {
            if cond() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("timed out waiting for {what}: {:?}", self.d.stats());
    }
}

/// Waits until no one holds the journal in `state` (a stopped dispatcher's lock can outlive it
/// for a moment: a process another test forks at that time holds a copy of the lock's file
/// until it execs). Opening it while held would open the next free journal instead.
fn journal_released(state: &Path) {
    use fs2::FileExt as _;
    let path = state.join("hooks.journal.lock");
    for _ in 0..500 {
        let Ok(f) = std::fs::File::open(&path) else {
            return;
        };
        if f.try_lock_exclusive().is_ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!("{} stays locked", path.display());
}

fn pending_in_journal(state: &Path) -> usize {
    journal_released(state);
    let (j, p) = Journal::open(state).unwrap();
    drop(j);
    p.len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_window_holds_deliveries_until_the_fake_clock_enters_it() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let mut h = hook(
        dir.path(),
        "night",
        &[EventType::SegmentComplete],
        &format!("echo \"$1\" >> {}", out.display()),
    );
    h.window = Some(Window::parse("23:30-01:00").unwrap());
    let clock = FakeClock::at(22, 0);
    let t = Harness::start(dir, vec![h], clock.clock());
    t.send(event(EventType::SegmentComplete, "a", "one")).await;
    t.send(event(EventType::SegmentComplete, "b", "two")).await;
    let held = |s: TargetStats| (s.pending, s.waiting_window, s.running) == (2, 2, 0);
    t.wait("two deliveries held by the window", || {
        held(t.stats("night"))
    })
    .await;
    assert!(t.lines("out").is_empty(), "ran outside its window");

    // Still closed a minute before; open after midnight (the window crosses it).
    clock.set(23, 29);
    t.d.nudge().await;
    assert!(held(t.stats("night")), "{:?}", t.stats("night"));
    assert!(t.lines("out").is_empty());
    clock.set(0, 15);
    t.d.nudge().await;
    t.wait("both deliveries", || t.lines("out").len() == 2)
        .await;
    let mut got = t.lines("out");
    got.sort();
    assert_eq!(got, ["one", "two"]);
    t.wait("stats", || t.stats("night").succeeded == 2).await;
    assert_eq!(t.stats("night").pending, 0);
    let dir = t.stop().await;
    assert_eq!(pending_in_journal(&dir.path().join("state")), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_rooms_deliveries_run_in_order_and_concurrency_caps_runs() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log");
    let running = dir.path().join("running");
    // Records start/end per delivery and the most runs seen at once.
    std::fs::create_dir(&running).unwrap();
    let script = format!(
        "echo \"$LIVEREC_ROOM start $1\" >> {log}\n\
         touch {running}/$$\n\
         ls {running} | wc -l >> {log}.max\n\
         sleep 0.2\n\
         rm {running}/$$\n\
         echo \"$LIVEREC_ROOM end $1\" >> {log}",
        log = log.display(),
        running = running.display()
    );
    let mut h = hook(
        dir.path(),
        "ordered",
        &[EventType::SegmentComplete],
        &script,
    );
    h.concurrency = 2;
    let t = Harness::start(dir, vec![h], local_clock());
    for n in 1..=3 {
        for room in ["a", "b", "c"] {
            t.send(event(EventType::SegmentComplete, room, &n.to_string()))
                .await;
        }
    }
    t.wait("nine deliveries", || {
        t.lines("log")
            .iter()
            .filter(|l| l.contains(" end "))
            .count()
            == 9
    })
    .await;
    let lines = t.lines("log");
    for room in ["a", "b", "c"] {
        let mine: Vec<&str> = lines
            .iter()
            .filter(|l| l.starts_with(&format!("direct:{room} ")))
            .map(|l| l.split_once(' ').unwrap().1)
            .collect();
        assert_eq!(
            mine,
            ["start 1", "end 1", "start 2", "end 2", "start 3", "end 3"],
            "room {room}: {lines:?}"
        );
    }
    let most = t
        .lines("log.max")
        .iter()
        .map(|l| l.trim().parse::<usize>().unwrap())
        .max()
        .unwrap();
    assert!(most <= 2, "{most} runs at once with concurrency 2");
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hook_failed_goes_to_other_subscribers_only_and_never_loops() {
    let dir = tempfile::tempdir().unwrap();
    let a_log = dir.path().join("a");
    let b_log = dir.path().join("b");
    // Both fail, both subscribe to hook_failed.
    let mut a = hook(
        dir.path(),
        "a",
        &[EventType::LiveStart, EventType::HookFailed],
        &format!(
            "echo \"$LIVEREC_EVENT_TYPE $LIVEREC_ATTEMPT\" >> {}; exit 1",
            a_log.display()
        ),
    );
    a.retries = 2;
    let b = hook(
        dir.path(),
        "b",
        &[EventType::HookFailed],
        // The event JSON on stdin ends with a newline.
        &format!("cat >> {}; exit 7", b_log.display()),
    );
    let t = Harness::start(dir, vec![a, b], local_clock());
    t.send(event(EventType::LiveStart, "r", "t")).await;
    t.wait("b's delivery given up", || t.stats("b").gave_up == 1)
        .await;
    // Settled: nothing pending or running, so nothing more can run.
    t.wait("nothing left to run", || {
        [t.stats("a"), t.stats("b")]
            .iter()
            .all(|s| s.pending == 0 && s.running == 0)
    })
    .await;
    // a: three attempts at live_start, never its own hook_failed, nor b's (b failed on a
    // hook_failed, which raises nothing).
    assert_eq!(
        t.lines("a"),
        ["live_start 1", "live_start 2", "live_start 3"]
    );
    let s = t.stats("a");
    assert_eq!((s.attempts_failed, s.gave_up, s.pending), (3, 1, 0));
    let b_lines = t.lines("b");
    assert_eq!(b_lines.len(), 1, "{b_lines:?}");
    let failed: Event = serde_json::from_str(&b_lines[0]).unwrap();
    assert_eq!(failed.kind, EventType::HookFailed);
    assert_eq!(failed.room.as_ref().unwrap().key, "direct:r");
    let hook = failed.hook.unwrap();
    assert_eq!(
        (hook.name.as_str(), hook.event, hook.attempts),
        ("a", EventType::LiveStart, 3)
    );
    assert!(
        failed
            .error
            .as_deref()
            .unwrap()
            .contains("exited with status 1"),
        "{:?}",
        failed.error
    );
    // The recent events (GET /api/events) hold the event and the hook_failed, in order.
    let kinds: Vec<EventType> = t.d.recent().into_iter().map(|e| e.kind).collect();
    assert_eq!(kinds, [EventType::LiveStart, EventType::HookFailed]);
    let dir = t.stop().await;
    assert_eq!(pending_in_journal(&dir.path().join("state")), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_removed_hook_is_parked_by_a_reload_and_resumes_when_it_comes_back() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let closed = Window::parse("03:00-04:00").unwrap();
    let mut keep = hook(
        dir.path(),
        "keep",
        &[EventType::SegmentComplete],
        &format!("echo \"keep $1\" >> {}", out.display()),
    );
    keep.window = Some(closed);
    let mut gone = hook(
        dir.path(),
        "gone",
        &[EventType::SegmentComplete],
        &format!("echo \"gone $1\" >> {}", out.display()),
    );
    gone.window = Some(closed);
    let t = Harness::start(
        dir,
        vec![keep.clone(), gone.clone()],
        FakeClock::at(12, 0).clock(),
    );
    t.send(event(EventType::SegmentComplete, "a", "1")).await;
    t.send(event(EventType::SegmentComplete, "a", "2")).await;
    t.wait("pending", || {
        t.stats("keep").pending == 2 && t.stats("gone").pending == 2
    })
    .await;
    // A reload that caught a half-written (empty) config: no hook at all. Nothing is lost.
    t.d.reconfigure(crate::hooks::Targets {
        hooks: vec![],
        ..Default::default()
    });
    t.wait("both parked", || {
        t.stats("keep").parked && t.stats("gone").parked
    })
    .await;
    assert_eq!((t.stats("keep").pending, t.stats("gone").pending), (2, 2));
    // The next reload brings "keep" back (its window open now), but not "gone".
    keep.window = None;
    t.d.reconfigure(crate::hooks::Targets {
        hooks: vec![keep.clone()],
        ..Default::default()
    });
    t.wait("keep's deliveries", || t.lines("out").len() == 2)
        .await;
    assert_eq!(t.lines("out"), ["keep 1", "keep 2"]);
    t.wait("keep done", || t.stats("keep").succeeded == 2).await;
    // Looked at again: the parked deliveries stay where they are.
    t.d.nudge().await;
    let g = t.stats("gone");
    assert!(g.parked && g.pending == 2 && g.running == 0, "{g:?}");
    assert_eq!(t.lines("out").len(), 2, "a parked delivery ran");
    // "gone" comes back: its deliveries run, in order.
    gone.window = None;
    t.d.reconfigure(crate::hooks::Targets {
        hooks: vec![keep, gone],
        ..Default::default()
    });
    t.wait("gone's deliveries", || t.lines("out").len() == 4)
        .await;
    assert_eq!(t.lines("out")[2..], ["gone 1", "gone 2"]);
    t.wait("gone done", || t.stats("gone").succeeded == 2).await;
    assert!(!t.stats("gone").parked);
    let dir = t.stop().await;
    assert_eq!(pending_in_journal(&dir.path().join("state")), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deliveries_of_a_hook_missing_at_start_up_are_parked_not_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let mut h = hook(
        dir.path(),
        "upload",
        &[EventType::LiveEnd],
        &format!("echo \"$1\" >> {}", out.display()),
    );
    h.window = Some(Window::parse("02:00-03:00").unwrap());
    let t = Harness::start(dir, vec![h.clone()], FakeClock::at(12, 0).clock());
    for n in 1..=2 {
        t.send(event(EventType::LiveEnd, "a", &n.to_string())).await;
    }
    t.wait("pending", || t.stats("upload").pending == 2).await;
    let dir = t.stop().await;

    // Started with a config that lacks the hook: parked, still in the journal after a stop.
    let t = Harness::start(dir, vec![], local_clock());
    let s = t.stats("upload");
    assert!(s.parked && s.pending == 2, "{s:?}");
    let dir = t.stop().await;
    assert_eq!(pending_in_journal(&dir.path().join("state")), 2);

    // A reload that adds it back runs them, in order.
    let t = Harness::start(dir, vec![], local_clock());
    h.window = None;
    t.d.reconfigure(crate::hooks::Targets {
        hooks: vec![h],
        ..Default::default()
    });
    t.wait("resumed deliveries", || t.lines("out").len() == 2)
        .await;
    assert_eq!(t.lines("out"), ["1", "2"]);
    t.wait("done", || t.stats("upload").succeeded == 2).await;
    let dir = t.stop().await;
    assert_eq!(pending_in_journal(&dir.path().join("state")), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pending_deliveries_survive_a_restart_and_run_once() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let mut h = hook(
        dir.path(),
        "later",
        &[EventType::LiveEnd],
        &format!("echo \"$1\" >> {}", out.display()),
    );
    h.window = Some(Window::parse("02:00-03:00").unwrap());
    let clock = FakeClock::at(12, 0);
    let t = Harness::start(dir, vec![h.clone()], clock.clock());
    for n in 1..=3 {
        t.send(event(EventType::LiveEnd, "a", &n.to_string())).await;
    }
    t.wait("pending", || t.stats("later").pending == 3).await;
    let dir = t.stop().await;
    assert_eq!(pending_in_journal(&dir.path().join("state")), 3);

    clock.set(2, 30);
    let t = Harness::start(dir, vec![h], clock.clock());
    t.wait("resumed deliveries", || t.lines("out").len() == 3)
        .await;
    assert_eq!(t.lines("out"), ["1", "2", "3"]);
    t.wait("all done", || {
        let s = t.stats("later");
        s.succeeded == 3 && s.pending == 0 && s.running == 0
    })
    .await;
    assert_eq!(t.lines("out").len(), 3, "each runs once");
    let dir = t.stop().await;
    assert_eq!(pending_in_journal(&dir.path().join("state")), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_kills_a_running_hook_at_the_deadline_and_keeps_it_pending() {
    let dir = tempfile::tempdir().unwrap();
    let h = hook(dir.path(), "slow", &[EventType::LiveStart], "sleep 600");
    let t = Harness::start(dir, vec![h], local_clock());
    t.send(event(EventType::LiveStart, "a", "t")).await;
    t.wait("running", || t.stats("slow").running == 1).await;
    let started = std::time::Instant::now();
    let dir = {
        t.d.shutdown(Instant::now() + Duration::from_millis(300))
            .await;
        t.dir
    };
    assert!(started.elapsed() < Duration::from_secs(4));
    assert_eq!(pending_in_journal(&dir.path().join("state")), 1);
}

/// A hook that writes each `hook_failed` event it gets (stdin) to `<dir>/alarm`.
fn alarm(dir: &Path) -> HookConfig {
    hook(
        dir,
        "alarm",
        &[EventType::HookFailed],
        &format!("cat >> {}", dir.join("alarm").display()),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hook_program_that_is_not_executable_fails_each_attempt_then_raises_hook_failed() {
    let dir = tempfile::tempdir().unwrap();
    let mut h = hook(dir.path(), "noexec", &[EventType::LiveStart], "exit 0");
    std::fs::set_permissions(
        dir.path().join("noexec.sh"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    h.retries = 1;
    let a = alarm(dir.path());
    let t = Harness::start(dir, vec![h, a], local_clock());
    t.send(event(EventType::LiveStart, "r", "t")).await;
    t.wait("hook_failed delivered", || !t.lines("alarm").is_empty())
        .await;
    let s = t.stats("noexec");
    assert_eq!((s.attempts_failed, s.gave_up, s.succeeded), (2, 1, 0));
    let failed: Event = serde_json::from_str(&t.lines("alarm")[0]).unwrap();
    assert_eq!(failed.kind, EventType::HookFailed);
    let why = failed.error.unwrap();
    assert!(
        why.contains("hook \"noexec\" gave up on live_start after 2 attempt(s)")
            && why.contains("noexec.sh\": Permission denied")
            && why.contains("not executable"),
        "{why}"
    );
    assert_eq!(failed.hook.unwrap().attempts, 2);
    t.wait("alarm done", || t.stats("alarm").succeeded == 1)
        .await;
    let dir = t.stop().await;
    assert_eq!(pending_in_journal(&dir.path().join("state")), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_that_answers_500_forever_gives_up_and_raises_hook_failed() {
    use axum::http::{HeaderMap, StatusCode};
    let deliveries: Arc<StdMutex<Vec<String>>> = Arc::default();
    let seen = deliveries.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap| {
            let seen = seen.clone();
            async move {
                let id = headers
                    .get("x-liverec-delivery")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_string();
                seen.lock().unwrap().push(id);
                StatusCode::INTERNAL_SERVER_ERROR
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });

    let dir = tempfile::tempdir().unwrap();
    let w = WebhookConfig {
        name: "broken".into(),
        url: format!("http://{addr}/hook"),
        events: vec![EventType::SegmentComplete],
        secret: None,
        timeout: Duration::from_secs(5),
        retries: 2,
        window: None,
        rooms: vec![],
    };
    let a = alarm(dir.path());
    let t = Harness::start_with(dir, vec![a], vec![w], local_clock());
    t.send(event(EventType::SegmentComplete, "r", "t")).await;
    t.wait("hook_failed delivered", || !t.lines("alarm").is_empty())
        .await;
    let ids = deliveries.lock().unwrap().clone();
    assert_eq!(ids.len(), 3, "one attempt and two retries: {ids:?}");
    assert!(
        !ids[0].is_empty() && ids.iter().all(|i| *i == ids[0]),
        "one delivery id on every attempt: {ids:?}"
    );
    let s = t.stats("broken");
    assert_eq!((s.attempts_failed, s.gave_up, s.pending), (3, 1, 0));
    let failed: Event = serde_json::from_str(&t.lines("alarm")[0]).unwrap();
    let why = failed.error.unwrap();
    assert!(
        why.contains("gave up on segment_complete after 3 attempt(s): answered HTTP 500 Internal Server Error"),
        "{why}"
    );
    let hook = failed.hook.unwrap();
    assert_eq!((hook.name.as_str(), hook.attempts), ("broken", 3));
    assert_eq!(hook.delivery.to_string(), ids[0]);
    // Nothing pending (above): no attempt can follow.
    assert_eq!(
        deliveries.lock().unwrap().len(),
        3,
        "no attempt after giving up"
    );
    t.wait("alarm done", || t.stats("alarm").succeeded == 1)
        .await;
    let dir = t.stop().await;
    assert_eq!(pending_in_journal(&dir.path().join("state")), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_segment_intent_is_settled_once_its_event_is_journaled() {
    use crate::event::SegmentRef;
    use crate::segment::intent::{Intent, Intents, Stage};
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Intents::open(&dir.path().join("segments")).unwrap());
    let part = dir.path().join("seg.flv.part");
    std::fs::write(&part, b"x").unwrap();
    let intent = |room: &str| {
        let now = crate::event::now();
        let event = event(EventType::SegmentComplete, room, "t").with_segment(SegmentRef {
            path: part.clone(),
            index: 1,
            bytes: 1,
            duration_s: 1.0,
            start: now,
            end: now,
            recovered: false,
            danmaku: None,
        });
        let i = Intent {
            stage: Stage::Closing,
            part: part.clone(),
            dev: 0,
            ino: 0,
            event,
        };
        store.begin(&i).unwrap();
        i
    };
    // A hook that takes room "a" only, with its window closed: journaled, not delivered.
    let mut h = hook(dir.path(), "up", &[EventType::SegmentComplete], "exit 0");
    h.rooms = vec!["a".into()];
    h.window = Some(Window::parse("03:00-04:00").unwrap());
    let (wanted, unwanted) = (intent("a"), intent("b"));
    let s = store.clone();
    let t = Harness::start_opts(
        dir,
        |o| o.intents = Some(s),
        vec![h],
        FakeClock::at(12, 0).clock(),
    );
    t.send(wanted.event.clone()).await;
    t.send(unwanted.event.clone()).await;
    t.wait("both settled", || {
        !store.holds(wanted.id()) && !store.holds(unwanted.id())
    })
    .await;
    assert_eq!(std::fs::read_dir(store.dir()).unwrap().count(), 0);
    let s = t.stats("up");
    assert_eq!((s.pending, s.succeeded), (1, 0));
    let dir = t.stop().await;
    let (mut j, pending) = Journal::open(&dir.path().join("state")).unwrap();
    assert_eq!(pending.len(), 1);
    assert!(j.take_replayed_events().contains(&wanted.id()));
}

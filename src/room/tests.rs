use super::*;
use crate::platform::PlatformKind;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

/// Offline by its status; counts the status checks.
#[derive(Default)]
struct Offline {
    checks: AtomicU64,
}

#[async_trait::async_trait]
impl Platform for Offline {
    async fn resolve(
        &self,
        t: &crate::platform::RoomTarget,
    ) -> Result<RoomKey, crate::platform::PlatformError> {
        Ok(RoomKey::new(PlatformKind::Direct, t.provisional_key()))
    }
    async fn status(
        &self,
        _: &crate::platform::RoomSpec,
    ) -> Result<crate::platform::RoomStatus, crate::platform::PlatformError> {
        self.checks
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Ok(crate::platform::RoomStatus::default())
    }
    async fn sources(
        &self,
        _: &crate::platform::RoomSpec,
    ) -> Result<Vec<crate::platform::StreamSource>, crate::platform::PlatformError> {
        Err(crate::platform::PlatformError::Unsupported(
            "offline".into(),
        ))
    }
}

/// Sleeps on the (paused) clock in small steps until `cond` holds; false after `limit`.
async fn eventually(limit: Duration, cond: impl Fn() -> bool) -> bool {
    let until = tokio::time::Instant::now() + limit;
    while !cond() {
        if tokio::time::Instant::now() >= until {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    true
}

// On a paused clock: the restart pause and the poll interval pass in virtual time, so the test
// takes no real time and can tell "down for the pause" from "polling again" exactly.
#[tokio::test(start_paused = true)]
async fn a_panicking_room_task_is_restarted_and_keeps_its_handle() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = crate::config::parse(
        "[[rooms]]\nurl = \"http://127.0.0.1:1/x.flv\"\npoll_interval = \"1s\"\n",
        &dir.path().join("c.toml"),
    )
    .unwrap();
    let room = cfg.rooms[0].clone();
    let key = room.target.known_key().unwrap();
    let (events, _rx) = EventTx::channel();
    let platform = Arc::new(Offline::default());
    let deps = RoomDeps {
        cluster: crate::cluster::Coordinator::local(),
        platform: platform.clone(),
        client: crate::http::client().unwrap(),
        output_dir: dir.path().join("rec"),
        lock_dir: dir.path().join("locks"),
        min_free_space: Arc::new(AtomicU64::new(0)),
        slots: None,
        events,
        intents: None,
        seat: None,
    };
    let checks = || platform.checks.load(std::sync::atomic::Ordering::Relaxed);
    let parent = CancellationToken::new();
    let (handle, join) = spawn(key.clone(), room, deps, &parent);
    assert_eq!(handle.key.platform, PlatformKind::Direct);
    assert!(eventually(Duration::from_secs(2), || checks() >= 1).await);
    assert!(handle.send(RoomCmd::Panic));
    tokio::time::sleep(Duration::from_millis(10)).await;
    let at_panic = checks();
    // Down for the restart pause: no status check...
    tokio::time::sleep(supervisor::PANIC_PAUSE - Duration::from_millis(100)).await;
    assert!(!join.is_finished(), "the runner survives the panic");
    assert_eq!(checks(), at_panic, "checked while down");
    // ...then the restarted room checks again (within its first poll's jitter, at most one
    // poll interval), and answers through the same handle.
    assert!(eventually(Duration::from_millis(1_200), || checks() > at_panic).await);
    let before = checks();
    assert!(handle.send(RoomCmd::CheckNow));
    // Sooner than the next poll (1 s away): the check was asked for.
    assert!(
        eventually(Duration::from_millis(100), || checks() > before).await,
        "CheckNow after the restart went unanswered"
    );
    assert_eq!(handle.snapshot().key, key.to_string());
    handle.stop();
    tokio::time::timeout(Duration::from_secs(5), join)
        .await
        .expect("stops")
        .unwrap();
}

/// Live by its status, but its stream list says it cannot be recorded (a guard-only live).
struct GuardOnly {
    sources: AtomicU64,
}

#[async_trait::async_trait]
impl Platform for GuardOnly {
    async fn resolve(
        &self,
        t: &crate::platform::RoomTarget,
    ) -> Result<RoomKey, crate::platform::PlatformError> {
        Ok(RoomKey::new(PlatformKind::Bilibili, t.provisional_key()))
    }
    async fn status(
        &self,
        _: &crate::platform::RoomSpec,
    ) -> Result<crate::platform::RoomStatus, crate::platform::PlatformError> {
        Ok(crate::platform::RoomStatus {
            live: true,
            ..Default::default()
        })
    }
    async fn sources(
        &self,
        _: &crate::platform::RoomSpec,
    ) -> Result<Vec<crate::platform::StreamSource>, crate::platform::PlatformError> {
        self.sources
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Err(crate::platform::PlatformError::Unsupported(
            "guard-only live".into(),
        ))
    }
}

// On a paused clock: four polls a second apart take no real time.
#[tokio::test(start_paused = true)]
async fn a_live_found_unrecordable_by_its_stream_list_opens_no_more_sessions() {
    use crate::event::EventType;
    let dir = tempfile::tempdir().unwrap();
    let cfg = crate::config::parse(
        "[[rooms]]\nurl = \"https://live.bilibili.com/1\"\npoll_interval = \"1s\"\n",
        &dir.path().join("c.toml"),
    )
    .unwrap();
    let room = cfg.rooms[0].clone();
    let key = RoomKey::new(PlatformKind::Bilibili, "1");
    let (events, mut rx) = EventTx::channel();
    let platform = Arc::new(GuardOnly {
        sources: AtomicU64::new(0),
    });
    let deps = RoomDeps {
        cluster: crate::cluster::Coordinator::local(),
        platform: platform.clone(),
        client: crate::http::client().unwrap(),
        output_dir: dir.path().join("rec"),
        lock_dir: dir.path().join("locks"),
        min_free_space: Arc::new(AtomicU64::new(0)),
        slots: None,
        events,
        intents: None,
        seat: None,
    };
    let parent = CancellationToken::new();
    let (handle, join) = spawn(key, room, deps, &parent);
    // The first attempt finds out; then every poll (each second) asks the stream list too.
    let asked = || platform.sources.load(std::sync::atomic::Ordering::Relaxed);
    assert!(
        eventually(Duration::from_secs(10), || asked() >= 4).await,
        "polled on: {}",
        asked()
    );
    let snap = handle.snapshot();
    assert_eq!(snap.state, RoomState::Unrecordable);
    assert_eq!(snap.detail.as_deref(), Some("guard-only live"));
    handle.stop();
    tokio::time::timeout(Duration::from_secs(5), join)
        .await
        .expect("stops")
        .unwrap();
    let mut seen = Vec::new();
    while let Some(e) = rx.try_recv() {
        seen.push((e.kind, e.error));
    }
    let not_recordable = Some("not recordable: guard-only live".to_string());
    assert_eq!(
        seen,
        [
            (EventType::LiveStart, None),
            (EventType::LiveEnd, not_recordable.clone()),
            (EventType::RecordingFailed, not_recordable),
        ],
        "one session, ended with the reason, reported once"
    );
}

#[test]
fn a_room_is_named_by_its_config_else_its_streamer_else_its_id() {
    assert_eq!(display_name(Some("alice"), "Alice", "1"), "alice");
    assert_eq!(display_name(Some(""), "Alice", "1"), "Alice");
    assert_eq!(display_name(None, "Alice", "1"), "Alice");
    assert_eq!(display_name(None, "", "1"), "1");
}

/// Live, with a cover image at `cover`; its stream list offers `stream` (None: the live cannot
/// be recorded). Notes when the stream list was first asked (paused clock).
struct CoveredLive {
    cover: String,
    stream: Option<String>,
    sources_at: std::sync::Mutex<Option<tokio::time::Instant>>,
}

#[async_trait::async_trait]
impl Platform for CoveredLive {
    async fn resolve(
        &self,
        t: &crate::platform::RoomTarget,
    ) -> Result<RoomKey, crate::platform::PlatformError> {
        Ok(RoomKey::new(PlatformKind::Bilibili, t.provisional_key()))
    }
    async fn status(
        &self,
        _: &crate::platform::RoomSpec,
    ) -> Result<crate::platform::RoomStatus, crate::platform::PlatformError> {
        Ok(crate::platform::RoomStatus {
            live: true,
            cover: Some(self.cover.clone()),
            ..Default::default()
        })
    }
    async fn sources(
        &self,
        _: &crate::platform::RoomSpec,
    ) -> Result<Vec<crate::platform::StreamSource>, crate::platform::PlatformError> {
        let now = tokio::time::Instant::now();
        self.sources_at.lock().unwrap().get_or_insert(now);
        match &self.stream {
            Some(url) => Ok(vec![crate::platform::StreamSource {
                url: url.clone(),
                format: crate::platform::StreamFormat::Flv,
                quality: "10000".into(),
                headers: Default::default(),
                below: None,
            }]),
            None => Err(crate::platform::PlatformError::Unsupported(
                "guard-only live".into(),
            )),
        }
    }
}

/// Runs a `cover = true` room on `platform` until `until` holds for the events it raised
/// (each with when it came, on the paused clock), then stops it; returns them all.
async fn covered_room(
    platform: Arc<CoveredLive>,
    until: impl Fn(&[(crate::event::Event, tokio::time::Instant)]) -> bool,
) -> Vec<(crate::event::Event, tokio::time::Instant)> {
    let dir = tempfile::tempdir().unwrap();
    let cfg = crate::config::parse(
        "[[rooms]]\nurl = \"https://live.bilibili.com/1\"\npoll_interval = \"1s\"\ncover = true\n",
        &dir.path().join("c.toml"),
    )
    .unwrap();
    let (events, mut rx) = EventTx::channel();
    let deps = RoomDeps {
        platform,
        client: crate::http::client().unwrap(),
        output_dir: dir.path().join("rec"),
        lock_dir: dir.path().join("locks"),
        min_free_space: Arc::new(AtomicU64::new(0)),
        slots: None,
        events,
        intents: None,
        seat: None,
        cluster: crate::cluster::Coordinator::local(),
    };
    let parent = CancellationToken::new();
    let key = RoomKey::new(PlatformKind::Bilibili, "1");
    let (handle, join) = spawn(key, cfg.rooms[0].clone(), deps, &parent);
    // The session's writer runs on a blocking thread, which stops the paused clock from
    // advancing by itself: the test moves it, in steps small enough to time events by.
    let began = tokio::time::Instant::now();
    let step = || async {
        assert!(began.elapsed() < Duration::from_secs(120), "stuck");
        tokio::time::advance(Duration::from_millis(10)).await;
        tokio::task::yield_now().await;
    };
    let mut seen = Vec::new();
    while !until(&seen) {
        match rx.try_recv() {
            Some(e) => seen.push((e, tokio::time::Instant::now())),
            None => step().await,
        }
    }
    handle.stop();
    while !join.is_finished() {
        step().await;
    }
    while let Some(e) = rx.try_recv() {
        seen.push((e, tokio::time::Instant::now()));
    }
    seen
}

/// A port that takes connections and never answers (a hung CDN).
fn hung() -> (std::net::TcpListener, String) {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    (l, format!("http://{addr}"))
}

// On a paused clock: the bound on live_start's wait is exact, and a hung cover's 30 s pass in
// no real time.
#[tokio::test(start_paused = true)]
async fn live_start_waits_for_its_cover_no_longer_than_its_bound_and_the_recording_not_at_all() {
    use crate::event::EventType;
    let (_cdn, base) = hung();
    let platform = Arc::new(CoveredLive {
        cover: format!("{base}/cover.jpg"),
        stream: Some(format!("{base}/live.flv")),
        sources_at: Default::default(),
    });
    let seen = covered_room(platform.clone(), |seen| !seen.is_empty()).await;
    // Measured from the stream lookup: the room task's blocking steps before it (the room
    // lock, the name's check) let the test's clock run.
    let connected = platform.sources_at.lock().unwrap().unwrap();
    let (first, at) = &seen[0];
    assert_eq!(first.kind, EventType::LiveStart, "{seen:?}");
    assert_eq!(first.cover_path, None);
    // The stream was asked for at once, while live_start waited out its bound.
    let held = at
        .checked_duration_since(connected)
        .expect("connected first");
    let slack = Duration::from_millis(200);
    assert!(
        held + slack >= supervisor::LIVE_START_WAIT && held <= supervisor::LIVE_START_WAIT + slack,
        "held {held:?}"
    );
    // Its time is the session's start, not when it was raised.
    assert_eq!(Some(first.time), first.session.as_ref().map(|s| s.start));
}

#[tokio::test(start_paused = true)]
async fn a_session_that_ends_before_its_cover_raises_live_start_first_at_once() {
    use crate::event::EventType;
    let (_cdn, base) = hung();
    let platform = Arc::new(CoveredLive {
        cover: format!("{base}/cover.jpg"),
        stream: None,
        sources_at: Default::default(),
    });
    let seen = covered_room(platform.clone(), |seen| {
        seen.iter()
            .any(|(e, _)| e.kind == EventType::RecordingFailed)
    })
    .await;
    let connected = platform.sources_at.lock().unwrap().unwrap();
    let kinds: Vec<_> = seen.iter().map(|(e, _)| e.kind).collect();
    assert_eq!(
        kinds,
        [
            EventType::LiveStart,
            EventType::LiveEnd,
            EventType::RecordingFailed
        ]
    );
    // Raised when the session ended, not at the end of its wait.
    let raised = seen[0].1 - connected;
    assert!(raised < Duration::from_millis(500), "{raised:?}");
    assert_eq!(seen[0].0.cover_path, None);
    assert_eq!(seen[1].0.cover_path, None);
}

use super::*;
use crate::platform::{PlatformKind, direct::Direct};
use std::sync::atomic::AtomicU64;
use std::time::Duration;

#[tokio::test]
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
    let client = crate::http::client().unwrap();
    let deps = RoomDeps {
        platform: Arc::new(Direct::new(client.clone())),
        client,
        output_dir: dir.path().join("rec"),
        lock_dir: dir.path().join("locks"),
        min_free_space: Arc::new(AtomicU64::new(0)),
        slots: None,
        events,
        intents: None,
        seat: None,
    };
    let parent = CancellationToken::new();
    let (handle, join) = spawn(key.clone(), room, deps, &parent);
    assert_eq!(handle.key.platform, PlatformKind::Direct);
    assert!(handle.send(RoomCmd::Panic));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!join.is_finished(), "the runner survives the panic");
    // After the restart pause the room answers again through the same handle.
    tokio::time::sleep(Duration::from_secs(6)).await;
    assert!(handle.send(RoomCmd::CheckNow));
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

#[tokio::test]
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
    let until = std::time::Instant::now() + Duration::from_secs(10);
    while asked() < 4 && std::time::Instant::now() < until {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(asked() >= 4, "polled on: {}", asked());
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

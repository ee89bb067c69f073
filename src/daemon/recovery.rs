//! Start-up recovery: leftovers of a crash become finished segments (with an event each).

use crate::config::Config;
use crate::event::{Event, EventTx, EventType, RoomRef, SegmentRef};
use crate::platform::RoomKey;
use crate::record::recover::{self, Outcome};

/// Repairs and renames `.part` files no live process is writing, raising `segment_complete`
/// (with `recovered: true`) for each.
pub async fn recover_leftovers(config: &Config, events: &EventTx) {
    let (out, state, locks) = (
        config.output_dir.clone(),
        config.state_dir.clone(),
        config.lock_dir.clone(),
    );
    let outcomes = tokio::task::spawn_blocking(move || recover::recover_all(&out, &state, &locks))
        .await
        .unwrap_or_default();
    for outcome in outcomes {
        match outcome {
            Outcome::Recovered(r) => {
                let room = r.room.as_deref().map(|key| room_ref_for(config, key));
                for f in r.files {
                    tracing::info!(file = %f.path.display(), bytes = f.bytes, "recovered a segment left by a crash");
                    let now = crate::event::now();
                    let event = Event::new(EventType::SegmentComplete, room.clone()).with_segment(
                        SegmentRef {
                            path: f.path,
                            index: 0,
                            bytes: f.bytes,
                            duration_s: 0.0,
                            start: now,
                            end: now,
                            recovered: true,
                        },
                    );
                    events.emit(event);
                }
            }
            Outcome::RemovedEmpty(p) => {
                tracing::info!(file = %p.display(), "removed an empty leftover file")
            }
            Outcome::InUse(p) => {
                tracing::info!(file = %p.display(), "left alone: another process is writing it")
            }
            Outcome::Failed(p, e) => {
                tracing::error!(file = %p.display(), "cannot recover: {e}; try `liverec repair`")
            }
        }
    }
}

fn room_ref_for(config: &Config, key: &str) -> RoomRef {
    let parsed = RoomKey::parse(key);
    let room = config
        .rooms
        .iter()
        .find(|r| r.target.known_key().is_some_and(|k| k.to_string() == key));
    RoomRef {
        key: key.to_string(),
        platform: parsed
            .as_ref()
            .map(|k| k.platform.to_string())
            .unwrap_or_default(),
        id: parsed.map(|k| k.id).unwrap_or_default(),
        name: room.and_then(|r| r.name.clone()).unwrap_or_default(),
        url: room.map(|r| r.url().to_string()).unwrap_or_default(),
        streamer: String::new(),
        title: String::new(),
    }
}

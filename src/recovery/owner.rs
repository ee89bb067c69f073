//! Which room a leftover `.part` belongs to when it has no segment intent: the room its lock
//! file names, else none.
//!
//! Every `.part` the daemon writes has an intent (the daemon does not start without its intent
//! folder), so this is for a `.part` whose intent could not be written (logged when it happens);
//! the room lock's `part=` line names it then. File names are not read back through the
//! `filename` template: no version that wrote `.part` files without intents was ever released.

use std::path::Path;

use crate::config::{Config, RoomConfig};
use crate::event::RoomRef;
use crate::platform::{Locator, RoomKey};

/// The room of a `.part` that has no intent: the one its lock file names, else none.
pub(crate) fn room_of_part(
    config: &Config,
    part: &Path,
    lock_key: Option<&str>,
) -> Option<RoomRef> {
    if let Some(key) = lock_key {
        return Some(room_ref_for(config, key));
    }
    tracing::warn!(
        file = %part.display(),
        "cannot tell which room this leftover belongs to (no segment record, and no lock file names it): its segment_complete has no room, and hooks limited by `rooms` do not get it"
    );
    None
}

/// A room's key as far as the config tells without the network. (A Bilibili room configured
/// by its short id does not match the long id its lock file names: it is named by that id.)
fn offline_key(r: &RoomConfig) -> Option<RoomKey> {
    match &r.target.locator {
        Locator::Id(id) | Locator::MaybeShort(id) => {
            Some(RoomKey::new(r.target.platform, id.clone()))
        }
        Locator::Share(_) => None,
    }
}

/// The room of a key, named as its supervisor names it when the config tells (its configured
/// name), else by its id, never empty.
pub(crate) fn room_ref_for(config: &Config, key: &str) -> RoomRef {
    let parsed = RoomKey::parse(key);
    let room = config
        .rooms
        .iter()
        .find(|r| offline_key(r).is_some_and(|k| k.to_string() == key));
    let id = parsed.as_ref().map(|k| k.id.clone()).unwrap_or_default();
    RoomRef {
        key: key.to_string(),
        platform: parsed
            .as_ref()
            .map(|k| k.platform.to_string())
            .unwrap_or_default(),
        name: crate::room::display_name(room.and_then(|r| r.name.as_deref()), "", &id),
        id,
        url: room.map(|r| r.url().to_string()).unwrap_or_default(),
        streamer: String::new(),
        title: String::new(),
    }
}

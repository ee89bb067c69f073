//! Which room a leftover `.part` belongs to when it has no segment intent (written before
//! intents existed, or its intent could not be written): the room its lock file names, else the
//! one configured room its file name template can only have named this way, else none.

use std::path::Path;

use crate::config::{Config, RoomConfig};
use crate::event::RoomRef;
use crate::platform::{Locator, RoomKey};
use crate::segment::naming::sanitize;
use crate::segment::part::split_part_name;
use crate::template::Template;

/// The room of a `.part` that has no intent: the room its lock file names, else the one room
/// the file name template can only have named this way, else none.
pub(crate) fn room_of_part(
    config: &Config,
    part: &Path,
    lock_key: Option<&str>,
) -> Option<RoomRef> {
    if let Some(key) = lock_key {
        return Some(room_ref_for(config, key));
    }
    let rel = split_part_name(part).and_then(|(stem, _)| {
        stem.strip_prefix(&config.output_dir)
            .ok()
            .map(Path::to_path_buf)
    })?;
    let rel = rel.to_str()?;
    let mut named = config.rooms.iter().filter_map(|r| {
        let (key, certain) = offline_key(r)?;
        let known = KnownRoom {
            platform: key.platform.as_str(),
            id: &key.id,
            key: &key.to_string(),
            name: r.name.as_deref().filter(|n| !n.is_empty()),
            id_certain: certain,
        };
        names_room(&r.settings.filename, &known, rel).then_some(key)
    });
    match (named.next(), named.next()) {
        (Some(key), None) => Some(room_ref_for(config, &key.to_string())),
        _ => {
            tracing::warn!(
                file = %part.display(),
                "cannot tell which room this leftover belongs to (no segment record, no lock file names it, and the file name template does not name one room): its segment_complete has no room, and hooks limited by `rooms` do not get it"
            );
            None
        }
    }
}

/// A room's key as far as the config tells without the network, and whether it is certain (a
/// number that may be a Bilibili short id is the key only if it is the long id too).
fn offline_key(r: &RoomConfig) -> Option<(RoomKey, bool)> {
    match &r.target.locator {
        Locator::Id(id) => Some((RoomKey::new(r.target.platform, id.clone()), true)),
        Locator::MaybeShort(id) => Some((RoomKey::new(r.target.platform, id.clone()), false)),
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
        .find(|r| offline_key(r).is_some_and(|(k, _)| k.to_string() == key));
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

/// What is known of a configured room without asking its platform.
#[derive(Debug, Clone, Copy)]
pub(crate) struct KnownRoom<'a> {
    pub(crate) platform: &'a str,
    pub(crate) id: &'a str,
    pub(crate) key: &'a str,
    /// The configured name, if any (else `{name}` is the streamer's, known only online).
    pub(crate) name: Option<&'a str>,
    /// Whether `id` is certainly the room's canonical id (a Bilibili number may be a short id
    /// that stands for another).
    pub(crate) id_certain: bool,
}

/// Stands for a field whose value is unknown offline; NUL can never be in a path.
const ANY: char = '\0';

/// Whether `rel` (a segment's path under `output_dir` without its `.<ext>.part` suffix) can have
/// been named by `template` for this room, *and* the template puts something in the name that
/// only this room has (its id or key, or its configured name). A template that only names the
/// platform or the streamer cannot tell two rooms apart: that is `false`, never a guess.
pub(crate) fn names_room(template: &Template, room: &KnownRoom<'_>, rel: &str) -> bool {
    let mut identifying = false;
    let pattern = template.render(|field, _| {
        let known = match field {
            "platform" => Some(room.platform),
            // A path that shows the configured id was written for a room with that id (one
            // configured by a short id is recorded under its long id, so it simply does not
            // match).
            "id" => Some(room.id),
            "key" => Some(room.key),
            // A name tells the room, but not its key when the id may be a short id: the event
            // would carry a wrong key, so it is not enough then.
            "name" if room.id_certain => room.name,
            _ => None,
        };
        match known {
            Some(v) => {
                identifying |= field != "platform";
                sanitize(v)
            }
            None => ANY.to_string(),
        }
    });
    if !identifying {
        return false;
    }
    // The same clean-up `render` applies to each component.
    let pattern: Vec<char> = pattern
        .split('/')
        .map(|c| c.trim_start_matches('.'))
        .collect::<Vec<_>>()
        .join("/")
        .chars()
        .collect();
    let text: Vec<char> = rel.chars().collect();
    if glob(&pattern, &text) {
        return true;
    }
    // `_1`, `_2`… are added when a name is taken.
    match rel.rsplit_once('_') {
        Some((stem, n)) if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) => {
            glob(&pattern, &stem.chars().collect::<Vec<_>>())
        }
        _ => false,
    }
}

/// Matches `text` against `pattern`, where [`ANY`] stands for one or more characters other than
/// `/` (a field value is never empty). Component by component, each with the classic iterative
/// wildcard match (one backtrack point), so no name can make it slow.
fn glob(pattern: &[char], text: &[char]) -> bool {
    let pattern: Vec<&[char]> = pattern.split(|&c| c == '/').collect();
    let text: Vec<&[char]> = text.split(|&c| c == '/').collect();
    pattern.len() == text.len() && pattern.iter().zip(&text).all(|(p, t)| component(p, t))
}

#[derive(Clone, Copy, PartialEq)]
enum Tok {
    Char(char),
    One,
    Star,
}

fn component(pattern: &[char], text: &[char]) -> bool {
    // ANY = one character, then any number.
    let p: Vec<Tok> = pattern
        .iter()
        .flat_map(|&c| match c {
            ANY => vec![Tok::One, Tok::Star],
            c => vec![Tok::Char(c)],
        })
        .collect();
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < text.len() {
        match p.get(pi) {
            Some(Tok::One) => {
                pi += 1;
                ti += 1;
            }
            Some(Tok::Char(c)) if *c == text[ti] => {
                pi += 1;
                ti += 1;
            }
            Some(Tok::Star) => {
                star = Some((pi, ti));
                pi += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    pi = sp + 1;
                    ti = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    p[pi..].iter().all(|t| *t == Tok::Star)
}

#[cfg(test)]
mod tests;

//! File names from the `filename` template. Field values come from the platform (titles,
//! streamer names) and are hostile until proven otherwise: they are sanitised so that no value can
//! add a folder, climb out of `output_dir`, hide a file, or break a shell or SMB share.

use std::path::PathBuf;

use chrono::{DateTime, FixedOffset};

use crate::event::{RoomRef, SessionRef};
use crate::template::{Template, format_time};

/// Longest sanitised field value, in bytes.
pub(crate) const MAX_FIELD_BYTES: usize = 120;
/// Longest path component; leaves room for `_NNN.flv.part` under the usual 255-byte limit.
const MAX_COMPONENT_BYTES: usize = 200;

/// Makes one field value safe as (part of) a single path component.
pub(crate) fn sanitize(value: &str) -> String {
    let replaced: String = value
        .chars()
        .map(|c| match c {
            '/' | '\\' | '\0' | ':' | '*' | '?' | '"' | '<' | '>' | '|' => '_',
            c if c.is_control() => '_',
            c => c,
        })
        .collect();
    // Leading dots would hide the file (or form `..`); trailing dots and spaces break SMB shares.
    let trimmed = replaced
        .trim()
        .trim_start_matches('.')
        .trim_end_matches(['.', ' '])
        .trim_start();
    let cut = truncate_bytes(trimmed, MAX_FIELD_BYTES);
    if cut.is_empty() {
        "_".into()
    } else {
        cut.to_string()
    }
}

fn truncate_bytes(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// Renders a segment's path relative to `output_dir`, without extension: the same room and
/// session its events carry, so a name and its event cannot disagree.
pub(crate) fn render(
    template: &Template,
    room: &RoomRef,
    session: &SessionRef,
    index: u32,
    start: DateTime<FixedOffset>,
) -> PathBuf {
    let text = template.render(|field, format| match field {
        "platform" => sanitize(&room.platform),
        "id" => sanitize(&room.id),
        "key" => sanitize(&room.key),
        "name" => sanitize(&room.name),
        // Before the platform has named the streamer, the room's name stands in.
        "streamer" if room.streamer.is_empty() => sanitize(&room.name),
        "streamer" => sanitize(&room.streamer),
        "title" => sanitize(&room.title),
        "session" => sanitize(&session.id.to_string()),
        "index" => index.to_string(),
        "start" => sanitize(&format_time(&start, format.unwrap_or_default())),
        "session_start" => sanitize(&format_time(&session.start, format.unwrap_or_default())),
        _ => "_".into(),
    });
    // The template was checked at load time; this is the belt to that brace.
    text.split('/')
        .map(|c| {
            let c = c.trim_start_matches('.');
            let c = truncate_bytes(c, MAX_COMPONENT_BYTES);
            if c.is_empty() { "_" } else { c }
        })
        .collect()
}

#[cfg(test)]
mod tests;

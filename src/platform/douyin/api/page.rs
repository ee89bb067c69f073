//! Douyin web pages, read from the state they embed: the room page (its `roomStore`) and a
//! streamer's profile page (the `web_rid`s it names). Pure: HTML bytes in, rooms out.

use serde_json::Value;

use super::{CANCELLED, DyRoom, is_captcha, read_room};
use crate::platform::PlatformError;
use crate::platform::json::{at, int, parse_body, text};

/// The page state object that holds `roomInfo` (a `roomStore`).
pub(crate) fn room_store(store: &Value) -> Result<DyRoom, PlatformError> {
    let what = "room page";
    let info = at(store, "/roomInfo");
    let room = at(info, "/room");
    let anchor = at(info, "/anchor");
    if !room.is_object() && !anchor.is_object() {
        // Not "no such room": a page that changed its layout, or a half-rendered one, says
        // nothing about the room, and an unknown status must not end a recording.
        return Err(PlatformError::Malformed(format!(
            "{what}: the page state names no room (a new page layout?)"
        )));
    }
    let mut out = DyRoom {
        web_rid: text(at(info, "/web_rid")).filter(|w| !w.is_empty()),
        radio: int(at(info, "/enter_mode")) == Some(1),
        ..DyRoom::default()
    };
    if room.is_object() {
        read_room(room, &mut out);
    }
    if let Some(n) = text(at(anchor, "/nickname")).filter(|n| !n.is_empty()) {
        out.streamer = n;
    }
    if out.streamer == CANCELLED {
        return Err(PlatformError::NotFound(format!(
            "{what}: the account is cancelled ({CANCELLED})"
        )));
    }
    if out.room_id.is_none() {
        out.room_id = text(at(info, "/roomId")).filter(|s| !s.is_empty() && s != "0");
    }
    Ok(out)
}

/// `roomStore` values kept from one page: a real page has two (a shell and the state), and a
/// hostile one must not make us hold more.
pub(super) const MAX_STORES: usize = 8;

/// The JSON values that follow `"roomStore":` in `text`, up to [`MAX_STORES`] in `found`.
pub(super) fn room_stores_in(text: &str, found: &mut Vec<Value>) {
    const KEY: &str = "\"roomStore\":";
    let mut from = 0;
    while found.len() < MAX_STORES {
        let Some(i) = text[from..].find(KEY) else {
            break;
        };
        let start = from + i + KEY.len();
        let mut it = serde_json::Deserializer::from_str(&text[start..]).into_iter::<Value>();
        match it.next() {
            Some(Ok(v)) => {
                found.push(v);
                // A roomStore nested in this value is part of it: parsing it again would make
                // nested input cost quadratic time and memory.
                from = start + it.byte_offset();
            }
            _ => from = start,
        }
    }
}

/// Undoes `%XX` escapes (no `+` handling: `encodeURIComponent` output has none).
pub(super) fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            let hex = std::str::from_utf8(&b[i + 1..i + 3]).ok();
            if let Some(n) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(n);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The next `self.__pace_f.push([N,"…"])` chunk at or after byte `from` of `html`: where to
/// look next, and the chunk's text when it is a JS string.
fn next_pace_chunk(html: &str, from: usize) -> Option<(usize, Option<String>)> {
    const PUSH: &str = "self.__pace_f.push([";
    let i = html.get(from..)?.find(PUSH)?;
    let after = from + i + PUSH.len();
    let rest = &html[after..];
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 || rest.as_bytes().get(digits) != Some(&b',') {
        return Some((after, None));
    }
    let start = after + digits + 1;
    let mut it = serde_json::Deserializer::from_str(&html[start..]).into_iter::<String>();
    match it.next() {
        Some(Ok(chunk)) => Some((start + it.byte_offset(), Some(chunk))),
        _ => Some((start, None)),
    }
}

/// The room page (`live.douyin.com/<web_rid>`): the real `roomStore` among the page's state
/// chunks. A page without one is a challenge page or a changed layout: blocked, not offline.
pub fn page(html: &[u8]) -> Result<DyRoom, PlatformError> {
    let what = "room page";
    let html = String::from_utf8_lossy(html);
    let mut stores = Vec::new();
    let mut from = 0;
    while stores.len() < MAX_STORES {
        let Some((start, chunk)) = next_pace_chunk(&html, from) else {
            break;
        };
        from = start;
        if let Some(chunk) = chunk {
            room_stores_in(&chunk, &mut stores);
        }
    }
    const RENDER: &str = "id=\"RENDER_DATA\"";
    if let Some(i) = html.find(RENDER) {
        let rest = &html[i..];
        if let (Some(open), Some(close)) = (rest.find('>'), rest.find("</script>")) {
            if open < close {
                room_stores_in(&percent_decode(&rest[open + 1..close]), &mut stores);
            }
        }
    }
    if stores.is_empty() {
        return Err(PlatformError::Blocked(if is_captcha(html.as_bytes()) {
            format!("{what}: a captcha page (验证码) instead of the room")
        } else if html.contains("__ac_nonce") {
            format!("{what}: a JS challenge page (__ac_nonce) instead of the room")
        } else {
            format!("{what}: no room state in the page")
        }));
    }
    // The first roomStore is an empty shell; take the last one that says something.
    let mut last_err = None;
    for store in stores.iter().rev() {
        let info = at(store, "/roomInfo");
        if info.as_object().is_none_or(|o| o.is_empty()) {
            continue;
        }
        match room_store(store) {
            Ok(r) => return Ok(r),
            Err(e) => last_err = Some(e),
        }
    }
    Err(last_err.unwrap_or_else(|| {
        PlatformError::Malformed(format!("{what}: every roomStore in the page is empty"))
    }))
}

/// `web_rid` values looked at in one profile page (a real page names a room or two).
const MAX_WEB_RIDS: usize = 64;
/// Rooms named by one profile page that are handed on to be checked.
pub(crate) const MAX_PROFILE_ROOMS: usize = 4;

/// The live rooms a streamer's profile page names: every `web_rid` in its state (the
/// URL-encoded `RENDER_DATA` script, or `self.__pace_f` chunks), wherever it sits, in page
/// order, at most [`MAX_PROFILE_ROOMS`]. The streamer's own live room is among them while they
/// are live, but so may be other streamers' (recommended lives): which is whose is for the
/// caller to check. `None` when the page holds no state at all (a challenge page): it says
/// nothing; an empty list when the state names no room (the streamer is not live).
pub(crate) fn profile_rooms(html: &[u8]) -> Option<Vec<String>> {
    let html = String::from_utf8_lossy(html);
    let mut states = Vec::new();
    const RENDER: &str = "id=\"RENDER_DATA\"";
    if let Some(i) = html.find(RENDER) {
        let rest = &html[i..];
        if let (Some(open), Some(close)) = (rest.find('>'), rest.find("</script>")) {
            if open < close {
                states.push(percent_decode(&rest[open + 1..close]));
            }
        }
    }
    let mut from = 0;
    while let Some((start, chunk)) = next_pace_chunk(&html, from) {
        from = start;
        states.extend(chunk);
    }
    if states.is_empty() {
        return None;
    }
    let mut found: Vec<String> = Vec::new();
    let mut seen = 0;
    const KEY: &str = "\"web_rid\":";
    'states: for state in &states {
        let mut from = 0;
        while let Some(i) = state[from..].find(KEY) {
            let start = from + i + KEY.len();
            from = start;
            seen += 1;
            if seen > MAX_WEB_RIDS || found.len() >= MAX_PROFILE_ROOMS {
                break 'states;
            }
            let mut it = serde_json::Deserializer::from_str(&state[start..]).into_iter::<Value>();
            let id = match it.next() {
                Some(Ok(Value::String(s))) => s,
                Some(Ok(Value::Number(n))) => n.to_string(),
                _ => continue,
            };
            if !id.is_empty() && !found.contains(&id) {
                found.push(id);
            }
        }
    }
    Some(found)
}

/// A page state saved as JSON (`{"roomStore": {...}}`, as some tools dump it).
pub fn page_state(body: &[u8]) -> Result<DyRoom, PlatformError> {
    let v = parse_body(body, "room page state")?;
    let store = v.get("roomStore").unwrap_or(&v);
    room_store(store)
}

//! Douyin answers, decoded: pure functions from bytes to typed results, no IO.
//!
//! - `webcast/room/web/enter/`: `status_code`, the room in `data.data[0]` (or `data.room`), the
//!   streamer in `data.user`. `status` 2 is live, 4 ended.
//! - `stream_url`: `live_core_sdk_data.pull_data.stream_data` is JSON *inside a string*, keyed
//!   by quality (`origin`, `uhd`, `hd`, `sd`, `ld`, `md`; `ao` is audio only); the older maps
//!   `flv_pull_url` / `hls_pull_url_map` use `FULL_HD1` (origin), `HD1` (hd), `SD1` (ld) and
//!   `SD2` (sd).
//! - the app reflow API (`data.room.owner.web_rid`). Unsigned requests get `status_code` 10011,
//!   so liverec does not call it; the decoder reads captured answers.
//! - a streamer's profile page (`www.douyin.com/user/<sec_uid>`), which names the `web_rid` of
//!   the live room while the streamer is live: how share links to the app's reflow page are
//!   resolved.
//! - the room page: state in `self.__pace_f.push([1,"…"])` chunks (a JS string holding JSON),
//!   or in an older URL-encoded `RENDER_DATA` script; the page holds two `roomStore`s and the
//!   first is an empty shell.

use serde_json::Value;

use super::super::json::{at, flag, int, parse_body, short, text, text_or_empty};
use super::super::{PlatformError, RoomStatus, StreamFormat};
use super::QUALITIES;

/// Where a stream URL was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Origin {
    /// `live_core_sdk_data.pull_data.stream_data`
    StreamData,
    /// `flv_pull_url`, `hls_pull_url_map`, `hls_pull_url`
    Legacy,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DyStream {
    /// One of [`QUALITIES`].
    pub quality: &'static str,
    pub format: StreamFormat,
    pub url: String,
    pub origin: Origin,
    pub encrypted: bool,
    /// `h264`, `h265`, `bytevc1` when the answer says.
    pub codec: Option<String>,
}

impl DyStream {
    pub fn format_name(&self) -> &'static str {
        match self.format {
            StreamFormat::Flv => "flv",
            StreamFormat::Hls => "hls",
        }
    }
}

/// A room as any of the endpoints (or the page) describes it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DyRoom {
    /// `owner.web_rid` / the page's `web_rid`, when present.
    pub web_rid: Option<String>,
    /// The session's room id (`id_str`): new for every broadcast.
    pub room_id: Option<String>,
    /// 2 live, 4 ended; `None` when the answer has no room object (ended).
    pub status: Option<i64>,
    pub title: String,
    pub streamer: String,
    pub has_stream_url: bool,
    pub streams: Vec<DyStream>,
    pub prompts: String,
}

impl DyRoom {
    pub fn is_live(&self) -> bool {
        self.status == Some(2)
    }

    pub fn status(&self) -> RoomStatus {
        let live = self.is_live();
        RoomStatus {
            live,
            title: self.title.clone(),
            streamer: self.streamer.clone(),
            session_hint: if live { self.room_id.clone() } else { None },
            unrecordable: None,
        }
    }

    /// Why nothing can be recorded from this answer, when that is so.
    pub fn refusal(&self) -> Option<PlatformError> {
        if !self.is_live() {
            return Some(PlatformError::NoStream(format!(
                "the room is not live (status {})",
                self.status
                    .map(|s| s.to_string())
                    .unwrap_or_else(|| "ended".into())
            )));
        }
        if !self.has_stream_url || self.streams.is_empty() {
            return Some(PlatformError::NoStream(
                "live, but the answer has no stream URL (an interactive or game room not offered on the web?)"
                    .into(),
            ));
        }
        if self.streams.iter().all(|s| s.encrypted) {
            return Some(PlatformError::Unsupported(
                "every stream of this room is encrypted".into(),
            ));
        }
        None
    }
}

/// Legacy map keys, as seen in 2025 captures.
fn legacy_quality(key: &str) -> Option<&'static str> {
    match key {
        "FULL_HD1" => Some("origin"),
        "HD1" => Some("hd"),
        "SD1" => Some("ld"),
        "SD2" => Some("sd"),
        _ => None,
    }
}

/// A value that is JSON, or a string that holds JSON.
fn nested_json(v: &Value) -> Option<Value> {
    match v {
        Value::String(s) if !s.trim().is_empty() => serde_json::from_str(s).ok(),
        Value::Object(_) => Some(v.clone()),
        _ => None,
    }
}

/// The streams in a `stream_url` object, `stream_data` first.
pub fn streams(stream_url: &Value) -> Vec<DyStream> {
    let mut out: Vec<DyStream> = Vec::new();
    let mut push = |s: DyStream| {
        if !s.url.is_empty() && !out.iter().any(|o| o.url == s.url) {
            out.push(s);
        }
    };
    if let Some(sd) = nested_json(at(stream_url, "/live_core_sdk_data/pull_data/stream_data")) {
        for &q in QUALITIES {
            let main = at(&sd, &format!("/data/{q}/main"));
            if !main.is_object() {
                continue;
            }
            let encrypted = flag(at(main, "/enableEncryption")).unwrap_or(false);
            let codec = nested_json(at(main, "/sdk_params"))
                .and_then(|p| text(at(&p, "/VCodec")))
                .filter(|c| !c.is_empty());
            for (key, format) in [("flv", StreamFormat::Flv), ("hls", StreamFormat::Hls)] {
                push(DyStream {
                    quality: q,
                    format,
                    url: text_or_empty(at(main, &format!("/{key}"))),
                    origin: Origin::StreamData,
                    encrypted,
                    codec: codec.clone(),
                });
            }
        }
    }
    for (map, format) in [
        ("flv_pull_url", StreamFormat::Flv),
        ("hls_pull_url_map", StreamFormat::Hls),
    ] {
        let Some(obj) = at(stream_url, &format!("/{map}")).as_object() else {
            continue;
        };
        // Best first, whatever order the map is in.
        let mut entries: Vec<(&'static str, String)> = obj
            .iter()
            .filter_map(|(k, v)| Some((legacy_quality(k)?, text(v)?)))
            .collect();
        entries.sort_by_key(|(q, _)| QUALITIES.iter().position(|x| x == q));
        for (q, url) in entries {
            push(DyStream {
                quality: q,
                format,
                url,
                origin: Origin::Legacy,
                encrypted: false,
                codec: None,
            });
        }
    }
    if let Some(url) = text(at(stream_url, "/hls_pull_url")) {
        push(DyStream {
            quality: "origin",
            format: StreamFormat::Hls,
            url,
            origin: Origin::Legacy,
            encrypted: false,
            codec: None,
        });
    }
    out
}

/// Qualities in the order to try: the preferences first, then the ones below the last
/// preference (best first), then the ones above it (closest first).
pub fn quality_order(prefs: &[String]) -> Vec<&'static str> {
    let mut out: Vec<&'static str> = Vec::new();
    for p in prefs {
        if let Some(q) = QUALITIES.iter().find(|q| **q == p.as_str()) {
            if !out.contains(q) {
                out.push(q);
            }
        }
    }
    let anchor = out
        .last()
        .and_then(|l| QUALITIES.iter().position(|q| q == l))
        .unwrap_or(0);
    for q in &QUALITIES[anchor..] {
        if !out.contains(q) {
            out.push(q);
        }
    }
    for q in QUALITIES[..anchor].iter().rev() {
        if !out.contains(q) {
            out.push(q);
        }
    }
    out
}

/// The streams to try, in order: by quality preference, then by the configured formats, then
/// `stream_data` before the legacy maps. Encrypted streams and formats not configured are left
/// out.
pub fn ordered(streams: &[DyStream], prefs: &[String], formats: &[String]) -> Vec<DyStream> {
    let qualities = quality_order(prefs);
    let mut out: Vec<DyStream> = streams
        .iter()
        .filter(|s| !s.encrypted && formats.iter().any(|f| f == s.format_name()))
        .cloned()
        .collect();
    out.sort_by_key(|s| {
        (
            qualities.iter().position(|q| *q == s.quality),
            formats.iter().position(|f| f == s.format_name()),
            s.origin,
        )
    });
    out
}

/// Reads a room object (web/enter's `data.data[0]`, reflow's `data.room`, the page's `room`).
fn read_room(room: &Value, out: &mut DyRoom) {
    out.room_id = text(at(room, "/id_str"))
        .or_else(|| text(at(room, "/id")))
        .filter(|s| !s.is_empty() && s != "0");
    out.status = int(at(room, "/status")).or_else(|| int(at(room, "/status_str")));
    out.title = text_or_empty(at(room, "/title"));
    if let Some(n) = text(at(room, "/owner/nickname")).filter(|n| !n.is_empty()) {
        out.streamer = n;
    }
    if let Some(w) = text(at(room, "/owner/web_rid")).filter(|w| !w.is_empty()) {
        out.web_rid = Some(w);
    }
    let su = at(room, "/stream_url");
    out.has_stream_url = su.is_object();
    out.streams = streams(su);
}

const CANCELLED: &str = "账号已注销";

fn check_user(user: &Value, what: &str) -> Result<(), PlatformError> {
    if text(at(user, "/nickname")).as_deref() == Some(CANCELLED) {
        return Err(PlatformError::NotFound(format!(
            "{what}: the account is cancelled ({CANCELLED})"
        )));
    }
    Ok(())
}

fn status_code(v: &Value, what: &str) -> Result<(), PlatformError> {
    let code = int(at(v, "/status_code"))
        .ok_or_else(|| PlatformError::Malformed(format!("{what}: no status_code")))?;
    if code == 0 {
        return Ok(());
    }
    let said = text(at(v, "/data/prompts"))
        .or_else(|| text(at(v, "/data/message")))
        .or_else(|| text(at(v, "/status_msg")))
        .map(|m| format!(" \"{}\"", short(&m)))
        .unwrap_or_default();
    Err(PlatformError::Malformed(format!(
        "{what}: status_code {code}{said}"
    )))
}

/// `webcast/room/web/enter/`.
pub fn web_enter(body: &[u8]) -> Result<DyRoom, PlatformError> {
    let what = "web/enter";
    let v = parse_body(body, what)?;
    status_code(&v, what)?;
    let data = at(&v, "/data");
    let user = at(data, "/user");
    check_user(user, what)?;
    let mut out = DyRoom {
        streamer: text_or_empty(at(user, "/nickname")),
        prompts: text_or_empty(at(data, "/prompts")),
        ..DyRoom::default()
    };
    let room = match at(data, "/data/0") {
        r if r.is_object() => r,
        _ => at(data, "/room"),
    };
    if room.is_object() {
        read_room(room, &mut out);
        if out.status.is_none() {
            return Err(PlatformError::Malformed(format!(
                "{what}: the room has no status"
            )));
        }
        return Ok(out);
    }
    // No room object: an ended live says so, or at least names its streamer. Neither means we
    // cannot tell (risk control answers like this too), and "unknown" must not end a session.
    if out.prompts.contains("直播已结束") || user.is_object() {
        return Ok(out);
    }
    Err(PlatformError::Malformed(format!(
        "{what}: no room and no user in the answer (risk control, or an unknown room)"
    )))
}

/// The app's `webcast/room/reflow/info/`. It wants a signature (`a_bogus`) that liverec does
/// not compute; unsigned requests get `status_code` 10011. Not called by liverec.
pub fn reflow(body: &[u8]) -> Result<DyRoom, PlatformError> {
    let what = "reflow";
    let v = parse_body(body, what)?;
    if int(at(&v, "/status_code")) == Some(10011) {
        return Err(PlatformError::Unsupported(
            "douyin refused the unsigned reflow request (status_code 10011); use the room's live.douyin.com/<id> link instead"
                .into(),
        ));
    }
    status_code(&v, what)?;
    let data = at(&v, "/data");
    check_user(at(data, "/user"), what)?;
    let mut out = DyRoom {
        streamer: text_or_empty(at(data, "/user/nickname")),
        prompts: text_or_empty(at(data, "/prompts")),
        ..DyRoom::default()
    };
    let room = at(data, "/room");
    if room.is_object() {
        read_room(room, &mut out);
    }
    if out.web_rid.is_none() && out.room_id.is_none() && !out.prompts.contains("直播已结束") {
        return Err(PlatformError::Malformed(format!(
            "{what}: no room in the answer"
        )));
    }
    Ok(out)
}

/// The page state object that holds `roomInfo` (a `roomStore`).
pub fn room_store(store: &Value) -> Result<DyRoom, PlatformError> {
    let what = "room page";
    let info = at(store, "/roomInfo");
    let room = at(info, "/room");
    let anchor = at(info, "/anchor");
    if !room.is_object() && !anchor.is_object() {
        return Err(PlatformError::NotFound(format!(
            "{what}: neither a room nor an anchor (no such room)"
        )));
    }
    let mut out = DyRoom {
        web_rid: text(at(info, "/web_rid")).filter(|w| !w.is_empty()),
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
const MAX_STORES: usize = 8;

/// The JSON values that follow `"roomStore":` in `text`, up to [`MAX_STORES`] in `found`.
fn room_stores_in(text: &str, found: &mut Vec<Value>) {
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
fn percent_decode(s: &str) -> String {
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

/// The room page (`live.douyin.com/<web_rid>`): the real `roomStore` among the page's state
/// chunks. A page without one is a challenge page or a changed layout: blocked, not offline.
pub fn page(html: &[u8]) -> Result<DyRoom, PlatformError> {
    let what = "room page";
    let html = String::from_utf8_lossy(html);
    let mut stores = Vec::new();
    const PUSH: &str = "self.__pace_f.push([1,";
    let mut from = 0;
    while stores.len() < MAX_STORES {
        let Some(i) = html[from..].find(PUSH) else {
            break;
        };
        let start = from + i + PUSH.len();
        let mut it = serde_json::Deserializer::from_str(&html[start..]).into_iter::<String>();
        match it.next() {
            Some(Ok(chunk)) => {
                room_stores_in(&chunk, &mut stores);
                from = start + it.byte_offset();
            }
            _ => from = start,
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
        return Err(PlatformError::Blocked(format!(
            "{what}: no room state in the page (a JS challenge page?)"
        )));
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

/// `web_rid` values looked at in one profile page (a real page names one room).
const MAX_WEB_RIDS: usize = 64;

/// The live room a streamer's profile page names: the `web_rid` in its state (the URL-encoded
/// `RENDER_DATA` script, or `self.__pace_f` chunks), wherever it sits in it. `None` when the
/// page names none (the streamer is not live, or a challenge page) or names several different
/// ones (other streamers' rooms: which one is the streamer's cannot be told).
pub fn profile_web_rid(html: &[u8]) -> Option<String> {
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
    const PUSH: &str = "self.__pace_f.push([1,";
    let mut from = 0;
    while let Some(i) = html[from..].find(PUSH) {
        let start = from + i + PUSH.len();
        let mut it = serde_json::Deserializer::from_str(&html[start..]).into_iter::<String>();
        match it.next() {
            Some(Ok(chunk)) => {
                states.push(chunk);
                from = start + it.byte_offset();
            }
            _ => from = start,
        }
    }
    let mut found: Vec<String> = Vec::new();
    const KEY: &str = "\"web_rid\":";
    'states: for state in &states {
        let mut from = 0;
        while let Some(i) = state[from..].find(KEY) {
            let start = from + i + KEY.len();
            from = start;
            let mut it = serde_json::Deserializer::from_str(&state[start..]).into_iter::<Value>();
            let id = match it.next() {
                Some(Ok(Value::String(s))) => s,
                Some(Ok(Value::Number(n))) => n.to_string(),
                _ => continue,
            };
            if !id.is_empty() && !found.contains(&id) {
                found.push(id);
            }
            if found.len() >= MAX_WEB_RIDS {
                break 'states;
            }
        }
    }
    match found.as_slice() {
        [one] => Some(one.clone()),
        _ => None,
    }
}

/// A page state saved as JSON (`{"roomStore": {...}}`, as some tools dump it).
pub fn page_state(body: &[u8]) -> Result<DyRoom, PlatformError> {
    let v = parse_body(body, "room page state")?;
    let store = v.get("roomStore").unwrap_or(&v);
    room_store(store)
}

/// The `ttwid` value of one `Set-Cookie` header value.
pub fn ttwid_from_set_cookie(line: &str) -> Option<String> {
    let first = line.split(';').next()?.trim();
    let (name, value) = first.split_once('=')?;
    (name.trim() == "ttwid" && !value.trim().is_empty()).then(|| value.trim().to_string())
}

#[cfg(test)]
mod tests;

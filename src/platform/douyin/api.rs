//! Douyin answers, decoded: pure functions from bytes to typed results, no IO. The web pages
//! (room page, profile page) are read in [`page`].
//!
//! - `webcast/room/web/enter/`: `status_code` (0; 30003 when the live has ended), the room in
//!   `data.data[0]` (or `data.room`), the streamer in `data.user`. `status` 2 is live, 4 ended;
//!   `data.room_status` is 0 (live), 1 (a radio live: audio only) or 2 (ended). A `prompts` of
//!   "你不在主播设置的可见范围内" means the streamer does not show the live to this viewer.
//! - `stream_url`: `live_core_sdk_data.pull_data.stream_data` is JSON *inside a string*, keyed
//!   by quality (`origin`, `uhd`, `hd`, `sd`, `ld`, `md`; `ao` is audio only); `pull_datas`
//!   holds the same for the raw stream of a double-screen live; the older maps `flv_pull_url` /
//!   `hls_pull_url_map` use `FULL_HD1` (origin), `HD1` (hd), `SD1` (ld) and `SD2` (sd).
//! - the app reflow API (`data.room`, with `owner.web_rid`): how share links and profiles name
//!   their room, and the streams of lives web/enter lists without any.
//! - a streamer's profile page (`www.douyin.com/user/<sec_uid>`), which names the `web_rid` of
//!   the live room while the streamer is live (and maybe other streamers' rooms: the caller
//!   checks whose each is): the second way to resolve share links.
//! - the room page: state in `self.__pace_f.push([N,"…"])` chunks (a JS string holding JSON;
//!   2026: `roomStore.roomInfo.room` with `owner.nickname`, no `anchor`), or in an older
//!   URL-encoded `RENDER_DATA` script; the page holds two `roomStore`s and the first is an empty
//!   shell. Without an `__ac_nonce` cookie the page is a small JS challenge instead; under risk
//!   control, a captcha page ("验证码").

use serde_json::Value;

use super::super::json::{self, at, flag, int, parse_body, short, text, text_or_empty};
use super::super::{PlatformError, RoomStatus, StreamFormat};
use super::QUALITIES;

mod page;

pub(crate) use page::profile_rooms;
pub use page::{page, page_state};

/// Where a stream URL was found; within one quality and format, the first is tried first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Origin {
    /// `pull_datas.*.stream_data`: a double-screen live's raw stream, in its own pixels
    /// (`live_core_sdk_data` holds a version scaled to the usual width). Tried first, as
    /// rust-srec does by default (biliup and biliLive-tools make it an option).
    DoubleScreen,
    /// `live_core_sdk_data.pull_data.stream_data`
    StreamData,
    /// `flv_pull_url`, `hls_pull_url_map`, `hls_pull_url`
    Legacy,
}

/// The quality name of an audio-only stream (a radio live's only stream).
pub(crate) const AUDIO_ONLY: &str = "ao";

/// What web/enter says when the streamer does not show the live to this viewer.
pub(crate) const NOT_VISIBLE: &str = "你不在主播设置的可见范围内";
/// What web/enter and reflow say about a live that has ended.
const ENDED: &str = "直播已结束";
/// `status_code` of a web/enter answer for a live that has ended (biliLive-tools, 2026-03).
pub(crate) const ENDED_CODE: i64 = 30003;

#[derive(Debug, Clone, PartialEq)]
pub struct DyStream {
    /// One of [`QUALITIES`], or [`AUDIO_ONLY`].
    pub quality: &'static str,
    pub format: StreamFormat,
    pub url: String,
    pub origin: Origin,
    pub(crate) encrypted: bool,
    /// `h264`, `h265`, `bytevc1` when the answer says.
    pub(crate) codec: Option<String>,
}

impl DyStream {
    pub(crate) fn format_name(&self) -> &'static str {
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
    pub(crate) has_stream_url: bool,
    pub streams: Vec<DyStream>,
    pub(crate) prompts: String,
    /// The streamer's `sec_uid` (the reflow API is asked by it).
    pub(crate) sec_uid: Option<String>,
    /// A radio live (`room_status` 1, `live_type_audio`, page `enter_mode` 1): audio only.
    pub(crate) radio: bool,
    /// Why Douyin does not show this room to us ([`NOT_VISIBLE`]), when it says so.
    pub(crate) hidden: Option<String>,
    /// The live's cover image (`cover.url_list[0]`).
    pub(crate) cover: Option<String>,
}

impl DyRoom {
    pub fn is_live(&self) -> bool {
        // A radio live may not say 2; it is live unless its room says it ended.
        self.status == Some(2) || (self.radio && self.status.is_some_and(|s| s != 4))
    }

    /// Why this room cannot be recorded whatever is tried, when that is so.
    pub(crate) fn unrecordable(&self) -> Option<String> {
        if let Some(p) = &self.hidden {
            return Some(format!(
                "Douyin does not show this live to liverec (\"{p}\": the streamer limits who may \
                 watch; a cookie of an account they let watch may help)"
            ));
        }
        if self.is_live() && !self.streams.is_empty() && self.streams.iter().all(|s| s.encrypted) {
            return Some("every stream of this live is encrypted (a paid live?)".into());
        }
        None
    }

    pub fn status(&self) -> RoomStatus {
        let live = self.is_live();
        RoomStatus {
            live,
            title: self.title.clone(),
            streamer: self.streamer.clone(),
            session_hint: if live { self.room_id.clone() } else { None },
            unrecordable: None,
            cover: self.cover.clone(),
        }
    }

    /// Why nothing can be recorded from this answer, when that is so.
    pub fn refusal(&self) -> Option<PlatformError> {
        if let Some(why) = self.unrecordable() {
            return Some(PlatformError::Unsupported(why));
        }
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

/// Entries of a `pull_datas` object looked at (a real answer has one).
const MAX_PULL_DATAS: usize = 4;

/// The streams of one `stream_data` (JSON, or a string holding it) into `push`; audio-only
/// entries into `audio`.
fn stream_data_streams(
    sd: &Value,
    origin: Origin,
    push: &mut impl FnMut(DyStream),
    audio: &mut Vec<DyStream>,
) {
    let Some(sd) = nested_json(sd) else {
        return;
    };
    for &q in QUALITIES.iter().chain(&[AUDIO_ONLY]) {
        let main = at(&sd, &format!("/data/{q}/main"));
        if !main.is_object() {
            continue;
        }
        let encrypted = flag(at(main, "/enableEncryption")).unwrap_or(false);
        let codec = nested_json(at(main, "/sdk_params"))
            .and_then(|p| text(at(&p, "/VCodec")))
            .filter(|c| !c.is_empty());
        for (key, format) in [("flv", StreamFormat::Flv), ("hls", StreamFormat::Hls)] {
            let s = DyStream {
                quality: q,
                format,
                url: text_or_empty(at(main, &format!("/{key}"))),
                origin,
                encrypted,
                codec: codec.clone(),
            };
            if q == AUDIO_ONLY {
                if !s.url.is_empty() {
                    audio.push(s);
                }
            } else {
                push(s);
            }
        }
    }
}

/// The streams in a `stream_url` object: a double-screen live's raw stream (`pull_datas`)
/// first, then `stream_data`, then the legacy maps. The audio-only (`ao`) entry is left out
/// unless it is the only stream (a radio live): a video live's `ao` is its sound alone.
pub(crate) fn streams(stream_url: &Value) -> Vec<DyStream> {
    let mut out: Vec<DyStream> = Vec::new();
    let mut audio: Vec<DyStream> = Vec::new();
    let mut push = |s: DyStream| {
        if !s.url.is_empty() && !out.iter().any(|o| o.url == s.url) {
            out.push(s);
        }
    };
    if let Some(entries) = at(stream_url, "/pull_datas").as_object() {
        for entry in entries.values().take(MAX_PULL_DATAS) {
            stream_data_streams(
                at(entry, "/stream_data"),
                Origin::DoubleScreen,
                &mut push,
                &mut audio,
            );
        }
    }
    stream_data_streams(
        at(stream_url, "/live_core_sdk_data/pull_data/stream_data"),
        Origin::StreamData,
        &mut push,
        &mut audio,
    );
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
    if out.is_empty() {
        for s in audio {
            if !out.iter().any(|o| o.url == s.url) {
                out.push(s);
            }
        }
    }
    out
}

/// Qualities in the order to try: the preferences first, then the ones below the last
/// preference (best first), then the ones above it (closest first).
pub(crate) fn quality_order(prefs: &[String]) -> Vec<&'static str> {
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
    if let Some(c) = text(at(room, "/cover/url_list/0")).filter(|u| u.starts_with("http")) {
        out.cover = Some(c);
    }
    if let Some(n) = text(at(room, "/owner/nickname")).filter(|n| !n.is_empty()) {
        out.streamer = n;
    }
    if let Some(w) = text(at(room, "/owner/web_rid")).filter(|w| !w.is_empty()) {
        out.web_rid = Some(w);
    }
    if let Some(u) = text(at(room, "/owner/sec_uid")).filter(|u| !u.is_empty()) {
        out.sec_uid = Some(u);
    }
    if flag(at(room, "/live_type_audio")) == Some(true) {
        out.radio = true;
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

/// An HTML page where JSON was expected: a captcha page is named as such.
fn html_instead(body: &[u8], what: &str) -> Option<PlatformError> {
    let t = json::trim_start(body);
    if t.first() != Some(&b'<') {
        return None;
    }
    is_captcha(t).then(|| {
        PlatformError::Blocked(format!(
            "{what}: a captcha page (验证码) where JSON was expected"
        ))
    })
}

/// Douyin's "verify you are human" page (验证码中间页).
pub(crate) fn is_captcha(html: &[u8]) -> bool {
    const CAPTCHA: &[u8] = "验证码".as_bytes();
    html.windows(CAPTCHA.len()).any(|w| w == CAPTCHA)
}

/// The user and prompts of an answer's `data`, and whether the prompt says the live is hidden.
fn data_user(data: &Value, what: &str) -> Result<DyRoom, PlatformError> {
    let user = at(data, "/user");
    check_user(user, what)?;
    let prompts = text_or_empty(at(data, "/prompts"));
    Ok(DyRoom {
        streamer: text_or_empty(at(user, "/nickname")),
        sec_uid: text(at(user, "/sec_uid")).filter(|u| !u.is_empty()),
        hidden: prompts.contains(NOT_VISIBLE).then(|| short(&prompts)),
        radio: int(at(data, "/room_status")) == Some(1),
        prompts,
        ..DyRoom::default()
    })
}

/// `webcast/room/web/enter/`.
pub fn web_enter(body: &[u8]) -> Result<DyRoom, PlatformError> {
    let what = "web/enter";
    if let Some(e) = html_instead(body, what) {
        return Err(e);
    }
    let v = parse_body(body, what)?;
    if int(at(&v, "/status_code")) == Some(ENDED_CODE) {
        // The live has ended: an offline answer, whatever else it holds.
        return Ok(DyRoom {
            prompts: format!("{ENDED} (status_code {ENDED_CODE})"),
            ..DyRoom::default()
        });
    }
    status_code(&v, what)?;
    let data = at(&v, "/data");
    let mut out = data_user(data, what)?;
    let room = match at(data, "/data/0") {
        r if r.is_object() => r,
        _ => at(data, "/room"),
    };
    if room.is_object() {
        let sec_uid = out.sec_uid.take();
        read_room(room, &mut out);
        out.sec_uid = sec_uid.or(out.sec_uid.take());
        if out.status.is_none() && out.hidden.is_none() {
            return Err(PlatformError::Malformed(format!(
                "{what}: the room has no status"
            )));
        }
        return Ok(out);
    }
    // No room object: an ended live says so, a hidden one too, or the answer at least names
    // the streamer. None of these means we cannot tell (risk control answers like this too),
    // and "unknown" must not end a session.
    if out.prompts.contains(ENDED) || out.hidden.is_some() || at(data, "/user").is_object() {
        return Ok(out);
    }
    Err(PlatformError::Malformed(format!(
        "{what}: no room and no user in the answer (risk control, or an unknown room)"
    )))
}

/// The app's `webcast/room/reflow/info/`, asked by `room_id` and `sec_user_id` (`room_id` 2
/// with a streamer's `sec_uid` names the streamer's current live). `status_code` 10011 is how
/// it refuses a request (unsigned, or a signature it does not accept): unknown, not a fact.
pub fn reflow(body: &[u8]) -> Result<DyRoom, PlatformError> {
    let what = "reflow";
    if let Some(e) = html_instead(body, what) {
        return Err(e);
    }
    let v = parse_body(body, what)?;
    if int(at(&v, "/status_code")) == Some(10011) {
        return Err(PlatformError::Malformed(format!(
            "{what}: the request was refused (status_code 10011: the a_bogus signature or \
             the parameters were not accepted)"
        )));
    }
    status_code(&v, what)?;
    let data = at(&v, "/data");
    let mut out = data_user(data, what)?;
    let room = at(data, "/room");
    if room.is_object() {
        read_room(room, &mut out);
        if flag(at(room, "/live_type_audio")) == Some(true) {
            out.radio = true;
        }
    }
    if out.web_rid.is_none()
        && out.room_id.is_none()
        && !out.prompts.contains(ENDED)
        && out.hidden.is_none()
        && !at(data, "/user").is_object()
    {
        return Err(PlatformError::Malformed(format!(
            "{what}: no room and no user in the answer"
        )));
    }
    Ok(out)
}

/// The `ttwid` value of one `Set-Cookie` header value.
pub fn ttwid_from_set_cookie(line: &str) -> Option<String> {
    let first = line.split(';').next()?.trim();
    let (name, value) = first.split_once('=')?;
    (name.trim() == "ttwid" && !value.trim().is_empty()).then(|| value.trim().to_string())
}

#[cfg(test)]
mod tests;

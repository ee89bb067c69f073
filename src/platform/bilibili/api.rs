//! Bilibili API answers, decoded: pure functions from bytes to typed results, no IO. Every
//! decision about what an answer means (live or not, which error, which stream, whether it can
//! be recorded at all) lives here and is tested on byte fixtures.
//!
//! The common envelope is `{code, message|msg, ttl, data}`; `code` 0 is success.

use serde_json::Value;

use super::super::json::{at, flag, int, parse_body, short, text, text_or_empty, uint};
use super::super::{PlatformError, RoomSpec, RoomStatus, StreamFormat};
use super::wbi::WbiKeys;

/// The codecs liverec records, by Bilibili's `codec_name` (`codecs = [...]` takes these).
pub(crate) const CODECS: [&str; 2] = ["avc", "hevc"];

/// A wbi-protected endpoint either answers, or refuses the signature.
#[derive(Debug, Clone, PartialEq)]
pub enum Signed<T> {
    Data(T),
    Refused(Refusal),
}

/// How a wbi-protected endpoint refused a call.
#[derive(Debug, Clone, PartialEq)]
pub enum Refusal {
    /// `code` 0 with only a `v_voucher` in `data`: the signature is missing or wrong.
    Voucher,
    /// `code` -352 (bare, or with a `v_voucher`): on a signed call, the signature or the
    /// cookie was refused before the IP is; on an unsigned one, it is risk control.
    Code352(String),
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Voucher => f.write_str("a v_voucher instead of data"),
            Self::Code352(m) if m.is_empty() || m == "-352" => f.write_str("code -352"),
            Self::Code352(m) => write!(f, "code -352 \"{m}\""),
        }
    }
}

struct Envelope {
    code: i64,
    message: String,
    data: Value,
}

fn envelope(body: &[u8], what: &str) -> Result<Envelope, PlatformError> {
    let v = parse_body(body, what)?;
    if !v.is_object() {
        return Err(PlatformError::Malformed(format!(
            "{what}: the answer is not a JSON object"
        )));
    }
    let code = int(at(&v, "/code"))
        .ok_or_else(|| PlatformError::Malformed(format!("{what}: the answer has no `code`")))?;
    let message = text(at(&v, "/message"))
        .filter(|m| !m.is_empty())
        .or_else(|| text(at(&v, "/msg")))
        .unwrap_or_default();
    let data = v.get("data").cloned().unwrap_or(Value::Null);
    Ok(Envelope {
        code,
        message: short(&message),
        data,
    })
}

/// Maps a non-zero `code` to an error.
fn code_error(code: i64, message: &str, what: &str) -> PlatformError {
    let said = if message.is_empty() || *message == code.to_string() {
        String::new()
    } else {
        format!(" \"{message}\"")
    };
    match code {
        -412 => PlatformError::Blocked(format!("{what}: code -412{said} (request intercepted)")),
        -352 => PlatformError::Blocked(format!("{what}: code -352{said} (risk-control check)")),
        -799 => PlatformError::Blocked(format!("{what}: code -799{said} (too many requests)")),
        60004 | 19002000 => {
            PlatformError::NotFound(format!("{what}: code {code}{said} (no such room)"))
        }
        19002005 => PlatformError::Unsupported(format!(
            "{what}: code 19002005{said}: the room is password-protected (encrypted)"
        )),
        _ => PlatformError::Malformed(format!("{what}: code {code}{said}")),
    }
}

fn checked(body: &[u8], what: &str) -> Result<Envelope, PlatformError> {
    let env = envelope(body, what)?;
    if env.code != 0 {
        return Err(code_error(env.code, &env.message, what));
    }
    Ok(env)
}

/// `data` holds a `v_voucher` and not the object the endpoint should answer with.
fn is_voucher_only(data: &Value, expected: &str) -> bool {
    data.get("v_voucher").is_some() && data.get(expected).is_none()
}

/// Like [`checked`], for a wbi-protected endpoint: `-352` and a voucher-only `data` are
/// refusals of the call, not errors (the caller decides what they mean).
fn checked_signed(
    body: &[u8],
    what: &str,
    expected: &str,
) -> Result<Result<Envelope, Refusal>, PlatformError> {
    let env = envelope(body, what)?;
    if env.code == -352 {
        return Ok(Err(Refusal::Code352(env.message)));
    }
    if env.code != 0 {
        return Err(code_error(env.code, &env.message, what));
    }
    if is_voucher_only(&env.data, expected) {
        return Ok(Err(Refusal::Voucher));
    }
    Ok(Ok(env))
}

const PAID: &str = "a paid live (special_type 1): only paying viewers can watch it";
const PASSWORD: &str =
    "a password-protected room (encrypted): liverec cannot enter the password for it";
const DRM: &str = "a DRM-protected \"charging\" live (all_special_types has 203): its stream is encrypted for paying viewers";
const GUARD_ONLY: &str = "a guard-only live (the play URL lists no stream): only the streamer's guards (舰长 and up) may watch it";

/// `room/v1/Room/room_init?id=`: resolves a short or long id.
#[derive(Debug, Clone, PartialEq)]
pub struct RoomInit {
    pub room_id: u64,
    pub short_id: u64,
    pub(crate) uid: u64,
    pub live_status: i64,
    /// Unix seconds of the live start (a large negative number when offline).
    pub(crate) live_time: i64,
    pub(crate) encrypted: bool,
    pub(crate) pwd_verified: bool,
    /// 0 normal, 1 paid, 2 special event.
    pub(crate) special_type: i64,
    /// 1 for a paid ("special") live.
    pub(crate) is_sp: i64,
    pub(crate) locked: bool,
}

impl RoomInit {
    /// Why a live in this room cannot be recorded, when this answer already tells.
    pub(crate) fn unrecordable(&self) -> Option<String> {
        if self.encrypted && !self.pwd_verified {
            return Some(PASSWORD.into());
        }
        if self.is_sp == 1 || self.special_type == 1 {
            return Some(PAID.into());
        }
        None
    }

    /// The live status alone (no title, streamer or session hint: a hint from another endpoint
    /// than getInfoByRoom's could differ for the same broadcast and split a session): the
    /// unsigned fallback for status.
    pub fn status(&self) -> RoomStatus {
        let live = self.live_status == 1;
        RoomStatus {
            live,
            unrecordable: if live { self.unrecordable() } else { None },
            ..RoomStatus::default()
        }
    }
}

pub fn room_init(body: &[u8]) -> Result<RoomInit, PlatformError> {
    room_init_as(body, "room_init")
}

/// [`room_init`], with errors naming the call as `what` (`room_init (unsigned fallback)`).
pub(crate) fn room_init_as(body: &[u8], what: &str) -> Result<RoomInit, PlatformError> {
    let env = checked(body, what)?;
    let d = &env.data;
    let room_id = uint(at(d, "/room_id"))
        .filter(|&n| n > 0)
        .ok_or_else(|| PlatformError::Malformed(format!("{what}: no data.room_id")))?;
    Ok(RoomInit {
        room_id,
        short_id: uint(at(d, "/short_id")).unwrap_or(0),
        uid: uint(at(d, "/uid")).unwrap_or(0),
        live_status: int(at(d, "/live_status")).unwrap_or(0),
        live_time: int(at(d, "/live_time")).unwrap_or(0),
        encrypted: flag(at(d, "/encrypted")).unwrap_or(false),
        pwd_verified: flag(at(d, "/pwd_verified")).unwrap_or(false),
        special_type: int(at(d, "/special_type")).unwrap_or(0),
        is_sp: int(at(d, "/is_sp")).unwrap_or(0),
        locked: flag(at(d, "/is_locked")).unwrap_or(false),
    })
}

/// `xlive/web-room/v1/index/getInfoByRoom?room_id=`: status, title, streamer.
#[derive(Debug, Clone, PartialEq)]
pub struct RoomInfo {
    pub room_id: u64,
    pub(crate) uid: u64,
    pub title: String,
    pub streamer: String,
    /// 0 offline, 1 live, 2 round-play (a replay loop: not live).
    pub live_status: i64,
    /// Unix seconds; 0 when not live.
    pub(crate) live_start_time: i64,
    pub(crate) live_id: Option<String>,
    pub(crate) special_type: i64,
    pub(crate) locked: bool,
}

impl RoomInfo {
    pub fn is_live(&self) -> bool {
        self.live_status == 1
    }

    /// Changes with each broadcast: the start time, else the live id.
    pub fn session_hint(&self) -> Option<String> {
        if !self.is_live() {
            return None;
        }
        if self.live_start_time > 0 {
            return Some(self.live_start_time.to_string());
        }
        self.live_id.clone()
    }

    /// A live that only paying viewers may watch (`special_type` 1).
    pub(crate) fn is_paid(&self) -> bool {
        self.special_type == 1
    }

    pub fn status(&self) -> RoomStatus {
        let live = self.is_live();
        RoomStatus {
            live,
            title: self.title.clone(),
            streamer: self.streamer.clone(),
            session_hint: self.session_hint(),
            unrecordable: (live && self.is_paid()).then(|| PAID.to_string()),
        }
    }
}

pub fn room_info(body: &[u8]) -> Result<Signed<RoomInfo>, PlatformError> {
    room_info_as(body, "getInfoByRoom")
}

/// [`room_info`], with errors naming the call as `what` (`getInfoByRoom (wbi)`).
pub(crate) fn room_info_as(body: &[u8], what: &str) -> Result<Signed<RoomInfo>, PlatformError> {
    let env = match checked_signed(body, what, "room_info")? {
        Ok(env) => env,
        Err(refusal) => return Ok(Signed::Refused(refusal)),
    };
    let d = &env.data;
    let r = at(d, "/room_info");
    if !r.is_object() {
        return Err(PlatformError::Malformed(format!(
            "{what}: no data.room_info"
        )));
    }
    let room_id = uint(at(r, "/room_id"))
        .filter(|&n| n > 0)
        .ok_or_else(|| PlatformError::Malformed(format!("{what}: no room_info.room_id")))?;
    let live_status = int(at(r, "/live_status"))
        .ok_or_else(|| PlatformError::Malformed(format!("{what}: no room_info.live_status")))?;
    Ok(Signed::Data(RoomInfo {
        room_id,
        uid: uint(at(r, "/uid")).unwrap_or(0),
        title: text_or_empty(at(r, "/title")),
        streamer: text_or_empty(at(d, "/anchor_info/base_info/uname")),
        live_status,
        live_start_time: int(at(r, "/live_start_time")).unwrap_or(0),
        live_id: text(at(r, "/live_id_str"))
            .or_else(|| text(at(r, "/live_id")))
            .filter(|s| !s.is_empty() && s != "0"),
        special_type: int(at(r, "/special_type")).unwrap_or(0),
        locked: int(at(r, "/lock_status")).unwrap_or(0) != 0,
    }))
}

/// Who `nav` says the cookie belongs to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Login {
    pub logged_in: bool,
    pub(crate) uid: u64,
    pub(crate) uname: String,
    /// An active 大会员 (`vipStatus` 1).
    pub(crate) vip: bool,
}

impl Login {
    /// `logged in as 某人 (uid 42, 大会员)` / `anonymous`, for log lines and `probe`.
    pub(crate) fn describe(&self) -> String {
        if !self.logged_in {
            return "anonymous".into();
        }
        let name = if self.uname.is_empty() {
            "an unnamed account"
        } else {
            &self.uname
        };
        let vip = if self.vip { ", 大会员" } else { "" };
        format!("logged in as {name} (uid {}{vip})", self.uid)
    }
}

/// What `nav` answers: the wbi keys, and the login state of the cookie it was asked with.
#[derive(Debug, Clone, PartialEq)]
pub struct Nav {
    pub keys: WbiKeys,
    pub login: Login,
}

/// `x/web-interface/nav` (on api.bilibili.com): the wbi keys and the login state. Answers
/// `code` -101 when not logged in, with the keys all the same.
pub fn nav(body: &[u8]) -> Result<Nav, PlatformError> {
    let what = "nav";
    let env = envelope(body, what)?;
    if env.code != 0 && env.code != -101 {
        return Err(code_error(env.code, &env.message, what));
    }
    let d = &env.data;
    let img = text_or_empty(at(d, "/wbi_img/img_url"));
    let sub = text_or_empty(at(d, "/wbi_img/sub_url"));
    let keys = WbiKeys::from_urls(&img, &sub)
        .ok_or_else(|| PlatformError::Malformed(format!("{what}: no usable data.wbi_img")))?;
    // -101 is "not logged in" whatever `isLogin` says.
    let logged_in = env.code == 0 && flag(at(d, "/isLogin")).unwrap_or(false);
    let login = if logged_in {
        Login {
            logged_in,
            uid: uint(at(d, "/mid")).unwrap_or(0),
            uname: short(&text_or_empty(at(d, "/uname"))),
            vip: int(at(d, "/vipStatus")).unwrap_or(0) == 1,
        }
    } else {
        Login::default()
    };
    Ok(Nav { keys, login })
}

/// The stream formats Bilibili offers, by their config names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BiliFormat {
    /// `http_stream` / `flv`
    Flv,
    /// `http_hls` / `ts`
    HlsTs,
    /// `http_hls` / `fmp4`
    HlsFmp4,
}

impl BiliFormat {
    pub fn name(self) -> &'static str {
        match self {
            Self::Flv => "flv",
            Self::HlsTs => "hls-ts",
            Self::HlsFmp4 => "hls-fmp4",
        }
    }

    pub fn stream_format(self) -> StreamFormat {
        match self {
            Self::Flv => StreamFormat::Flv,
            Self::HlsTs | Self::HlsFmp4 => StreamFormat::Hls,
        }
    }

    fn from_names(protocol: &str, format: &str) -> Option<Self> {
        match (protocol, format) {
            ("http_stream", "flv") => Some(Self::Flv),
            ("http_hls", "ts") => Some(Self::HlsTs),
            ("http_hls", "fmp4") => Some(Self::HlsFmp4),
            _ => None,
        }
    }
}

/// One CDN node for a stream: the URL is `host + base_url + extra`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct UrlInfo {
    pub(crate) host: String,
    pub(crate) extra: String,
}

/// One codec entry of `getRoomPlayInfo`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PlayStream {
    pub(crate) format: BiliFormat,
    pub(crate) codec: String,
    pub(crate) current_qn: u32,
    pub(crate) accept_qn: Vec<u32>,
    pub(crate) base_url: String,
    pub(crate) hosts: Vec<UrlInfo>,
}

/// `xlive/web-room/v2/index/getRoomPlayInfo`.
#[derive(Debug, Clone, PartialEq)]
pub struct PlayInfo {
    pub room_id: u64,
    pub(crate) live_status: i64,
    pub(crate) encrypted: bool,
    pub(crate) pwd_verified: bool,
    pub special_types: Vec<i64>,
    /// `playurl_info.playurl` was present (null when offline, or area-blocked while live).
    pub has_playurl: bool,
    /// Entries in `playurl.stream` as sent, usable or not; `None` when it is not a list. An
    /// empty list is a guard-only live.
    pub(crate) listed_streams: Option<usize>,
    pub(crate) streams: Vec<PlayStream>,
    /// `g_qn_desc`: qn -> name (`10000` -> `原画`).
    pub(crate) qn_desc: Vec<(u32, String)>,
}

impl PlayInfo {
    pub fn is_live(&self) -> bool {
        self.live_status == 1
    }

    /// Every qn some codec entry could be asked for, best first.
    pub(crate) fn accept_qn(&self) -> Vec<u32> {
        accept_of(self.streams.iter())
    }

    pub(crate) fn has_current(&self, qn: u32) -> bool {
        self.streams.iter().any(|s| s.current_qn == qn)
    }

    /// `10000` -> `10000 原画`.
    pub(crate) fn qn_label(&self, qn: u32) -> String {
        match self.qn_desc.iter().find(|(q, _)| *q == qn) {
            Some((_, d)) if !d.is_empty() => format!("{qn} {d}"),
            _ => qn.to_string(),
        }
    }

    /// Why this live cannot be recorded at all (not: not now), when this answer tells.
    pub(crate) fn unrecordable(&self) -> Option<String> {
        if self.encrypted && !self.pwd_verified {
            return Some(PASSWORD.into());
        }
        if !self.is_live() {
            return None;
        }
        if self.special_types.contains(&203) {
            return Some(DRM.into());
        }
        if self.has_playurl && self.listed_streams == Some(0) {
            return Some(GUARD_ONLY.into());
        }
        None
    }

    /// Why this answer cannot be recorded, when it cannot.
    pub fn refusal(&self) -> Option<PlatformError> {
        if let Some(why) = self.unrecordable() {
            return Some(PlatformError::Unsupported(why));
        }
        if !self.is_live() {
            return Some(PlatformError::NoStream(format!(
                "the room is not live (live_status {})",
                self.live_status
            )));
        }
        if !self.has_playurl {
            return Some(PlatformError::NoStream(
                "live, but getRoomPlayInfo has no playurl (blocked in this region, or a special room)"
                    .into(),
            ));
        }
        None
    }
}

fn accept_of<'a>(streams: impl Iterator<Item = &'a PlayStream>) -> Vec<u32> {
    let mut all: Vec<u32> = streams
        .flat_map(|s| s.accept_qn.iter().copied().chain([s.current_qn]))
        .filter(|&q| q > 0)
        .collect();
    all.sort_unstable_by(|a, b| b.cmp(a));
    all.dedup();
    all
}

fn qn_list(v: &Value) -> Vec<u32> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|q| uint(q).and_then(|n| u32::try_from(n).ok()))
                .collect()
        })
        .unwrap_or_default()
}

pub fn play_info(body: &[u8]) -> Result<Signed<PlayInfo>, PlatformError> {
    play_info_as(body, "getRoomPlayInfo")
}

/// [`play_info`], with errors naming the call as `what` (`getRoomPlayInfo (wbi)`).
pub(crate) fn play_info_as(body: &[u8], what: &str) -> Result<Signed<PlayInfo>, PlatformError> {
    let env = match checked_signed(body, what, "live_status")? {
        Ok(env) => env,
        Err(refusal) => return Ok(Signed::Refused(refusal)),
    };
    let d = &env.data;
    if !d.is_object() {
        return Err(PlatformError::Malformed(format!("{what}: no data")));
    }
    let live_status = int(at(d, "/live_status"))
        .ok_or_else(|| PlatformError::Malformed(format!("{what}: no data.live_status")))?;
    let playurl = at(d, "/playurl_info/playurl");
    let listed = playurl.get("stream").and_then(Value::as_array);
    let mut streams = Vec::new();
    for s in listed.into_iter().flatten() {
        let protocol = text_or_empty(at(s, "/protocol_name"));
        for f in s
            .get("format")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let Some(format) =
                BiliFormat::from_names(&protocol, &text_or_empty(at(f, "/format_name")))
            else {
                continue;
            };
            for c in f
                .get("codec")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let base_url = text_or_empty(at(c, "/base_url"));
                let hosts: Vec<UrlInfo> = c
                    .get("url_info")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(|u| {
                        let host = text_or_empty(at(u, "/host"));
                        (!host.is_empty()).then(|| UrlInfo {
                            host,
                            extra: text_or_empty(at(u, "/extra")),
                        })
                    })
                    .collect();
                // An entry can be present but empty (current_qn 0, base_url "", url_info null).
                if base_url.is_empty() || hosts.is_empty() {
                    continue;
                }
                streams.push(PlayStream {
                    format,
                    codec: text_or_empty(at(c, "/codec_name")),
                    current_qn: uint(at(c, "/current_qn"))
                        .and_then(|n| u32::try_from(n).ok())
                        .unwrap_or(0),
                    accept_qn: qn_list(at(c, "/accept_qn")),
                    base_url,
                    hosts,
                });
            }
        }
    }
    let qn_desc = playurl
        .get("g_qn_desc")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|q| {
            let qn = u32::try_from(uint(at(q, "/qn"))?).ok()?;
            Some((qn, text_or_empty(at(q, "/desc"))))
        })
        .collect();
    Ok(Signed::Data(PlayInfo {
        room_id: uint(at(d, "/room_id")).unwrap_or(0),
        live_status,
        encrypted: flag(at(d, "/encrypted")).unwrap_or(false),
        pwd_verified: flag(at(d, "/pwd_verified")).unwrap_or(true),
        special_types: at(d, "/all_special_types")
            .as_array()
            .map(|a| a.iter().filter_map(int).collect())
            .unwrap_or_default(),
        has_playurl: playurl.is_object(),
        listed_streams: listed.map(Vec::len),
        streams,
        qn_desc,
    }))
}

/// What a room asks for: qualities, formats and codecs in order of preference.
#[derive(Debug, Clone, Copy)]
pub struct Prefs<'a> {
    pub quality: &'a [String],
    pub formats: &'a [String],
    /// Empty: AVC first at any quality, HEVC as the fallback.
    pub codecs: &'a [String],
}

impl<'a> Prefs<'a> {
    pub(crate) fn of(room: &'a RoomSpec) -> Self {
        Self {
            quality: &room.quality,
            formats: &room.formats,
            codecs: &room.codecs,
        }
    }

    /// An entry whose codec the room listed (every entry, without a list).
    fn listed(&self, codec: &str) -> bool {
        self.codecs.is_empty() || self.codecs.iter().any(|c| c == codec)
    }

    /// Position in the codec preference; codecs not listed come after every listed one.
    fn codec_rank(&self, codec: &str) -> usize {
        if self.codecs.is_empty() {
            return match codec {
                "avc" => 0,
                "hevc" => 1,
                _ => 2,
            };
        }
        self.codecs
            .iter()
            .position(|c| c == codec)
            .unwrap_or(self.codecs.len())
    }

    fn format_rank(&self, format: BiliFormat) -> Option<usize> {
        self.formats.iter().position(|f| f == format.name())
    }
}

/// The qn to ask for first: the first number in the preference list, else 10000 (原画, the
/// source; the answer's `accept_qn` shows whether anything better exists).
pub(crate) fn first_qn(prefs: &[String]) -> u32 {
    match prefs.first().map(|p| p.parse::<u32>()) {
        Some(Ok(qn)) => qn,
        _ => 10000,
    }
}

/// The qn the preferences pick among those available: the first preference that is available
/// (`best` = the highest), else the highest available.
pub(crate) fn wanted_qn(prefs: &[String], accept: &[u32]) -> Option<u32> {
    let best = accept.iter().copied().max()?;
    for p in prefs {
        if p == "best" {
            return Some(best);
        }
        if let Ok(qn) = p.parse::<u32>() {
            if accept.contains(&qn) {
                return Some(qn);
            }
        }
    }
    Some(best)
}

/// The qn wanted among what the listed codecs offer.
pub(crate) fn wanted(info: &PlayInfo, prefs: &Prefs<'_>) -> Option<u32> {
    let listed = accept_of(info.streams.iter().filter(|s| prefs.listed(&s.codec)));
    wanted_qn(prefs.quality, &listed)
}

/// The qn to ask for again, when no entry of a listed codec carries the wanted one.
pub fn rerequest_qn(info: &PlayInfo, prefs: &Prefs<'_>) -> Option<u32> {
    let want = wanted(info, prefs)?;
    let served = info
        .streams
        .iter()
        .any(|s| prefs.listed(&s.codec) && s.current_qn == want);
    (!served).then_some(want)
}

/// The answer serves less than the qn it was asked for (the best entry of a listed codec is
/// below it): Bilibili capped the request.
pub(crate) fn served_below(info: &PlayInfo, prefs: &Prefs<'_>, asked: u32) -> bool {
    info.streams
        .iter()
        .filter(|s| prefs.listed(&s.codec))
        .map(|s| s.current_qn)
        .max()
        .is_some_and(|best| best < asked)
}

/// `(wanted, offered)` when the stream liverec would record first is below the quality the
/// preferences want among what its codec is offered in (with a `codecs` list: among what the
/// listed codecs are offered in). A room whose best is HEVC-only is not "capped" for a room
/// that records AVC.
pub(crate) fn capped(info: &PlayInfo, prefs: &Prefs<'_>) -> Option<(u32, u32)> {
    let first = candidates(info, prefs).into_iter().next()?;
    let want = if prefs.codecs.is_empty() {
        wanted_qn(
            prefs.quality,
            &accept_of(info.streams.iter().filter(|s| s.codec == first.codec)),
        )?
    } else {
        wanted(info, prefs)?
    };
    (first.qn < want).then_some((want, first.qn))
}

/// One stream URL to try.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    pub url: String,
    pub format: BiliFormat,
    pub qn: u32,
    pub codec: String,
    pub(crate) quality: String,
}

/// `.mcdn.` hosts are P2P edge nodes: often unreliable, so they go last.
pub(crate) fn is_mcdn(host: &str) -> bool {
    host.contains(".mcdn.")
}

/// Every URL of an answer, in the order to try, formats not configured left out. Without a
/// `codecs` list: by the configured formats, AVC before HEVC (it plays everywhere). With one:
/// the wanted quality first (whatever the format), then by format; the listed codecs' order
/// breaks ties, and codecs not listed come after every listed one. Within an entry its hosts
/// go in the given order, `.mcdn.` hosts last.
pub fn candidates(info: &PlayInfo, prefs: &Prefs<'_>) -> Vec<Candidate> {
    let want = if prefs.codecs.is_empty() {
        None
    } else {
        wanted(info, prefs)
    };
    let mut entries: Vec<(usize, &PlayStream)> = info
        .streams
        .iter()
        .filter_map(|s| Some((prefs.format_rank(s.format)?, s)))
        .collect();
    entries.sort_by_key(|(format, s)| {
        (
            !prefs.listed(&s.codec),
            want.is_some_and(|w| s.current_qn != w),
            *format,
            prefs.codec_rank(&s.codec),
        )
    });
    let mut out: Vec<Candidate> = Vec::new();
    for (_, s) in entries {
        let mut hosts: Vec<&UrlInfo> = s.hosts.iter().collect();
        hosts.sort_by_key(|h| is_mcdn(&h.host));
        for h in hosts {
            let url = format!("{}{}{}", h.host.trim_end_matches('/'), s.base_url, h.extra);
            if out.iter().any(|c| c.url == url) {
                continue;
            }
            out.push(Candidate {
                url,
                format: s.format,
                qn: s.current_qn,
                codec: s.codec.clone(),
                quality: format!("{} {}", info.qn_label(s.current_qn), s.codec)
                    .trim()
                    .to_string(),
            });
        }
    }
    out
}

/// Legacy `room/v1/Room/playUrl?cid=&qn=&platform=web`: ready-made FLV mirrors. A fallback for
/// when the wbi-signed endpoint refuses us.
#[derive(Debug, Clone, PartialEq)]
pub struct LegacyPlay {
    pub current_qn: u32,
    pub(crate) accept_qn: Vec<u32>,
    pub urls: Vec<String>,
}

pub fn play_url_v1(body: &[u8]) -> Result<LegacyPlay, PlatformError> {
    play_url_v1_as(body, "playUrl")
}

/// [`play_url_v1`], with errors naming the call as `what`.
pub(crate) fn play_url_v1_as(body: &[u8], what: &str) -> Result<LegacyPlay, PlatformError> {
    let env = checked(body, what)?;
    let d = &env.data;
    let mut durl: Vec<(i64, String)> = d
        .get("durl")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|e| {
            let url = text(at(e, "/url")).filter(|u| !u.is_empty())?;
            Some((int(at(e, "/order")).unwrap_or(i64::MAX), url))
        })
        .collect();
    durl.sort_by_key(|(order, _)| *order);
    let mut urls: Vec<String> = durl.into_iter().map(|(_, u)| u).collect();
    // Same rule as the v2 hosts: P2P edge nodes last.
    urls.sort_by_key(|u| {
        url::Url::parse(u)
            .ok()
            .and_then(|p| p.host_str().map(is_mcdn))
            .unwrap_or(false)
    });
    Ok(LegacyPlay {
        current_qn: uint(at(d, "/current_qn"))
            .and_then(|n| u32::try_from(n).ok())
            .unwrap_or(0),
        accept_qn: qn_list(at(d, "/accept_quality")),
        urls,
    })
}

/// One entry of the batch `room/v1/Room/get_status_info_by_uids`, keyed by the anchor's uid.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchStatus {
    pub(crate) uid: u64,
    pub room_id: u64,
    pub live_status: i64,
    pub(crate) title: String,
    pub(crate) streamer: String,
    pub(crate) live_time: i64,
}

pub fn status_by_uids(body: &[u8]) -> Result<Vec<BatchStatus>, PlatformError> {
    let what = "get_status_info_by_uids";
    let env = checked(body, what)?;
    let Some(map) = env.data.as_object() else {
        // An empty batch answers `data: []`.
        return Ok(Vec::new());
    };
    let mut out: Vec<BatchStatus> = map
        .iter()
        .filter_map(|(uid, e)| {
            Some(BatchStatus {
                uid: uid.parse().ok().or_else(|| uint(at(e, "/uid")))?,
                room_id: uint(at(e, "/room_id"))?,
                live_status: int(at(e, "/live_status")).unwrap_or(0),
                title: text_or_empty(at(e, "/title")),
                streamer: text_or_empty(at(e, "/uname")),
                live_time: int(at(e, "/live_time")).unwrap_or(0),
            })
        })
        .collect();
    out.sort_by_key(|b| b.uid);
    Ok(out)
}

#[cfg(test)]
mod tests;

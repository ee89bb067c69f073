//! Bilibili API answers, decoded: pure functions from bytes to typed results, no IO. Every
//! decision about what an answer means (live or not, which error, which stream, whether it can
//! be recorded at all) lives here and is tested on byte fixtures.
//!
//! The common envelope is `{code, message|msg, ttl, data}`; `code` 0 is success. This file holds
//! the envelope and the answers about rooms and logins; [`play`] decodes the play-URL answers and
//! [`pick`] chooses from them what to record.

use serde_json::Value;

use super::super::json::{at, flag, int, parse_body, short, text, text_or_empty, uint};
use super::super::{PlatformError, RoomStatus};
use super::wbi::WbiKeys;

mod danmu;
mod pick;
mod play;

#[cfg(test)]
pub(crate) use danmu::DanmuInfo;
pub(crate) use danmu::{ChatHost, danmu_info_as};
pub use pick::{Candidate, Prefs, candidates, rerequest_qn};
pub(crate) use pick::{capped, first_qn, served_below, wanted, wanted_for};
pub use play::{BiliFormat, LegacyPlay, PlayInfo, play_info, play_url_v1};
pub(crate) use play::{play_info_as, play_url_v1_as};

/// The codecs liverec records, by Bilibili's `codec_name` (`codecs = [...]` takes these).
pub(crate) const CODECS: [&str; 2] = ["avc", "hevc"];

/// A wbi-protected endpoint either answers, or refuses the signature; a batch endpoint
/// answers, or refuses the call (`-352`).
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
    /// The live's cover (`room_info.cover`, the streamer's own picture; else `keyframe`, a
    /// frame of the stream).
    pub(crate) cover: Option<String>,
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
            cover: self.cover.clone(),
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
        cover: ["/cover", "/keyframe"]
            .iter()
            .filter_map(|p| text(at(r, p)))
            .find(|u| u.starts_with("http")),
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

/// `room/v1/Room/get_status_info_by_uids`, on its own: `-352` is risk control.
pub fn status_by_uids(body: &[u8]) -> Result<Vec<BatchStatus>, PlatformError> {
    let what = "get_status_info_by_uids";
    match batch_status(body, what)? {
        Signed::Data(v) => Ok(v),
        Signed::Refused(r) => Err(PlatformError::Blocked(format!(
            "{what}: {r} (risk-control check)"
        ))),
    }
}

/// The batch status answer, with a `-352` as a refusal of the call (the batch path stands
/// down for the per-room calls, which decide whether it is risk control).
pub(crate) fn batch_status(
    body: &[u8],
    what: &str,
) -> Result<Signed<Vec<BatchStatus>>, PlatformError> {
    let env = envelope(body, what)?;
    if env.code == -352 {
        return Ok(Signed::Refused(Refusal::Code352(env.message)));
    }
    if env.code != 0 {
        return Err(code_error(env.code, &env.message, what));
    }
    let Some(map) = env.data.as_object() else {
        // No anchor known (or none asked): `data: []`.
        return Ok(Signed::Data(Vec::new()));
    };
    let mut out: Vec<BatchStatus> = map
        .iter()
        .filter_map(|(uid, e)| {
            Some(BatchStatus {
                uid: uid.parse().ok().or_else(|| uint(at(e, "/uid")))?,
                room_id: uint(at(e, "/room_id")).filter(|&n| n > 0)?,
                live_status: int(at(e, "/live_status")).unwrap_or(0),
                title: text_or_empty(at(e, "/title")),
                streamer: text_or_empty(at(e, "/uname")),
                live_time: int(at(e, "/live_time")).unwrap_or(0),
            })
        })
        .collect();
    out.sort_by_key(|b| b.uid);
    Ok(Signed::Data(out))
}

/// One room of `xlive/web-room/v1/index/getRoomBaseInfo` (`by_room_ids`): what resolving a
/// room id needs, for many rooms in one request.
#[derive(Debug, Clone, PartialEq)]
pub struct BaseInfo {
    /// The key of the entry in `by_room_ids`.
    pub(crate) key: String,
    pub room_id: u64,
    pub short_id: u64,
    pub(crate) uid: u64,
    pub live_status: i64,
    pub(crate) title: String,
    pub(crate) streamer: String,
}

impl BaseInfo {
    /// Whether this entry answers for the configured id `id` (the long id or the short one).
    pub(crate) fn answers(&self, id: &str) -> bool {
        let n: Option<u64> = id.parse().ok();
        self.key == id || n.is_some_and(|n| n == self.room_id || (n != 0 && n == self.short_id))
    }
}

pub fn room_base_info(body: &[u8]) -> Result<Signed<Vec<BaseInfo>>, PlatformError> {
    room_base_info_as(body, "getRoomBaseInfo")
}

pub(crate) fn room_base_info_as(
    body: &[u8],
    what: &str,
) -> Result<Signed<Vec<BaseInfo>>, PlatformError> {
    let env = envelope(body, what)?;
    if env.code == -352 {
        return Ok(Signed::Refused(Refusal::Code352(env.message)));
    }
    if env.code != 0 {
        return Err(code_error(env.code, &env.message, what));
    }
    let Some(map) = at(&env.data, "/by_room_ids").as_object() else {
        return Ok(Signed::Data(Vec::new()));
    };
    let mut out: Vec<BaseInfo> = map
        .iter()
        .filter_map(|(key, e)| {
            Some(BaseInfo {
                key: key.clone(),
                room_id: uint(at(e, "/room_id"))
                    .or_else(|| key.parse().ok())
                    .filter(|&n| n > 0)?,
                short_id: uint(at(e, "/short_id")).unwrap_or(0),
                uid: uint(at(e, "/uid")).unwrap_or(0),
                live_status: int(at(e, "/live_status")).unwrap_or(0),
                title: text_or_empty(at(e, "/title")),
                streamer: text_or_empty(at(e, "/uname")),
            })
        })
        .collect();
    out.sort_by_key(|b| b.room_id);
    Ok(Signed::Data(out))
}

#[cfg(test)]
mod tests;

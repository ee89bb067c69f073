//! Play-URL answers, decoded: `getRoomPlayInfo` (formats, codecs, qualities and CDN hosts of a
//! live's streams) and the legacy `playUrl` fallback.

use serde_json::Value;

use super::{DRM, GUARD_ONLY, PASSWORD, Signed, checked, checked_signed};
use crate::platform::json::{at, flag, int, text, text_or_empty, uint};
use crate::platform::{PlatformError, StreamFormat};

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

pub(super) fn accept_of<'a>(streams: impl Iterator<Item = &'a PlayStream>) -> Vec<u32> {
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

/// `.mcdn.` hosts are P2P edge nodes: often unreliable, so they go last.
pub(crate) fn is_mcdn(host: &str) -> bool {
    host.contains(".mcdn.")
}

//! A fake Bilibili + Douyin API on 127.0.0.1:0 that answers like the real endpoints, built from
//! the fixtures in `tests/fixtures/platforms/` (invented rooms shaped like real answers). Every
//! URL it hands out points back at this machine: stream URLs at the test's FLV server, every other
//! URL at this server (which answers 404 for them).
//!
//! What it models:
//! - Bilibili: `room_init` (short id -> long id, 60004 for unknown ids), `nav` (wbi keys),
//!   `getInfoByRoom` and `getRoomPlayInfo`, which check the wbi signature and answer with only
//!   a `v_voucher` when it is wrong; b23.tv share links as redirects.
//! - Douyin: `GET /` sets a `ttwid` cookie; `web/enter` answers HTTP 200 with an empty body
//!   unless the request carries the currently valid `ttwid`; the reflow API, which answers
//!   `status_code` 10011 to a request without `a_bogus` (measured, PLATFORMS.md) and does not
//!   check a signature that is there; streamers' profile pages
//!   (`/www.douyin.com/user/<sec_uid>`), whose URL-encoded `RENDER_DATA` names the live room's
//!   `web_rid` while the streamer is live; v.douyin.com share links as redirects.
//! - Faults for every API path at once: an HTTP status (412 with `Retry-After`), empty bodies,
//!   HTML pages.
//! - A block that lasts as long as its `Retry-After` says, from the first request it refuses.
//! - A log of every request, to count what the daemon sends, and of every answer's status.

#![allow(dead_code)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use md5::{Digest, Md5};
use serde_json::{Value, json};

/// How every API path answers, whatever the room.
#[derive(Debug, Clone, PartialEq)]
pub enum Mode {
    Normal,
    /// This status with an empty body; `retry_after` seconds in a `Retry-After` header.
    Status {
        code: u16,
        retry_after: Option<u64>,
    },
    /// HTTP 200 with an empty body.
    Empty,
    /// HTTP 200 with an HTML challenge page.
    Html,
}

#[derive(Debug, Clone)]
pub struct BiliRoom {
    pub short_id: u64,
    /// 0 offline, 1 live, 2 round-play.
    pub live_status: i64,
    pub title: String,
    pub uname: String,
    pub live_start_time: i64,
    /// Where the stream is: `http://127.0.0.1:<port>` and a path without the leading slash.
    pub stream_host: String,
    pub stream_path: String,
}

#[derive(Debug, Clone)]
pub struct DouyinRoom {
    pub live: bool,
    pub title: String,
    pub nickname: String,
    /// The session room id (`id_str`).
    pub session: String,
    /// The streamer's `sec_uid` (profile pages are found by it).
    pub sec_uid: String,
    /// The origin FLV URL.
    pub flv_url: String,
}

#[derive(Default)]
struct Shared {
    bili: Mutex<HashMap<u64, BiliRoom>>,
    douyin: Mutex<HashMap<String, DouyinRoom>>,
    /// `host/path` of a share link -> Location.
    shares: Mutex<HashMap<String, String>>,
    /// Bilibili rooms whose HLS-fMP4 entry is a real playlist: room id -> its URL.
    bili_hls: Mutex<HashMap<u64, String>>,
    mode: Mutex<Option<Mode>>,
    ttwid: Mutex<String>,
    log: Mutex<Vec<(Instant, String)>>,
    wbi_bad: AtomicU64,
    empty_answers: AtomicU64,
    /// Douyin web/enter answers empty bodies whatever the cookie; only the room page works.
    page_only: std::sync::atomic::AtomicBool,
    ttwid_issued: AtomicU64,
    /// Armed by [`PlatformServer::block_for`]: (code, seconds, end once the first refusal set it).
    block: Mutex<Option<(u16, u64, Option<Instant>)>>,
    /// (when answered, path?query, HTTP status) of every answer.
    answered: Mutex<Vec<(Instant, String, u16)>>,
}

pub struct PlatformServer {
    pub addr: SocketAddr,
    shared: Arc<Shared>,
}

pub fn fixture(platform: &str, name: &str) -> Value {
    let path = format!(
        "{}/tests/fixtures/platforms/{platform}/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The published wbi table, written out again here so that the fake server checks the
/// daemon's signatures with its own code.
const TABLE: [usize; 64] = [
    46, 47, 18, 2, 53, 8, 23, 32, 15, 50, 10, 31, 58, 3, 45, 35, 27, 43, 5, 49, 33, 9, 42, 19, 29,
    28, 14, 39, 12, 38, 41, 13, 37, 48, 7, 16, 24, 55, 40, 61, 26, 17, 0, 1, 60, 51, 30, 4, 22, 25,
    54, 21, 56, 59, 6, 63, 57, 62, 11, 36, 20, 34, 44, 52,
];

fn mixin() -> String {
    let nav = fixture("bilibili", "nav-anonymous.json");
    let stem = |p: &str| {
        let u = nav.pointer(p).unwrap().as_str().unwrap();
        u.rsplit('/')
            .next()
            .unwrap()
            .split('.')
            .next()
            .unwrap()
            .to_string()
    };
    let raw: Vec<char> = format!(
        "{}{}",
        stem("/data/wbi_img/img_url"),
        stem("/data/wbi_img/sub_url")
    )
    .chars()
    .collect();
    TABLE.iter().map(|&i| raw[i]).take(32).collect()
}

/// Checks `w_rid` over the raw (already encoded) query pairs, sorted by name.
fn wbi_ok(query: &str) -> bool {
    let mut w_rid = None;
    let mut pairs: Vec<&str> = Vec::new();
    for p in query.split('&') {
        match p.strip_prefix("w_rid=") {
            Some(v) => w_rid = Some(v),
            None => pairs.push(p),
        }
    }
    let Some(w_rid) = w_rid else { return false };
    if !pairs.iter().any(|p| p.starts_with("wts=")) {
        return false;
    }
    pairs.sort_by_key(|p| p.split('=').next().unwrap_or_default().to_string());
    let want = hex::encode(Md5::digest(format!("{}{}", pairs.join("&"), mixin())));
    want == w_rid
}

fn query_map(query: &str) -> HashMap<String, String> {
    url::form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect()
}

fn json_response(v: &Value) -> Response {
    (
        [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
        serde_json::to_vec(v).unwrap(),
    )
        .into_response()
}

impl PlatformServer {
    pub async fn start() -> Self {
        let shared = Arc::new(Shared::default());
        *shared.ttwid.lock().unwrap() = "1%7Cfake-ttwid-0".into();
        let app = axum::Router::new()
            .fallback(handle)
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Self { addr, shared }
    }

    pub fn base(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn set_bili(&self, room_id: u64, room: BiliRoom) {
        self.shared.bili.lock().unwrap().insert(room_id, room);
    }

    /// Makes the room's `fmp4` (http_hls) entry point at this playlist URL (given without a
    /// query: every answer signs it afresh, as `extra`).
    pub fn set_bili_hls(&self, room_id: u64, playlist: &str) {
        self.shared
            .bili_hls
            .lock()
            .unwrap()
            .insert(room_id, playlist.to_string());
    }

    pub fn edit_bili(&self, room_id: u64, f: impl FnOnce(&mut BiliRoom)) {
        f(self.shared.bili.lock().unwrap().get_mut(&room_id).unwrap());
    }

    pub fn set_douyin(&self, web_rid: &str, room: DouyinRoom) {
        self.shared
            .douyin
            .lock()
            .unwrap()
            .insert(web_rid.to_string(), room);
    }

    pub fn edit_douyin(&self, web_rid: &str, f: impl FnOnce(&mut DouyinRoom)) {
        f(self.shared.douyin.lock().unwrap().get_mut(web_rid).unwrap());
    }

    /// A share link (`b23.tv/AbC`) that redirects to `location`.
    pub fn set_share(&self, host_path: &str, location: &str) {
        self.shared
            .shares
            .lock()
            .unwrap()
            .insert(host_path.trim_end_matches('/').to_string(), location.into());
    }

    pub fn set_mode(&self, mode: Mode) {
        *self.shared.mode.lock().unwrap() = Some(mode);
    }

    /// Douyin's web/enter answers only empty bodies (as under risk control); the room page
    /// (`GET /<web_rid>`, state in `self.__pace_f.push` chunks) still answers.
    pub fn douyin_page_only(&self, on: bool) {
        self.shared.page_only.store(on, Ordering::Relaxed);
    }

    /// Makes the current ttwid invalid: the next web/enter with it gets an empty body.
    pub fn rotate_ttwid(&self) {
        let mut t = self.shared.ttwid.lock().unwrap();
        let n = self.shared.ttwid_issued.load(Ordering::Relaxed);
        *t = format!("1%7Cfake-ttwid-rotated-{n}");
    }

    /// Requests whose path starts with `prefix`, received at or after `since`.
    pub fn count(&self, prefix: &str, since: Instant) -> usize {
        self.shared
            .log
            .lock()
            .unwrap()
            .iter()
            .filter(|(t, p)| *t >= since && p.starts_with(prefix))
            .count()
    }

    pub fn requests(&self) -> Vec<(Instant, String)> {
        self.shared.log.lock().unwrap().clone()
    }

    /// From the next API request on, every API path answers HTTP `code` with `Retry-After:
    /// <seconds left>` until `secs` after that first refusal; then normally again.
    pub fn block_for(&self, code: u16, secs: u64) {
        *self.shared.block.lock().unwrap() = Some((code, secs, None));
    }

    /// When the armed block ends (known once it refused its first request).
    pub fn block_end(&self) -> Option<Instant> {
        self.shared
            .block
            .lock()
            .unwrap()
            .and_then(|(_, _, end)| end)
    }

    /// Every answer so far: (when it was sent, `path?query`, HTTP status).
    pub fn answers(&self) -> Vec<(Instant, String, u16)> {
        self.shared.answered.lock().unwrap().clone()
    }

    pub fn wbi_rejections(&self) -> u64 {
        self.shared.wbi_bad.load(Ordering::Relaxed)
    }

    pub fn empty_answers(&self) -> u64 {
        self.shared.empty_answers.load(Ordering::Relaxed)
    }

    pub fn ttwids_issued(&self) -> u64 {
        self.shared.ttwid_issued.load(Ordering::Relaxed)
    }
}

async fn handle(State(s): State<Arc<Shared>>, req: Request) -> Response {
    let what = format!(
        "{}?{}",
        req.uri().path(),
        req.uri().query().unwrap_or_default()
    );
    let r = match blocked(&s, req.uri().path()) {
        Some(r) => r,
        None => answer(s.clone(), req).await,
    };
    let status = r.status().as_u16();
    s.answered
        .lock()
        .unwrap()
        .push((Instant::now(), what, status));
    r
}

/// The refusal of an armed block, while it lasts.
fn blocked(s: &Shared, path: &str) -> Option<Response> {
    if path == "/" || path.starts_with("/dead/") {
        return None;
    }
    let mut block = s.block.lock().unwrap();
    let (code, secs, end) = block.as_mut()?;
    let now = Instant::now();
    let end = *end.get_or_insert(now + std::time::Duration::from_secs(*secs));
    if now >= end {
        return None;
    }
    s.log.lock().unwrap().push((now, path.to_string()));
    let left = (end - now).as_secs_f64().ceil() as u64;
    let mut r = Response::new(Body::empty());
    *r.status_mut() = StatusCode::from_u16(*code).unwrap();
    r.headers_mut()
        .insert(header::RETRY_AFTER, left.to_string().parse().unwrap());
    Some(r)
}

async fn answer(s: Arc<Shared>, req: Request) -> Response {
    let path = req.uri().path().to_string();
    let query = req.uri().query().unwrap_or_default().to_string();
    s.log.lock().unwrap().push((Instant::now(), path.clone()));
    let headers = req.headers().clone();
    let _ = req.into_body();
    let mode = s.mode.lock().unwrap().clone().unwrap_or(Mode::Normal);
    if path != "/" && !path.starts_with("/dead/") {
        match mode {
            Mode::Normal => {}
            Mode::Status { code, retry_after } => {
                let mut r = Response::new(Body::empty());
                *r.status_mut() = StatusCode::from_u16(code).unwrap();
                if let Some(ra) = retry_after {
                    r.headers_mut()
                        .insert(header::RETRY_AFTER, ra.to_string().parse().unwrap());
                }
                return r;
            }
            Mode::Empty => return StatusCode::OK.into_response(),
            Mode::Html => {
                return (
                    [(header::CONTENT_TYPE, "text/html")],
                    "<!DOCTYPE html><html><body>please verify you are human</body></html>",
                )
                    .into_response();
            }
        }
    }
    let q = query_map(&query);
    match path.as_str() {
        "/" => {
            s.ttwid_issued.fetch_add(1, Ordering::Relaxed);
            let t = s.ttwid.lock().unwrap().clone();
            (
                [(
                    header::SET_COOKIE,
                    format!("ttwid={t}; Path=/; Max-Age=31536000; HttpOnly"),
                )],
                "<html><body>home</body></html>",
            )
                .into_response()
        }
        "/room/v1/Room/room_init" => bili_room_init(&s, &q),
        "/x/web-interface/nav" => json_response(&fixture("bilibili", "nav-anonymous.json")),
        "/xlive/web-room/v1/index/getInfoByRoom" => {
            if !wbi_ok(&query) {
                s.wbi_bad.fetch_add(1, Ordering::Relaxed);
                return json_response(&fixture("bilibili", "wbi-voucher.json"));
            }
            bili_info(&s, &q)
        }
        "/xlive/web-room/v2/index/getRoomPlayInfo" => {
            if !wbi_ok(&query) {
                s.wbi_bad.fetch_add(1, Ordering::Relaxed);
                return json_response(&fixture("bilibili", "wbi-voucher.json"));
            }
            bili_play(&s, &q, &headers)
        }
        "/webcast/room/web/enter/" => douyin_enter(&s, &q, &headers),
        "/webcast/room/reflow/info/" => douyin_reflow(&s, &q),
        p if p.starts_with("/www.douyin.com/user/") => {
            douyin_profile(&s, p.trim_start_matches("/www.douyin.com/user/"))
        }
        p => {
            let key = p.trim_start_matches('/').trim_end_matches('/');
            if let Some(loc) = s.shares.lock().unwrap().get(key) {
                return (StatusCode::FOUND, [(header::LOCATION, loc.clone())]).into_response();
            }
            if let Some(room) = s.douyin.lock().unwrap().get(key).cloned() {
                return douyin_page(key, &room);
            }
            StatusCode::NOT_FOUND.into_response()
        }
    }
}

fn bili_lookup(s: &Shared, id: &str) -> Option<(u64, BiliRoom)> {
    let id: u64 = id.parse().ok()?;
    let rooms = s.bili.lock().unwrap();
    if let Some(r) = rooms.get(&id) {
        return Some((id, r.clone()));
    }
    rooms
        .iter()
        .find(|(_, r)| r.short_id == id && id != 0)
        .map(|(k, r)| (*k, r.clone()))
}

fn bili_room_init(s: &Shared, q: &HashMap<String, String>) -> Response {
    let Some((id, room)) = q.get("id").and_then(|i| bili_lookup(s, i)) else {
        return json_response(&fixture("bilibili", "room_init-not-found.json"));
    };
    let mut v = fixture("bilibili", "room_init-live.json");
    v["data"]["room_id"] = json!(id);
    v["data"]["short_id"] = json!(room.short_id);
    v["data"]["live_status"] = json!(room.live_status);
    json_response(&v)
}

fn bili_info(s: &Shared, q: &HashMap<String, String>) -> Response {
    let room = q
        .get("room_id")
        .and_then(|i| i.parse::<u64>().ok())
        .and_then(|id| s.bili.lock().unwrap().get(&id).cloned().map(|r| (id, r)));
    let Some((id, room)) = room else {
        return json_response(
            &json!({"code": 19002000, "message": "获取房间基础信息失败", "data": null}),
        );
    };
    let mut v = fixture("bilibili", "getInfoByRoom-live.json");
    let r = &mut v["data"]["room_info"];
    r["room_id"] = json!(id);
    r["short_id"] = json!(room.short_id);
    r["title"] = json!(room.title);
    r["live_status"] = json!(room.live_status);
    r["live_start_time"] = json!(if room.live_status == 1 {
        room.live_start_time
    } else {
        0
    });
    v["data"]["anchor_info"]["base_info"]["uname"] = json!(room.uname);
    json_response(&v)
}

fn host_of(headers: &HeaderMap) -> String {
    headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(|h| format!("http://{h}"))
        .unwrap_or_default()
}

fn bili_play(s: &Shared, q: &HashMap<String, String>, headers: &HeaderMap) -> Response {
    let room = q
        .get("room_id")
        .and_then(|i| i.parse::<u64>().ok())
        .and_then(|id| s.bili.lock().unwrap().get(&id).cloned().map(|r| (id, r)));
    let Some((id, room)) = room else {
        return json_response(&json!({"code": 19002000, "message": "", "data": null}));
    };
    if room.live_status != 1 {
        let mut v = fixture("bilibili", "getRoomPlayInfo-offline.json");
        v["data"]["room_id"] = json!(id);
        v["data"]["live_status"] = json!(room.live_status);
        return json_response(&v);
    }
    let mut v = fixture("bilibili", "getRoomPlayInfo-live.json");
    v["data"]["room_id"] = json!(id);
    v["data"]["short_id"] = json!(room.short_id);
    let me = host_of(headers);
    // The qn asked for, when it is one of those on offer; else the source quality.
    let qn = q
        .get("qn")
        .and_then(|x| x.parse::<u32>().ok())
        .filter(|x| [10000, 400, 150].contains(x))
        .unwrap_or(10000);
    let extra = |n: u32| {
        format!(
            "expires=4102444800&pt=web&qn={qn}&sign={n:032x}&trid=test{}",
            uuid::Uuid::new_v4().simple()
        )
    };
    let base_url = format!("/{}?", room.stream_path);
    // One FLV entry: a P2P node listed first (tried last; nothing listens there), a node that has
    // no such stream (this server: 404), then the real one. Then HLS entries on this server.
    let flv = json!({
        "codec_name": "avc", "current_qn": qn, "accept_qn": [10000, 400, 150],
        "base_url": base_url,
        "url_info": [
            {"host": "http://p2p.mcdn.invalid@127.0.0.1:9", "extra": extra(1), "stream_ttl": 3600},
            {"host": me, "extra": extra(2), "stream_ttl": 3600},
            {"host": room.stream_host, "extra": extra(3), "stream_ttl": 3600}
        ],
        "hdr_qn": null, "dolby_type": 0, "attr_name": ""
    });
    // HLS entries lead to this server (404), unless the test gave the room a playlist: then
    // its fMP4 entry is host + base_url + a freshly signed extra, like the real ones.
    let playlist = s
        .bili_hls
        .lock()
        .unwrap()
        .get(&id)
        .and_then(|u| url::Url::parse(u).ok());
    let hls = |fmt: &str, n: u32| {
        let (host, base_url) = match &playlist {
            Some(u) if fmt == "fmp4" => {
                (u.origin().ascii_serialization(), format!("{}?", u.path()))
            }
            _ => (me.clone(), format!("/dead/{fmt}/index.m3u8?")),
        };
        json!({"format_name": fmt, "codec": [{
            "codec_name": "avc", "current_qn": qn, "accept_qn": [10000, 400, 150],
            "base_url": base_url,
            "url_info": [{"host": host, "extra": extra(n), "stream_ttl": 3600}],
            "hdr_qn": null, "dolby_type": 0, "attr_name": ""
        }]})
    };
    v["data"]["playurl_info"]["playurl"]["stream"] = json!([
        {"protocol_name": "http_stream", "format": [{"format_name": "flv", "codec": [flv]}]},
        {"protocol_name": "http_hls", "format": [hls("ts", 4), hls("fmp4", 5)]}
    ]);
    json_response(&v)
}

/// Every URL-looking string in `v`, rewritten by `f`.
fn rewrite_urls(v: &mut Value, f: &mut impl FnMut(&str) -> String) {
    match v {
        Value::String(s) if s.starts_with("http") => *s = f(s),
        Value::Array(a) => a.iter_mut().for_each(|x| rewrite_urls(x, f)),
        Value::Object(o) => o.values_mut().for_each(|x| rewrite_urls(x, f)),
        _ => {}
    }
}

fn has_ttwid(s: &Shared, headers: &HeaderMap) -> bool {
    let want = format!("ttwid={}", s.ttwid.lock().unwrap());
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|c| c.split(';').any(|p| p.trim() == want))
}

fn douyin_enter(s: &Shared, q: &HashMap<String, String>, headers: &HeaderMap) -> Response {
    if !has_ttwid(s, headers) || s.page_only.load(Ordering::Relaxed) {
        // Measured behaviour: no (or a stale) ttwid gets HTTP 200 with an empty body.
        s.empty_answers.fetch_add(1, Ordering::Relaxed);
        return StatusCode::OK.into_response();
    }
    let me = host_of(headers);
    let Some(web_rid) = q.get("web_rid") else {
        return json_response(
            &json!({"data": {"message": "missing web_rid"}, "status_code": 10011}),
        );
    };
    let Some(room) = s.douyin.lock().unwrap().get(web_rid).cloned() else {
        return json_response(&json!({"data": {"data": []}, "extra": {}, "status_code": 0}));
    };
    if !room.live {
        let mut v = fixture("douyin", "web_enter-offline.json");
        v["data"]["data"][0]["title"] = json!(room.title);
        v["data"]["data"][0]["id_str"] = json!(room.session);
        v["data"]["user"]["nickname"] = json!(room.nickname);
        return json_response(&v);
    }
    let mut v = fixture("douyin", "web_enter-live.json");
    let r = &mut v["data"]["data"][0];
    r["id_str"] = json!(room.session);
    r["title"] = json!(room.title);
    r["owner"]["web_rid"] = json!(web_rid);
    r["owner"]["nickname"] = json!(room.nickname);
    v["data"]["user"]["nickname"] = json!(room.nickname);
    // The origin FLV goes to the stream server; every other URL to this server (404).
    let mut n = 0;
    let mut local = |u: &str| {
        n += 1;
        if u.contains("pull-flv-t2") && u.contains("_or4.flv") {
            format!("{}?expire=6940a000&sign={n:032x}", room.flv_url)
        } else {
            format!("{me}/dead/{n}")
        }
    };
    let su = &mut v["data"]["data"][0]["stream_url"];
    let sd_text = su["live_core_sdk_data"]["pull_data"]["stream_data"]
        .as_str()
        .unwrap()
        .to_string();
    let mut sd: Value = serde_json::from_str(&sd_text).unwrap();
    rewrite_urls(&mut sd, &mut local);
    su["live_core_sdk_data"]["pull_data"]["stream_data"] = json!(sd.to_string());
    rewrite_urls(su, &mut local);
    v["data"]["data"][0]["cover"] = json!({"url_list": []});
    json_response(&v)
}

fn douyin_reflow(s: &Shared, q: &HashMap<String, String>) -> Response {
    if q.get("a_bogus").is_none_or(|v| v.is_empty()) {
        return json_response(&fixture("douyin", "reflow-rejected.json"));
    }
    let room_id = q.get("room_id").cloned().unwrap_or_default();
    let found = s
        .douyin
        .lock()
        .unwrap()
        .iter()
        .find(|(_, r)| r.session == room_id)
        .map(|(w, r)| (w.clone(), r.clone()));
    let Some((web_rid, room)) = found else {
        return json_response(&fixture("douyin", "reflow-rejected.json"));
    };
    let mut v = fixture("douyin", "reflow-live.json");
    let r = &mut v["data"]["room"];
    r["owner"]["web_rid"] = json!(web_rid);
    r["id_str"] = json!(room.session);
    r.as_object_mut().unwrap().remove("stream_url");
    r.as_object_mut().unwrap().remove("cover");
    json_response(&v)
}

/// A streamer's profile page. PLATFORMS.md says only that its URL-encoded `RENDER_DATA` JSON
/// names the live room's `web_rid` while the streamer is live (biliup reads it there); the
/// nesting around it here is made up, and liverec looks for the key wherever it is.
fn douyin_profile(s: &Shared, sec_uid: &str) -> Response {
    let room = s
        .douyin
        .lock()
        .unwrap()
        .iter()
        .find(|(_, r)| r.sec_uid == sec_uid)
        .map(|(w, r)| (w.clone(), r.clone()));
    let user = match &room {
        Some((web_rid, r)) if r.live => json!({
            "secUid": sec_uid, "nickname": r.nickname,
            "roomData": {"status": 2, "owner": {"web_rid": web_rid}}
        }),
        Some((_, r)) => json!({"secUid": sec_uid, "nickname": r.nickname, "roomData": {}}),
        None => json!({"secUid": sec_uid, "statusCode": 2096}),
    };
    let state = json!({"app": {"user": {"user": user}}}).to_string();
    let encoded: String = url::form_urlencoded::byte_serialize(state.as_bytes())
        .collect::<String>()
        .replace('+', "%20");
    let html = format!(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"></head><body><div id=\"root\"></div>\
         <script id=\"RENDER_DATA\" type=\"application/json\">{encoded}</script></body></html>"
    );
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response()
}

/// The room page: an empty `roomStore` shell first, then the real state, each inside
/// `self.__pace_f.push([1,"…"])` as a JS string, like the real page.
fn douyin_page(web_rid: &str, room: &DouyinRoom) -> Response {
    let state = json!({"state": {"appStore": {}, "roomStore": {"roomInfo": {
        "room": {
            "id_str": room.session,
            "status": if room.live { 2 } else { 4 },
            "title": room.title,
            "stream_url": {"flv_pull_url": {"FULL_HD1": format!("{}?expire=6940a000&sign=page", room.flv_url)}},
            "owner": {"nickname": room.nickname}
        },
        "roomId": room.session,
        "web_rid": web_rid,
        "anchor": {"nickname": room.nickname}
    }}, "linkmicStore": {}}});
    let push = |chunk: String| {
        format!(
            "<script nonce=\"t\">self.__pace_f.push([1,{}])</script>",
            serde_json::to_string(&chunk).unwrap()
        )
    };
    let html = format!(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"></head><body><div id=\"root\"></div>{}{}</body></html>",
        push("2:[\"$\",\"$L3\",null,{\"roomStore\":{\"roomInfo\":{}}}]\n".to_string()),
        push(format!("d:[\"$\",\"$L12\",null,{state}]\n"))
    );
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response()
}

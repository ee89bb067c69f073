//! A fake Bilibili + Douyin API on 127.0.0.1:0 that answers like the real endpoints, built from
//! the fixtures in `tests/fixtures/platforms/` (invented rooms shaped like real answers). Every
//! URL it hands out points back at this machine: stream URLs at the test's FLV server, every other
//! URL at this server (which answers 404 for them).
//!
//! What it models:
//! - Bilibili: `room_init` (short id -> long id, 60004 for unknown ids), `nav` (wbi keys,
//!   anonymous or logged in), `getInfoByRoom` and `getRoomPlayInfo`, which check the wbi
//!   signature and answer with only a `v_voucher` when it is wrong (`getRoomPlayInfo` without
//!   any signature answers, as the real one does in 2026), the legacy `playUrl`; the batch
//!   endpoints `get_status_info_by_uids` (by anchor uid, `uids[]=`) and `getRoomBaseInfo` (by
//!   room id, long or short, `room_ids=`); b23.tv share links as redirects. Every room has an
//!   anchor uid of its own ([`bili_uid`]). Switches: signed calls refused with -352, `room_init` refused, the
//!   unsigned `getRoomPlayInfo` refused; per room ([`BiliShape`]) a capped quality, an HEVC
//!   entry that alone offers 20000, `all_special_types`, an empty stream list, a paid live
//!   (`is_sp`), a password room.
//! - Douyin (see [`DouyinRoom`] and [`DyFault`]): `GET /` sets a `ttwid` cookie (or not, and
//!   then `POST /ttwid.bytedance.com/ttwid/union/register/` does); `web/enter` answers HTTP
//!   200 with an empty body unless the request carries the currently valid `ttwid`, an
//!   `a_bogus` and an `msToken`, and a `browser_version` equal to the User-Agent's Chrome
//!   version (it cannot check the signature itself); it answers lives, ended lives (status 4
//!   or `status_code` 30003), hidden lives ("你不在主播设置的可见范围内"), radio lives (only
//!   an `ao` stream) and lives without a stream URL. The reflow API
//!   (`/webcast.amemv.com/webcast/room/reflow/info/`) answers `status_code` 10011 to a request
//!   without `a_bogus`/`msToken` (measured, PLATFORMS.md), a live by its `room_id`, or a
//!   streamer's current live by `sec_user_id` with `room_id` 2. Pages (room pages `/<web_rid>`
//!   in the 2026 `self.__pace_f` shape, profile pages `/www.douyin.com/user/<sec_uid>` whose
//!   URL-encoded `RENDER_DATA` names the live room's `web_rid` while the streamer is live) are
//!   a JS challenge without an `__ac_nonce` cookie; a profile page may recommend another
//!   streamer's live too. Faults: HTTP 444 with an HTML body, captcha pages (everywhere, or from
//!   the API endpoints only). v.douyin.com share links as redirects.
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

use super::douyin_chat::{self, DouyinChat};

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

/// How a Bilibili room's answers differ from a plain live room's (all off by default).
#[derive(Debug, Clone, Default)]
pub struct BiliShape {
    /// Streams are capped at this qn (as for anonymous viewers, unless `nav` says logged in):
    /// `current_qn` is it, and FLV names end in `_<qn * 10>.flv` like the real capped ones.
    pub cap_qn: Option<u32>,
    /// An HEVC FLV entry, on the stream host at this path, that alone offers qn 20000.
    pub hevc_4k_path: Option<String>,
    /// `all_special_types` (203: a DRM "charging" live).
    pub special_types: Vec<i64>,
    /// `playurl.stream` is an empty list (a guard-only live).
    pub guard_only: bool,
    /// A paid live: `room_init` says `is_sp` 1 and `special_type` 1, getInfoByRoom
    /// `special_type` 1.
    pub is_sp: bool,
    /// A password room: `encrypted` and not `pwd_verified` (room_init, getRoomPlayInfo, which
    /// lists no play URL then).
    pub password: bool,
    /// getInfoByRoom's `room_info.cover` (the fixture's own names a host that does not exist).
    pub cover: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct DouyinRoom {
    pub live: bool,
    pub title: String,
    pub nickname: String,
    /// The session room id (`id_str`).
    pub session: String,
    /// The streamer's `sec_uid` (profile pages are found by it).
    pub sec_uid: String,
    /// The origin FLV URL (a radio live's audio-only FLV).
    pub flv_url: String,
    pub kind: DyKind,
    /// Once not live, web/enter answers `status_code` 30003 instead of a room with status 4.
    pub ended_as_30003: bool,
}

/// What kind of live a Douyin room is.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub enum DyKind {
    #[default]
    Normal,
    /// Audio only: web/enter says `room_status` 1, and its only stream is `ao`.
    Radio,
    /// web/enter lists the live without a stream URL; the reflow API has it.
    NoStreamUrl,
    /// The streamer does not show the live to this viewer (web/enter's prompt).
    Hidden,
}

/// A fault on every Douyin path but the home page.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum DyFault {
    /// HTTP 444 with an HTML body (what blocked clients get); a real one sends no
    /// `Retry-After`, tests may, to keep the pause short.
    Http444 { retry_after: Option<u64> },
    /// A captcha page (验证码中间页), HTTP 200.
    Captcha,
    /// A captcha page from the API endpoints only (web/enter, reflow): pages still render.
    CaptchaOnApi,
}

#[derive(Default)]
struct Shared {
    bili: Mutex<HashMap<u64, BiliRoom>>,
    douyin: Mutex<HashMap<String, DouyinRoom>>,
    /// `host/path` of a share link -> Location.
    shares: Mutex<HashMap<String, String>>,
    /// Bilibili rooms whose HLS-fMP4 entry is a real playlist: room id -> its URL.
    bili_hls: Mutex<HashMap<u64, String>>,
    /// Bilibili rooms whose FLV `url_info` lists exactly these hosts, in this order.
    bili_flv_hosts: Mutex<HashMap<u64, Vec<String>>>,
    bili_shapes: Mutex<HashMap<u64, BiliShape>>,
    /// Signed (`w_rid`) getInfoByRoom / getRoomPlayInfo calls get this fixture instead.
    bili_info_refusal: Mutex<Option<String>>,
    bili_play_refusal: Mutex<Option<String>>,
    /// `room_init` answers this fixture instead.
    bili_init_refusal: Mutex<Option<String>>,
    /// The batch endpoints answer this fixture instead (`Some("")`: HTTP 404, as if they did
    /// not exist).
    bili_batch_refusal: Mutex<Option<String>>,
    /// getRoomPlayInfo without a signature gets a voucher too (only `playUrl` is left).
    bili_play_unsigned_refused: std::sync::atomic::AtomicBool,
    /// `nav` says logged in.
    bili_logged_in: std::sync::atomic::AtomicBool,
    mode: Mutex<Option<Mode>>,
    ttwid: Mutex<String>,
    log: Mutex<Vec<(Instant, String)>>,
    /// Bilibili API requests with their query.
    queries: Mutex<Vec<(Instant, String, String)>>,
    wbi_bad: AtomicU64,
    empty_answers: AtomicU64,
    /// Douyin web/enter answers empty bodies whatever the cookie; only the room page works.
    page_only: std::sync::atomic::AtomicBool,
    ttwid_issued: AtomicU64,
    douyin_fault: Mutex<Option<DyFault>>,
    /// How long the armed fault lasts from the first request it answers, and when that was.
    douyin_fault_window: Mutex<Option<(std::time::Duration, Option<Instant>)>>,
    /// The home page sets no ttwid (the register endpoint must be asked).
    home_without_ttwid: std::sync::atomic::AtomicBool,
    /// A live room every profile page recommends (another streamer's).
    profile_recommends: Mutex<Option<String>>,
    /// Douyin API calls refused for a missing signature, msToken or browser_version mismatch.
    unsigned: AtomicU64,
    /// Pages asked for without an `__ac_nonce` cookie (answered with the JS challenge).
    challenges: AtomicU64,
    /// The User-Agent of the last Douyin API call.
    last_douyin_ua: Mutex<String>,
    /// Armed by [`PlatformServer::block_for`]: (code, seconds, end once the first refusal set it).
    block: Mutex<Option<(u16, u64, Option<Instant>)>>,
    /// (when answered, path?query, HTTP status) of every answer.
    answered: Mutex<Vec<(Instant, String, u16)>>,
    /// getDanmuInfo lists this chat server (`ws_port` = `wss_port`); `None`: 404.
    chat_port: Mutex<Option<u16>>,
    /// getDanmuInfo answers this fixture instead (a refusal).
    chat_refusal: Mutex<Option<String>>,
    /// Tokens issued by getDanmuInfo, in order.
    chat_tokens: Mutex<Vec<String>>,
}

pub struct PlatformServer {
    pub addr: SocketAddr,
    shared: Arc<Shared>,
    /// Douyin's webcast push server, on this same port (see `douyin_chat`).
    pub douyin_chat: Arc<DouyinChat>,
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
        let douyin_chat = Arc::new(DouyinChat::default());
        let http = split_off_chat(listener, shared.clone(), douyin_chat.clone());
        tokio::spawn(async move {
            axum::serve(http, app).await.unwrap();
        });
        Self {
            addr,
            shared,
            douyin_chat,
        }
    }

    /// getDanmuInfo points chat at `127.0.0.1:port` (`None`: it answers 404).
    pub fn set_chat_port(&self, port: Option<u16>) {
        *self.shared.chat_port.lock().unwrap() = port;
    }

    /// getDanmuInfo answers this fixture (e.g. `error-352-bare.json`); `None` to stop.
    pub fn refuse_chat(&self, fixture: Option<&str>) {
        *self.shared.chat_refusal.lock().unwrap() = fixture.map(str::to_string);
    }

    /// The chat tokens getDanmuInfo issued, in order.
    pub fn chat_tokens(&self) -> Vec<String> {
        self.shared.chat_tokens.lock().unwrap().clone()
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

    /// Makes the room's FLV entry list exactly these hosts (`http://127.0.0.1:<port>`), in
    /// this order, instead of the default three; each serves the room's `stream_path`.
    pub fn set_bili_flv_hosts(&self, room_id: u64, hosts: Vec<String>) {
        self.shared
            .bili_flv_hosts
            .lock()
            .unwrap()
            .insert(room_id, hosts);
    }

    pub fn set_bili_shape(&self, room_id: u64, shape: BiliShape) {
        self.shared
            .bili_shapes
            .lock()
            .unwrap()
            .insert(room_id, shape);
    }

    /// Signed getInfoByRoom calls answer this fixture (e.g. `error-352-bare.json`); `None`
    /// for normal answers.
    pub fn bili_refuse_signed_info(&self, fixture: Option<&str>) {
        *self.shared.bili_info_refusal.lock().unwrap() = fixture.map(str::to_string);
    }

    /// Signed getRoomPlayInfo calls answer this fixture; `None` for normal answers.
    pub fn bili_refuse_signed_play(&self, fixture: Option<&str>) {
        *self.shared.bili_play_refusal.lock().unwrap() = fixture.map(str::to_string);
    }

    /// `room_init` answers this fixture; `None` for normal answers.
    pub fn bili_refuse_room_init(&self, fixture: Option<&str>) {
        *self.shared.bili_init_refusal.lock().unwrap() = fixture.map(str::to_string);
    }

    /// The batch endpoints (`get_status_info_by_uids`, `getRoomBaseInfo`) answer this
    /// fixture; `Some("")` answers HTTP 404 (no such endpoint); `None` for normal answers.
    pub fn bili_refuse_batch(&self, fixture: Option<&str>) {
        *self.shared.bili_batch_refusal.lock().unwrap() = fixture.map(str::to_string);
    }

    /// getRoomPlayInfo without a signature answers a voucher too.
    pub fn bili_refuse_unsigned_play(&self, on: bool) {
        self.shared
            .bili_play_unsigned_refused
            .store(on, Ordering::Relaxed);
    }

    /// `nav` answers as for a logged-in cookie (streams are not capped then).
    pub fn bili_login(&self, on: bool) {
        self.shared.bili_logged_in.store(on, Ordering::Relaxed);
    }

    /// Requests to `path` whose query has `needle` (`qn=20000`, `w_rid=`), received at or
    /// after `since`.
    pub fn count_query(&self, path: &str, needle: &str, since: Instant) -> usize {
        self.shared
            .queries
            .lock()
            .unwrap()
            .iter()
            .filter(|(t, p, q)| *t >= since && p == path && q.contains(needle))
            .count()
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

    /// A fault on every Douyin path but the home page, until `None`.
    pub fn douyin_fault(&self, fault: Option<DyFault>) {
        *self.shared.douyin_fault_window.lock().unwrap() = None;
        *self.shared.douyin_fault.lock().unwrap() = fault;
    }

    /// A fault that lasts `secs` from the first request it answers; then Douyin answers
    /// normally again.
    pub fn douyin_fault_for(&self, fault: DyFault, secs: u64) {
        *self.shared.douyin_fault_window.lock().unwrap() =
            Some((std::time::Duration::from_secs(secs), None));
        *self.shared.douyin_fault.lock().unwrap() = Some(fault);
    }

    /// When the fault armed by [`PlatformServer::douyin_fault_for`] answered its first request.
    pub fn douyin_fault_start(&self) -> Option<Instant> {
        self.shared
            .douyin_fault_window
            .lock()
            .unwrap()
            .and_then(|(_, start)| start)
    }

    /// The home page sets no ttwid cookie (as a challenge page would not): only the register
    /// endpoint hands one out.
    pub fn douyin_home_without_ttwid(&self, on: bool) {
        self.shared.home_without_ttwid.store(on, Ordering::Relaxed);
    }

    /// Every profile page also shows this room (another streamer's live, recommended), named
    /// in the page state before the streamer's own.
    pub fn douyin_profile_recommends(&self, web_rid: Option<&str>) {
        *self.shared.profile_recommends.lock().unwrap() = web_rid.map(str::to_string);
    }

    /// Douyin API calls refused as unsigned (no `a_bogus`/`msToken`, or a `browser_version`
    /// that is not the User-Agent's).
    pub fn unsigned_calls(&self) -> u64 {
        self.shared.unsigned.load(Ordering::Relaxed)
    }

    /// Douyin pages asked for without an `__ac_nonce` cookie.
    pub fn challenges(&self) -> u64 {
        self.shared.challenges.load(Ordering::Relaxed)
    }

    /// The User-Agent of the last Douyin API call.
    pub fn last_douyin_ua(&self) -> String {
        self.shared.last_douyin_ua.lock().unwrap().clone()
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
    let method = req.method().clone();
    let body = axum::body::to_bytes(req.into_body(), 1 << 20)
        .await
        .unwrap_or_default();
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
    if let Some(r) = douyin_route(&s, &method, &path, &q, &headers, &body) {
        return r;
    }
    if path.starts_with("/room/") || path.starts_with("/xlive/") || path.starts_with("/x/") {
        s.queries
            .lock()
            .unwrap()
            .push((Instant::now(), path.clone(), query.clone()));
    }
    match path.as_str() {
        "/room/v1/Room/room_init" => {
            if let Some(f) = s.bili_init_refusal.lock().unwrap().clone() {
                return json_response(&fixture("bilibili", &f));
            }
            bili_room_init(&s, &q)
        }
        "/room/v1/Room/playUrl" => bili_play_url(&s, &q),
        "/room/v1/Room/get_status_info_by_uids" | "/xlive/web-room/v1/index/getRoomBaseInfo" => {
            match s.bili_batch_refusal.lock().unwrap().clone() {
                Some(f) if f.is_empty() => StatusCode::NOT_FOUND.into_response(),
                Some(f) => json_response(&fixture("bilibili", &f)),
                None if path.ends_with("get_status_info_by_uids") => {
                    bili_batch_status(&s, &query, &body)
                }
                None => bili_base_info(&s, &query),
            }
        }
        "/x/web-interface/nav" => json_response(&fixture(
            "bilibili",
            if s.bili_logged_in.load(Ordering::Relaxed) {
                "nav-logged-in.json"
            } else {
                "nav-anonymous.json"
            },
        )),
        "/xlive/web-room/v1/index/getInfoByRoom" => {
            if let Some(f) = signed_refusal(&s.bili_info_refusal, &query) {
                return json_response(&fixture("bilibili", &f));
            }
            if !wbi_ok(&query) {
                s.wbi_bad.fetch_add(1, Ordering::Relaxed);
                return json_response(&fixture("bilibili", "wbi-voucher.json"));
            }
            bili_info(&s, &q)
        }
        "/xlive/web-room/v1/index/getDanmuInfo" => {
            if let Some(f) = s.chat_refusal.lock().unwrap().clone() {
                return json_response(&fixture("bilibili", &f));
            }
            let cookie = headers
                .get(header::COOKIE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default();
            let buvid = cookie.split(';').any(|p| {
                p.trim()
                    .strip_prefix("buvid3=")
                    .is_some_and(|v| !v.is_empty())
            });
            if !wbi_ok(&query) || !buvid {
                s.wbi_bad.fetch_add(1, Ordering::Relaxed);
                return json_response(&fixture("bilibili", "error-352-bare.json"));
            }
            let Some(port) = *s.chat_port.lock().unwrap() else {
                return StatusCode::NOT_FOUND.into_response();
            };
            let mut tokens = s.chat_tokens.lock().unwrap();
            let token = format!("fake-chat-token-{}", tokens.len() + 1);
            tokens.push(token.clone());
            let mut v = fixture("bilibili", "getDanmuInfo.json");
            v["data"]["token"] = token.into();
            v["data"]["host_list"] = serde_json::json!([
                {"host": "127.0.0.1", "port": 0, "ws_port": port, "wss_port": port}
            ]);
            json_response(&v)
        }
        "/xlive/web-room/v2/index/getRoomPlayInfo" => {
            if let Some(f) = signed_refusal(&s.bili_play_refusal, &query) {
                return json_response(&fixture("bilibili", &f));
            }
            let unsigned = !query.contains("w_rid=");
            let refused = if unsigned {
                s.bili_play_unsigned_refused.load(Ordering::Relaxed)
            } else {
                !wbi_ok(&query)
            };
            if refused {
                s.wbi_bad.fetch_add(1, Ordering::Relaxed);
                return json_response(&fixture("bilibili", "wbi-voucher.json"));
            }
            bili_play(&s, &q, &headers)
        }
        p => {
            let key = p.trim_start_matches('/').trim_end_matches('/');
            if let Some(loc) = s.shares.lock().unwrap().get(key) {
                return (StatusCode::FOUND, [(header::LOCATION, loc.clone())]).into_response();
            }
            if let Some(room) = s.douyin.lock().unwrap().get(key).cloned() {
                if let Some(r) = douyin_fault(&s, false).or_else(|| douyin_challenge(&s, &headers))
                {
                    return r;
                }
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

/// The refusal fixture for a signed call (with `w_rid`), when that switch is on.
fn signed_refusal(switch: &Mutex<Option<String>>, query: &str) -> Option<String> {
    if !query.contains("w_rid=") {
        return None;
    }
    switch.lock().unwrap().clone()
}

fn bili_shape(s: &Shared, id: u64) -> BiliShape {
    s.bili_shapes
        .lock()
        .unwrap()
        .get(&id)
        .cloned()
        .unwrap_or_default()
}

/// The qn a capped room serves, when it is capped (not for a logged-in `nav`).
fn bili_cap(s: &Shared, shape: &BiliShape) -> Option<u32> {
    shape
        .cap_qn
        .filter(|_| !s.bili_logged_in.load(Ordering::Relaxed))
}

/// `live.flv` -> `live_2500.flv` for qn 250, like the real capped stream names.
fn capped_path(path: &str, qn: u32) -> String {
    match path.strip_suffix(".flv") {
        Some(stem) => format!("{stem}_{}.flv", qn * 10),
        None => path.to_string(),
    }
}

fn bili_room_init(s: &Shared, q: &HashMap<String, String>) -> Response {
    let Some((id, room)) = q.get("id").and_then(|i| bili_lookup(s, i)) else {
        return json_response(&fixture("bilibili", "room_init-not-found.json"));
    };
    let shape = bili_shape(s, id);
    let mut v = fixture(
        "bilibili",
        if shape.is_sp {
            "room_init-paid.json"
        } else {
            "room_init-live.json"
        },
    );
    v["data"]["room_id"] = json!(id);
    v["data"]["short_id"] = json!(room.short_id);
    v["data"]["uid"] = json!(bili_uid(id));
    v["data"]["live_status"] = json!(room.live_status);
    if shape.password {
        v["data"]["encrypted"] = json!(true);
        v["data"]["pwd_verified"] = json!(false);
    }
    json_response(&v)
}

/// The anchor uid of a room: one per room, as on the real service.
pub fn bili_uid(room_id: u64) -> u64 {
    9_000_000_000 + room_id
}

/// The `uids[]=` of a GET (however the brackets are encoded) or the `{"uids": [...]}` of a
/// POST.
fn batch_uids(query: &str, body: &[u8]) -> Vec<u64> {
    let mut uids: Vec<u64> = url::form_urlencoded::parse(query.as_bytes())
        .filter(|(k, _)| k == "uids[]" || k == "uids")
        .flat_map(|(_, v)| {
            v.split(',')
                .filter_map(|u| u.trim().parse().ok())
                .collect::<Vec<u64>>()
        })
        .collect();
    if let Ok(v) = serde_json::from_slice::<Value>(body) {
        uids.extend(
            v["uids"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_u64),
        );
    }
    uids
}

/// `get_status_info_by_uids`: the rooms of the uids it knows, keyed by uid; `data: []` when
/// it knows none (as the real one answers).
fn bili_batch_status(s: &Shared, query: &str, body: &[u8]) -> Response {
    let rooms = s.bili.lock().unwrap().clone();
    let mut data = serde_json::Map::new();
    for uid in batch_uids(query, body) {
        let Some((id, room)) = rooms.iter().find(|(id, _)| bili_uid(**id) == uid) else {
            continue;
        };
        let live = room.live_status == 1;
        data.insert(
            uid.to_string(),
            json!({
                "title": room.title, "room_id": id, "uid": uid, "online": 0,
                "live_time": if live { room.live_start_time } else { 0 },
                "live_status": room.live_status, "short_id": room.short_id,
                "area": 6, "area_name": "生活娱乐", "area_v2_id": 123, "area_v2_name": "户外",
                "area_v2_parent_name": "娱乐", "area_v2_parent_id": 1, "uname": room.uname,
                "face": "https://i0.example/face.jpg", "tag_name": "", "tags": "",
                "cover_from_user": "https://i0.example/cover.jpg",
                "keyframe": "https://i0.example/keyframe.jpg",
                "lock_till": "0000-00-00 00:00:00", "hidden_till": "0000-00-00 00:00:00",
                "broadcast_type": 0
            }),
        );
    }
    let data = if data.is_empty() {
        json!([])
    } else {
        Value::Object(data)
    };
    json_response(&json!({"code": 0, "msg": "success", "message": "success", "data": data}))
}

/// `getRoomBaseInfo`: the rooms of the ids it knows (long or short), keyed by the long id.
fn bili_base_info(s: &Shared, query: &str) -> Response {
    let mut by_room_ids = serde_json::Map::new();
    for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
        if k != "room_ids" {
            continue;
        }
        let Some((id, room)) = bili_lookup(s, &v) else {
            continue;
        };
        by_room_ids.insert(
            id.to_string(),
            json!({
                "room_id": id, "uid": bili_uid(id), "area_id": 123,
                "live_status": room.live_status,
                "live_url": format!("https://live.bilibili.com/{id}"), "parent_area_id": 1,
                "title": room.title, "parent_area_name": "娱乐", "area_name": "户外",
                "live_time": "0000-00-00 00:00:00", "description": "", "tags": "",
                "attention": 0, "online": 0, "short_id": room.short_id, "uname": room.uname,
                "cover": "", "background": "", "join_slide": 1, "live_id": 0,
                "live_id_str": "0", "lock_status": 0, "hidden_status": 0, "is_encrypted": false
            }),
        );
    }
    json_response(&json!({"code": 0, "message": "0", "ttl": 1,
        "data": {"by_uids": {}, "by_room_ids": by_room_ids}}))
}

/// The legacy `playUrl`: the room's FLV, at the capped qn when capped.
fn bili_play_url(s: &Shared, q: &HashMap<String, String>) -> Response {
    let room = q
        .get("cid")
        .and_then(|i| i.parse::<u64>().ok())
        .and_then(|id| s.bili.lock().unwrap().get(&id).cloned().map(|r| (id, r)));
    let Some((id, room)) = room else {
        return json_response(&json!({"code": 19002000, "message": "", "data": null}));
    };
    let mut v = fixture("bilibili", "playUrl-v1.json");
    if room.live_status != 1 {
        v["data"]["durl"] = json!([]);
        return json_response(&v);
    }
    let shape = bili_shape(s, id);
    let (qn, path) = match bili_cap(s, &shape) {
        Some(cap) => (cap, capped_path(&room.stream_path, cap)),
        None => (10000, room.stream_path.clone()),
    };
    v["data"]["current_qn"] = json!(qn);
    v["data"]["durl"] = json!([{
        "url": format!("{}/{path}?expires=4102444800&sign=legacy", room.stream_host),
        "length": 0, "order": 1, "stream_type": 0, "p2p_type": 0
    }]);
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
    r["uid"] = json!(bili_uid(id));
    r["short_id"] = json!(room.short_id);
    r["title"] = json!(room.title);
    r["live_status"] = json!(room.live_status);
    r["live_start_time"] = json!(if room.live_status == 1 {
        room.live_start_time
    } else {
        0
    });
    v["data"]["anchor_info"]["base_info"]["uname"] = json!(room.uname);
    let shape = bili_shape(s, id);
    if shape.is_sp {
        v["data"]["room_info"]["special_type"] = json!(1);
    }
    if let Some(cover) = shape.cover {
        v["data"]["room_info"]["cover"] = json!(cover);
    }
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
    let shape = bili_shape(s, id);
    v["data"]["all_special_types"] = json!(shape.special_types);
    if shape.password {
        v["data"]["encrypted"] = json!(true);
        v["data"]["pwd_verified"] = json!(false);
        v["data"]["playurl_info"] = Value::Null;
        return json_response(&v);
    }
    if shape.guard_only {
        v["data"]["playurl_info"]["playurl"]["stream"] = json!([]);
        return json_response(&v);
    }
    let me = host_of(headers);
    let asked = q.get("qn").and_then(|x| x.parse::<u32>().ok());
    let cap = bili_cap(s, &shape);
    // The qn asked for, when it is one of those on offer; else the source quality; a capped
    // room serves its cap whatever is asked.
    let qn = cap.unwrap_or_else(|| {
        asked
            .filter(|x| [10000, 400, 150].contains(x))
            .unwrap_or(10000)
    });
    let extra = |n: u32| {
        format!(
            "expires=4102444800&pt=web&qn={qn}&sign={n:032x}&trid=test{}",
            uuid::Uuid::new_v4().simple()
        )
    };
    let stream_path = match cap {
        Some(c) => capped_path(&room.stream_path, c),
        None => room.stream_path.clone(),
    };
    let base_url = format!("/{stream_path}?");
    let accept = if cap.is_some() {
        json!([10000, 400, 250, 150])
    } else {
        json!([10000, 400, 150])
    };
    // One FLV entry: a P2P node listed first (tried last; nothing listens there), a node that has
    // no such stream (this server: 404), then the real one. Then HLS entries on this server.
    let url_info = match s.bili_flv_hosts.lock().unwrap().get(&id) {
        Some(hosts) => hosts
            .iter()
            .enumerate()
            .map(|(n, h)| json!({"host": h, "extra": extra(n as u32 + 1), "stream_ttl": 3600}))
            .collect::<Vec<_>>(),
        None => vec![
            json!({"host": "http://p2p.mcdn.invalid@127.0.0.1:9", "extra": extra(1), "stream_ttl": 3600}),
            json!({"host": me, "extra": extra(2), "stream_ttl": 3600}),
            json!({"host": room.stream_host, "extra": extra(3), "stream_ttl": 3600}),
        ],
    };
    let flv = json!({
        "codec_name": "avc", "current_qn": qn, "accept_qn": accept,
        "base_url": base_url,
        "url_info": url_info,
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
            "codec_name": "avc", "current_qn": qn, "accept_qn": accept.clone(),
            "base_url": base_url,
            "url_info": [{"host": host, "extra": extra(n), "stream_ttl": 3600}],
            "hdr_qn": null, "dolby_type": 0, "attr_name": ""
        }]})
    };
    let mut flv_codecs = vec![flv];
    // A 4K room: HEVC alone offers 20000, served when asked for.
    if let Some(path) = shape.hevc_4k_path.as_deref().filter(|_| cap.is_none()) {
        let hevc_qn = if asked == Some(20000) { 20000 } else { qn };
        flv_codecs.push(json!({
            "codec_name": "hevc", "current_qn": hevc_qn, "accept_qn": [20000, 10000, 400, 150],
            "base_url": format!("/{path}?"),
            "url_info": [{"host": room.stream_host, "extra": extra(6), "stream_ttl": 3600}],
            "hdr_qn": null, "dolby_type": 0, "attr_name": ""
        }));
    }
    v["data"]["playurl_info"]["playurl"]["stream"] = json!([
        {"protocol_name": "http_stream", "format": [{"format_name": "flv", "codec": flv_codecs}]},
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

fn cookie_value(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|c| c.split(';'))
        .find_map(|p| {
            let (k, v) = p.trim().split_once('=')?;
            (k == name).then(|| v.to_string())
        })
}

fn has_ttwid(s: &Shared, headers: &HeaderMap) -> bool {
    cookie_value(headers, "ttwid").as_deref() == Some(s.ttwid.lock().unwrap().as_str())
}

/// The Chrome version a User-Agent names.
fn chrome_version(headers: &HeaderMap) -> Option<String> {
    let ua = headers.get(header::USER_AGENT)?.to_str().ok()?;
    let v = ua.split_once("Chrome/")?.1.split(' ').next()?;
    (!v.is_empty()).then(|| v.to_string())
}

/// What a signed Douyin call must carry. The fake cannot verify the a_bogus algorithm; it
/// checks that the signature and the msToken are there and that `browser_version` is the
/// User-Agent's (the real signature covers the User-Agent).
fn signed(s: &Shared, q: &HashMap<String, String>, headers: &HeaderMap, web: bool) -> bool {
    *s.last_douyin_ua.lock().unwrap() = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let present = |k: &str| q.get(k).is_some_and(|v| !v.is_empty());
    let ok = present("a_bogus")
        && present("msToken")
        && (!web || q.get("browser_version").cloned() == chrome_version(headers));
    if !ok {
        s.unsigned.fetch_add(1, Ordering::Relaxed);
    }
    ok
}

/// The armed fault's answer to a request for an API endpoint (`api`) or a page.
fn douyin_fault(s: &Shared, api: bool) -> Option<Response> {
    let mut armed = s.douyin_fault.lock().unwrap();
    let fault = (*armed)?;
    if let Some((lasts, start)) = s.douyin_fault_window.lock().unwrap().as_mut() {
        let now = Instant::now();
        if now >= *start.get_or_insert(now) + *lasts {
            *armed = None;
            return None;
        }
    }
    drop(armed);
    let (status, file, retry_after) = match fault {
        DyFault::Http444 { retry_after } => (444, "http-444.html", retry_after),
        DyFault::Captcha => (200, "captcha.html", None),
        DyFault::CaptchaOnApi if api => (200, "captcha.html", None),
        DyFault::CaptchaOnApi => return None,
    };
    let mut r = (
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        fixture_text("douyin", file),
    )
        .into_response();
    *r.status_mut() = StatusCode::from_u16(status).unwrap();
    if let Some(ra) = retry_after {
        r.headers_mut()
            .insert(header::RETRY_AFTER, ra.to_string().parse().unwrap());
    }
    Some(r)
}

/// Pages without an `__ac_nonce` cookie get the JS challenge page.
fn douyin_challenge(s: &Shared, headers: &HeaderMap) -> Option<Response> {
    if cookie_value(headers, "__ac_nonce").is_some_and(|v| !v.is_empty()) {
        return None;
    }
    s.challenges.fetch_add(1, Ordering::Relaxed);
    Some(
        (
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            fixture_text("douyin", "page-challenge.html"),
        )
            .into_response(),
    )
}

pub fn fixture_text(platform: &str, name: &str) -> String {
    let path = format!(
        "{}/tests/fixtures/platforms/{platform}/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The Douyin endpoints (room pages and share links are found by the catch-all).
fn douyin_route(
    s: &Shared,
    method: &axum::http::Method,
    path: &str,
    q: &HashMap<String, String>,
    headers: &HeaderMap,
    body: &[u8],
) -> Option<Response> {
    let r = match path {
        "/" => {
            s.ttwid_issued.fetch_add(1, Ordering::Relaxed);
            if s.home_without_ttwid.load(Ordering::Relaxed) {
                return Some("<html><body>home</body></html>".into_response());
            }
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
        "/ttwid.bytedance.com/ttwid/union/register/" => {
            let req: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
            if method != axum::http::Method::POST || req["aid"] != json!(6383) {
                return Some(StatusCode::BAD_REQUEST.into_response());
            }
            s.ttwid_issued.fetch_add(1, Ordering::Relaxed);
            // The fixture's cookie attributes, with the value this server currently accepts.
            let line = fixture_text("douyin", "ttwid_register-set-cookie.txt");
            let attrs = line
                .trim()
                .split_once(';')
                .map_or("", |(_, a)| a)
                .to_string();
            let t = s.ttwid.lock().unwrap().clone();
            (
                [(header::SET_COOKIE, format!("ttwid={t};{attrs}"))],
                json_response(&json!({"status_code": 0})),
            )
                .into_response()
        }
        "/webcast/room/web/enter/" => {
            douyin_fault(s, true).unwrap_or_else(|| douyin_enter(s, q, headers))
        }
        "/webcast.amemv.com/webcast/room/reflow/info/" => {
            douyin_fault(s, true).unwrap_or_else(|| douyin_reflow(s, q, headers))
        }
        p if p.starts_with("/www.douyin.com/user/") => douyin_fault(s, false)
            .or_else(|| douyin_challenge(s, headers))
            .unwrap_or_else(|| douyin_profile(s, p.trim_start_matches("/www.douyin.com/user/"))),
        _ => return None,
    };
    Some(r)
}

/// Points the fixture's stream URLs at this machine: the main one (the origin FLV, or a radio's
/// audio-only FLV) at the room's stream, every other one at this server (404).
fn localize(su: &mut Value, room: &DouyinRoom, me: &str) {
    let mut n = 0;
    let mut local = |u: &str| {
        n += 1;
        let main = (u.contains("pull-flv-t2") && u.contains("_or4.flv"))
            || (room.kind == DyKind::Radio && u.contains(".flv?only_audio=1"));
        if main {
            format!("{}?expire=6940a000&sign={n:032x}", room.flv_url)
        } else {
            format!("{me}/dead/{n}")
        }
    };
    let sd_text = su["live_core_sdk_data"]["pull_data"]["stream_data"]
        .as_str()
        .unwrap_or("{}")
        .to_string();
    let mut sd: Value = serde_json::from_str(&sd_text).unwrap();
    rewrite_urls(&mut sd, &mut local);
    su["live_core_sdk_data"]["pull_data"]["stream_data"] = json!(sd.to_string());
    rewrite_urls(su, &mut local);
}

fn douyin_enter(s: &Shared, q: &HashMap<String, String>, headers: &HeaderMap) -> Response {
    let signed = signed(s, q, headers, true);
    if !has_ttwid(s, headers) || !signed || s.page_only.load(Ordering::Relaxed) {
        // Measured behaviour: no (or a stale) ttwid gets HTTP 200 with an empty body, and so do
        // unsigned calls since 2025-08 (peers' trackers).
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
    if room.kind == DyKind::Hidden {
        let mut v = fixture("douyin", "web_enter-not-visible.json");
        v["data"]["user"]["nickname"] = json!(room.nickname);
        v["data"]["user"]["sec_uid"] = json!(room.sec_uid);
        return json_response(&v);
    }
    if !room.live {
        if room.ended_as_30003 {
            return json_response(&fixture("douyin", "web_enter-ended-30003.json"));
        }
        let mut v = fixture("douyin", "web_enter-offline.json");
        v["data"]["data"][0]["title"] = json!(room.title);
        v["data"]["data"][0]["id_str"] = json!(room.session);
        v["data"]["user"]["nickname"] = json!(room.nickname);
        return json_response(&v);
    }
    let mut v = fixture(
        "douyin",
        match room.kind {
            DyKind::Radio => "web_enter-radio.json",
            DyKind::NoStreamUrl => "web_enter-live-no-stream-url.json",
            _ => "web_enter-live.json",
        },
    );
    let r = &mut v["data"]["data"][0];
    r["id_str"] = json!(room.session);
    r["title"] = json!(room.title);
    r["owner"]["web_rid"] = json!(web_rid);
    r["owner"]["nickname"] = json!(room.nickname);
    r["owner"]["sec_uid"] = json!(room.sec_uid);
    r["cover"] = json!({"url_list": []});
    if r.get("stream_url").is_some() {
        localize(&mut r["stream_url"], &room, &me);
    }
    v["data"]["user"]["nickname"] = json!(room.nickname);
    v["data"]["user"]["sec_uid"] = json!(room.sec_uid);
    json_response(&v)
}

fn douyin_reflow(s: &Shared, q: &HashMap<String, String>, headers: &HeaderMap) -> Response {
    if !signed(s, q, headers, false) {
        return json_response(&fixture("douyin", "reflow-rejected.json"));
    }
    let room_id = q.get("room_id").cloned().unwrap_or_default();
    let sec_uid = q.get("sec_user_id").cloned().unwrap_or_default();
    let found = s
        .douyin
        .lock()
        .unwrap()
        .iter()
        .find(|(_, r)| r.session == room_id || (room_id == "2" && r.sec_uid == sec_uid))
        .map(|(w, r)| (w.clone(), r.clone()));
    let Some((web_rid, room)) = found else {
        return json_response(&fixture("douyin", "reflow-rejected.json"));
    };
    if !room.live {
        if room_id == "2" {
            // Asked by the streamer only: no current live to name.
            let mut v = fixture("douyin", "reflow-profile-not-live.json");
            v["data"]["user"]["nickname"] = json!(room.nickname);
            v["data"]["user"]["sec_uid"] = json!(room.sec_uid);
            return json_response(&v);
        }
        let mut v = fixture("douyin", "reflow-offline.json");
        v["data"]["room"]["owner"]["web_rid"] = json!(web_rid);
        v["data"]["room"]["owner"]["sec_uid"] = json!(room.sec_uid);
        v["data"]["user"]["sec_uid"] = json!(room.sec_uid);
        v["data"]["room"]["id_str"] = json!(room.session);
        return json_response(&v);
    }
    let mut v = fixture("douyin", "reflow-live.json");
    if room.kind == DyKind::Radio {
        let radio = fixture("douyin", "web_enter-radio.json");
        v["data"]["room"]["stream_url"] = radio["data"]["data"][0]["stream_url"].clone();
        v["data"]["room"]["live_type_audio"] = json!(true);
    }
    let me = host_of(headers);
    let r = &mut v["data"]["room"];
    r["owner"]["web_rid"] = json!(web_rid);
    r["owner"]["nickname"] = json!(room.nickname);
    r["owner"]["sec_uid"] = json!(room.sec_uid);
    r["id_str"] = json!(room.session);
    r["title"] = json!(room.title);
    r.as_object_mut().unwrap().remove("cover");
    localize(&mut r["stream_url"], &room, &me);
    json_response(&v)
}

/// A streamer's profile page. PLATFORMS.md says only that its URL-encoded `RENDER_DATA` JSON
/// names the live room's `web_rid` while the streamer is live (biliup reads it there); the
/// nesting around it here is made up, and liverec looks for the key wherever it is. A
/// recommended live ([`PlatformServer::douyin_profile_recommends`]) comes first in the state.
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
    let recommended = match s.profile_recommends.lock().unwrap().clone() {
        Some(web_rid) => json!({"list": [{"web_rid": web_rid, "title": "推荐直播"}]}),
        None => json!({"list": []}),
    };
    // Keys in this order: the recommendation before the streamer.
    let state = format!(
        "{{\"app\":{{\"recommendLive\":{recommended},\"user\":{}}}}}",
        json!({ "user": user })
    );
    let encoded: String = url::form_urlencoded::byte_serialize(state.as_bytes())
        .collect::<String>()
        .replace('+', "%20");
    let html = format!(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"></head><body><div id=\"root\"></div>\
         <script id=\"RENDER_DATA\" type=\"application/json\">{encoded}</script></body></html>"
    );
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response()
}

/// The room page as of 2026: an empty `roomStore` shell first, then the real state, each
/// inside `self.__pace_f.push([1,"…"])` as a JS string; the room names its streamer in
/// `owner.nickname` (there is no `anchor` any more) and offers only `flv_pull_url`.
fn douyin_page(web_rid: &str, room: &DouyinRoom) -> Response {
    let _ = web_rid;
    let state = json!({"state": {"appStore": {}, "roomStore": {"roomInfo": {
        "room": {
            "id_str": room.session,
            "status": if room.live { 2 } else { 4 },
            "title": room.title,
            "stream_url": {"flv_pull_url": {"FULL_HD1": format!("{}?expire=6940a000&sign=page", room.flv_url)}},
            "owner": {"nickname": room.nickname, "sec_uid": room.sec_uid}
        }
    }}, "streamStore": {"streamData": {"H264_streamData": {}}}}});
    let push = |chunk: String| {
        format!(
            "<script nonce=\"t\">self.__pace_f.push([1,{}])</script>",
            serde_json::to_string(&chunk).unwrap()
        )
    };
    let html = format!(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"></head><body><div id=\"root\"></div>{}{}</body></html>",
        push("2:[\"$\",\"$L3\",null,{\"roomStore\":{\"roomInfo\":{}}}]\n".to_string()),
        push(format!("1a:[\"$\",\"$L1b\",null,{state}]\n"))
    );
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response()
}

/// The connections axum serves: all but Douyin's chat WebSocket, which `split_off_chat` hands
/// to the fake push server (axum here has no WebSocket support of its own).
struct HttpOnly {
    rx: tokio::sync::mpsc::UnboundedReceiver<(tokio::net::TcpStream, SocketAddr)>,
    addr: SocketAddr,
}

impl axum::serve::Listener for HttpOnly {
    type Io = tokio::net::TcpStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.rx.recv().await {
            Some(conn) => conn,
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<SocketAddr> {
        Ok(self.addr)
    }
}

/// Accepts on `listener`, looks at each connection's request line without reading it, and
/// sends a WebSocket request for Douyin's push path to `chat`, the rest to axum.
fn split_off_chat(
    listener: tokio::net::TcpListener,
    shared: Arc<Shared>,
    chat: Arc<DouyinChat>,
) -> HttpOnly {
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((tcp, peer)) = listener.accept().await {
            let (tx, shared, chat) = (tx.clone(), shared.clone(), chat.clone());
            tokio::spawn(async move {
                if is_push_request(&tcp).await {
                    let ttwid = shared.ttwid.lock().unwrap().clone();
                    chat.serve(tcp, ttwid).await;
                } else {
                    let _ = tx.send((tcp, peer));
                }
            });
        }
    });
    HttpOnly { rx, addr }
}

async fn is_push_request(tcp: &tokio::net::TcpStream) -> bool {
    let want = format!("GET {}", douyin_chat::PUSH_PATH);
    let mut buf = [0u8; 256];
    for _ in 0..400 {
        let n = tcp.peek(&mut buf).await.unwrap_or(0);
        if n == 0 {
            return false;
        }
        if n >= want.len() || buf[..n].contains(&b'\n') {
            return buf[..n].starts_with(want.as_bytes());
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    false
}

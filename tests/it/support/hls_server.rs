//! A live HLS origin on 127.0.0.1:0 that replays the fixture segments the way a live packager
//! publishes them: a sliding window of the last few segments, one more every `period`, the
//! media sequence counting up, optionally `#EXT-X-ENDLIST` once the last one is out.
//!
//! It models what real origins and CDNs do to a recorder:
//! - segment URIs carry a signed query that changes at every playlist load (`?tok=N`), and
//!   relative and absolute URIs alternate, so a client must identify segments by sequence;
//! - TS (`seg_NNN.ts`) or fMP4 (`init.mp4` + `seg_NNN.m4s`, with `EXT-X-MAP`);
//! - AES-128 (whole-segment CBC, IV = media sequence) with a key endpoint;
//! - discontinuities (a schedule entry marked as one), media sequence resets, and (TS) an
//!   unannounced PID change (an entry served with its audio moved to another PID), and
//!   segments garbled past their first bytes (they still look like media to a sniffer);
//! - faults: a segment answering 404 (a number of times, or always), a segment answering an
//!   HTML page with 200, a playlist that freezes for a while, a playlist that is garbage.
//!
//! The window advances on a clock that starts at the first playlist request, so the daemon's
//! start-up time does not eat segments. The playlist advertises `target` as its target duration
//! while each segment keeps its real `EXTINF` (2 s): a live stream played faster than real time,
//! so tests stay short while durations (and `segment_duration` splits) stay true.

#![allow(dead_code)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aes::cipher::block_padding::Pkcs7;
use aes::cipher::{BlockModeEncrypt, KeyIvInit};
use axum::extract::{Path, RawQuery, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Ts,
    Fmp4,
}

impl Kind {
    fn ext(self) -> &'static str {
        match self {
            Kind::Ts => "ts",
            Kind::Fmp4 => "m4s",
        }
    }
    fn dir(self) -> &'static str {
        match self {
            Kind::Ts => "hls_ts",
            Kind::Fmp4 => "hls_fmp4",
        }
    }
}

/// Fixture segment `i` (0..=5) of a kind, and the fMP4 init section.
pub fn fixture_segment(kind: Kind, i: usize) -> Bytes {
    read(&format!("{}/seg_{i:03}.{}", kind.dir(), kind.ext()))
}

pub fn fixture_init() -> Bytes {
    read("hls_fmp4/init.mp4")
}

fn read(rel: &str) -> Bytes {
    let path = format!("{}/tests/fixtures/media/{rel}", env!("CARGO_MANIFEST_DIR"));
    Bytes::from(std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}")))
}

/// `EXTINF` of fixture segment `i`, as the fixture playlists give it.
pub fn fixture_duration(kind: Kind, i: usize) -> f64 {
    match (kind, i) {
        (Kind::Ts, 5) => 1.98,
        (Kind::Fmp4, 5) => 1.980469,
        _ => 2.0,
    }
}

/// One published segment: which fixture it replays, and whether a discontinuity precedes it.
#[derive(Debug, Clone, Copy)]
pub struct Entry {
    pub fixture: usize,
    pub discontinuity: bool,
    /// The media sequence restarts at 0 here (the packager restarted).
    pub reset: bool,
    /// TS: served with its audio moved to this PID (packets and PMT), as a packager that
    /// changed its streams without `#EXT-X-DISCONTINUITY`.
    pub audio_pid: Option<u16>,
    /// Served with everything after its first 752 bytes scrambled: still TS or MP4 at first
    /// sight, but not a stream any parser can follow.
    pub garbled: bool,
}

impl Entry {
    pub fn plain(fixture: usize) -> Self {
        Self {
            fixture,
            discontinuity: false,
            reset: false,
            audio_pid: None,
            garbled: false,
        }
    }

    /// The bytes this entry serves (before any encryption).
    pub fn body(&self, kind: Kind) -> Bytes {
        let data = fixture_segment(kind, self.fixture);
        let data = match self.audio_pid {
            Some(pid) if kind == Kind::Ts => Bytes::from(move_pid(&data, FIXTURE_AUDIO_PID, pid)),
            _ => data,
        };
        if !self.garbled {
            return data;
        }
        let mut d = data.to_vec();
        let mut x: u32 = 0x9E37_79B9;
        for b in d.iter_mut().skip(752) {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            *b = x as u8;
        }
        Bytes::from(d)
    }
}

/// PIDs of the TS fixtures (ffmpeg's defaults).
const FIXTURE_PMT_PID: u16 = 0x1000;
const FIXTURE_AUDIO_PID: u16 = 0x101;

/// Moves elementary stream `from` to PID `to`: in every packet header, and in every PMT (whose
/// CRC is recomputed).
fn move_pid(data: &[u8], from: u16, to: u16) -> Vec<u8> {
    let mut d = data.to_vec();
    for p in d.chunks_exact_mut(188) {
        let pid = u16::from_be_bytes([p[1] & 0x1F, p[2]]);
        if pid == from {
            p[1] = (p[1] & 0xE0) | (to >> 8) as u8;
            p[2] = to as u8;
        }
        // A PMT at the start of a packet without adaptation field: pointer 0, the section.
        if pid == FIXTURE_PMT_PID && p[1] & 0x40 != 0 && p[3] & 0x30 == 0x10 && p[4] == 0 {
            let len = 3 + ((usize::from(p[6] & 0x0F) << 8) | usize::from(p[7]));
            let section = &mut p[5..5 + len];
            let info = (usize::from(section[10] & 0x0F) << 8) | usize::from(section[11]);
            let mut es = 12 + info;
            while es + 5 <= len - 4 {
                if u16::from_be_bytes([section[es + 1] & 0x1F, section[es + 2]]) == from {
                    section[es + 1] = (section[es + 1] & 0xE0) | (to >> 8) as u8;
                    section[es + 2] = to as u8;
                }
                es +=
                    5 + ((usize::from(section[es + 3] & 0x0F) << 8) | usize::from(section[es + 4]));
            }
            let crc = liverec::media::ts::crc32_mpeg(&section[..len - 4]);
            section[len - 4..].copy_from_slice(&crc.to_be_bytes());
        }
    }
    d
}

#[derive(Debug, Clone)]
pub enum Fault {
    Status(u16),
    Html,
}

#[derive(Clone)]
pub struct Channel {
    pub kind: Kind,
    pub schedule: Vec<Entry>,
    /// Entries in the playlist at once.
    pub window: usize,
    /// A new entry every `period`.
    pub period: Duration,
    /// Advertised `EXT-X-TARGETDURATION`.
    pub target: u32,
    /// Entries published when the clock starts.
    pub initial: usize,
    /// `#EXT-X-ENDLIST` once the whole schedule is published.
    pub endlist: bool,
    /// Once this many entries are out, the playlist freezes for this long.
    pub stall: Option<(usize, Duration)>,
    /// Faults per schedule index, answered to the first `n` requests (`usize::MAX`: always).
    pub faults: HashMap<usize, (Fault, usize)>,
    /// AES-128 key: segments are encrypted, with the media sequence as IV.
    pub key: Option<[u8; 16]>,
    /// The playlist answers text that is not a playlist.
    pub garbage: bool,
    /// Media sequence of the first entry (a reset restarts at 0).
    pub first_sequence: u64,
    /// Signed playlist URLs: a playlist request's query (the signature) is refused with 403
    /// once this long has passed since it was first seen, as a CDN refuses an expired signed
    /// URL (Bilibili's `expires=`); a request without one is refused at once.
    pub expire_after: Option<Duration>,
}

impl Channel {
    /// The six fixture segments once, a 4-entry window, a new one every 0.5 s (4x real time).
    pub fn fixture(kind: Kind) -> Self {
        Self {
            kind,
            schedule: (0..6).map(Entry::plain).collect(),
            window: 4,
            period: Duration::from_millis(500),
            target: 1,
            initial: 1,
            endlist: true,
            stall: None,
            faults: HashMap::new(),
            key: None,
            garbage: false,
            first_sequence: 0,
            expire_after: None,
        }
    }
}

struct Live {
    ch: Channel,
    started: Option<Instant>,
    loads: u64,
    /// Requests per path (without query).
    requests: HashMap<String, u64>,
    /// Bodies answered with 200 per schedule index (plain, before encryption).
    served: HashMap<usize, u64>,
    /// Playlist queries (signatures) and when each was first seen.
    signatures: HashMap<String, Instant>,
    /// Playlist requests refused as expired.
    expired: u64,
}

impl Live {
    fn published(&self, now: Instant) -> usize {
        let Some(start) = self.started else {
            return 0;
        };
        let elapsed = now.duration_since(start);
        let at = |e: Duration| {
            self.ch.initial + (e.as_secs_f64() / self.ch.period.as_secs_f64()) as usize
        };
        let mut p = at(elapsed);
        if let Some((n, d)) = self.ch.stall {
            if p > n {
                let reached = self.ch.period * (n.saturating_sub(self.ch.initial) as u32);
                p = if elapsed < reached + d {
                    n
                } else {
                    at(elapsed - d).max(n)
                };
            }
        }
        p.min(self.ch.schedule.len())
    }

    /// Media sequence of schedule index `i`.
    fn sequence(&self, i: usize) -> u64 {
        match (0..=i).rev().find(|&j| self.ch.schedule[j].reset) {
            Some(reset) => (i - reset) as u64,
            None => self.ch.first_sequence + i as u64,
        }
    }

    fn playlist(&mut self, base: &str, now: Instant) -> String {
        self.loads += 1;
        let tok = self.loads;
        let hi = self.published(now);
        let mut lo = hi.saturating_sub(self.ch.window);
        // A window never straddles a sequence reset.
        if let Some(r) = (lo + 1..hi).rev().find(|&j| self.ch.schedule[j].reset) {
            lo = r;
        }
        // Discontinuity tags no longer listed (slid out, or on the first entry, where this
        // server leaves them out) are counted, as RFC 8216 §6.2.2 requires of a server, within
        // the current numbering (a restarted packager counts from 0 again).
        let numbering = (0..=lo.min(self.ch.schedule.len().saturating_sub(1)))
            .rev()
            .find(|&j| self.ch.schedule[j].reset)
            .unwrap_or(0);
        let dropped = (numbering..=lo)
            .filter(|&j| j < hi && self.ch.schedule[j].discontinuity)
            .count();
        let mut out = format!(
            "#EXTM3U\n#EXT-X-VERSION:{}\n#EXT-X-TARGETDURATION:{}\n#EXT-X-MEDIA-SEQUENCE:{}\n\
             #EXT-X-DISCONTINUITY-SEQUENCE:{dropped}\n",
            if self.ch.kind == Kind::Fmp4 { 7 } else { 3 },
            self.ch.target,
            if hi > lo { self.sequence(lo) } else { 0 },
        );
        if self.ch.kind == Kind::Fmp4 {
            out.push_str("#EXT-X-MAP:URI=\"init.mp4\"\n");
        }
        if self.ch.key.is_some() {
            out.push_str("#EXT-X-KEY:METHOD=AES-128,URI=\"key.bin\"\n");
        }
        for i in lo..hi {
            let e = self.ch.schedule[i];
            if e.discontinuity && i > lo {
                out.push_str("#EXT-X-DISCONTINUITY\n");
            }
            out.push_str(&format!(
                "#EXTINF:{:.6},\n",
                fixture_duration(self.ch.kind, e.fixture)
            ));
            let name = format!("seg/{i}.{}?tok={tok}", self.ch.kind.ext());
            if i % 2 == 0 {
                out.push_str(&name);
            } else {
                out.push_str(&format!("{base}{name}"));
            }
            out.push('\n');
        }
        if self.ch.endlist && hi == self.ch.schedule.len() {
            out.push_str("#EXT-X-ENDLIST\n");
        }
        out
    }
}

struct Shared {
    addr: SocketAddr,
    channels: Mutex<HashMap<String, Live>>,
    /// Master playlists set by hand, by name (`/hls/<name>/master.m3u8`).
    masters: Mutex<HashMap<String, String>>,
}

pub struct HlsServer {
    pub addr: SocketAddr,
    shared: Arc<Shared>,
}

impl HlsServer {
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let shared = Arc::new(Shared {
            addr,
            channels: Mutex::new(HashMap::new()),
            masters: Mutex::new(HashMap::new()),
        });
        let app = axum::Router::new()
            .route("/hls/{name}/{*rest}", axum::routing::get(serve))
            .with_state(shared.clone());
        tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Self { addr, shared }
    }

    /// The playlist URL of channel `name`.
    pub fn url(&self, name: &str) -> String {
        format!("http://{}/hls/{name}/live.m3u8", self.addr)
    }

    /// A master playlist whose best variant is channel `name`.
    pub fn master_url(&self, name: &str) -> String {
        format!("http://{}/hls/{name}/master.m3u8", self.addr)
    }

    /// Serves `text` as `/hls/<name>/master.m3u8` (URIs relative to it: `../<channel>/live.m3u8`
    /// names a channel's playlist).
    pub fn set_master(&self, name: &str, text: &str) {
        self.shared
            .masters
            .lock()
            .unwrap()
            .insert(name.to_string(), text.to_string());
    }

    pub fn set(&self, name: &str, ch: Channel) {
        self.shared.channels.lock().unwrap().insert(
            name.to_string(),
            Live {
                ch,
                started: None,
                loads: 0,
                requests: HashMap::new(),
                served: HashMap::new(),
                signatures: HashMap::new(),
                expired: 0,
            },
        );
    }

    /// Changes a channel's settings without restarting its clock.
    pub fn update(&self, name: &str, f: impl FnOnce(&mut Channel)) {
        if let Some(live) = self.shared.channels.lock().unwrap().get_mut(name) {
            f(&mut live.ch);
        }
    }

    /// Requests of `path` (relative to the channel, without query), e.g. `live.m3u8`, `seg/3.ts`.
    pub fn requests(&self, name: &str, path: &str) -> u64 {
        let channels = self.shared.channels.lock().unwrap();
        channels
            .get(name)
            .and_then(|l| l.requests.get(path).copied())
            .unwrap_or(0)
    }

    /// Playlist requests refused because their signed URL had expired.
    pub fn expired(&self, name: &str) -> u64 {
        let channels = self.shared.channels.lock().unwrap();
        channels.get(name).map_or(0, |l| l.expired)
    }

    /// Different signed playlist URLs (queries) seen, with `expire_after` set.
    pub fn signatures(&self, name: &str) -> usize {
        let channels = self.shared.channels.lock().unwrap();
        channels.get(name).map_or(0, |l| l.signatures.len())
    }

    /// Schedule indexes answered with media (200), in order.
    pub fn served(&self, name: &str) -> Vec<usize> {
        let channels = self.shared.channels.lock().unwrap();
        let mut v: Vec<usize> = channels
            .get(name)
            .map(|l| l.served.keys().copied().collect())
            .unwrap_or_default();
        v.sort_unstable();
        v
    }

    /// The plain bytes of schedule entries `indexes`, concatenated (what a recording of them
    /// holds, without any init section).
    pub fn media(&self, name: &str, indexes: impl IntoIterator<Item = usize>) -> Vec<u8> {
        let channels = self.shared.channels.lock().unwrap();
        let ch = &channels[name].ch;
        let mut out = Vec::new();
        for i in indexes {
            out.extend_from_slice(&ch.schedule[i].body(ch.kind));
        }
        out
    }
}

async fn serve(
    State(shared): State<Arc<Shared>>,
    Path((name, rest)): Path<(String, String)>,
    RawQuery(query): RawQuery,
) -> Response {
    let now = Instant::now();
    if rest == "master.m3u8" {
        if let Some(text) = shared.masters.lock().unwrap().get(&name) {
            return (
                [(header::CONTENT_TYPE, "application/vnd.apple.mpegurl")],
                text.clone(),
            )
                .into_response();
        }
    }
    let mut channels = shared.channels.lock().unwrap();
    let Some(live) = channels.get_mut(&name) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    *live.requests.entry(rest.clone()).or_default() += 1;
    if rest == "live.m3u8" {
        if live.ch.garbage {
            return (
                [(header::CONTENT_TYPE, "text/plain")],
                "hello, I am not a playlist\n",
            )
                .into_response();
        }
        if let Some(ttl) = live.ch.expire_after {
            let expired = match query {
                Some(q) => now.duration_since(*live.signatures.entry(q).or_insert(now)) >= ttl,
                None => true,
            };
            if expired {
                live.expired += 1;
                return StatusCode::FORBIDDEN.into_response();
            }
        }
        live.started.get_or_insert(now);
        let base = format!("http://{}/hls/{name}/", shared.addr);
        let text = live.playlist(&base, now);
        return (
            [(header::CONTENT_TYPE, "application/vnd.apple.mpegurl")],
            text,
        )
            .into_response();
    }
    if rest == "master.m3u8" {
        // Two variants: a low one that does not exist, and this channel's playlist.
        let text = "#EXTM3U\n\
            #EXT-X-STREAM-INF:BANDWIDTH=300000,RESOLUTION=320x180\n\
            ../nonexistent/live.m3u8\n\
            #EXT-X-STREAM-INF:BANDWIDTH=1200000,RESOLUTION=640x360,CODECS=\"avc1.4d401e,mp4a.40.2\"\n\
            live.m3u8\n";
        return (
            [(header::CONTENT_TYPE, "application/vnd.apple.mpegurl")],
            text,
        )
            .into_response();
    }
    if rest == "init.mp4" {
        return ([(header::CONTENT_TYPE, "video/mp4")], fixture_init()).into_response();
    }
    if rest == "key.bin" {
        return match live.ch.key {
            Some(k) => k.to_vec().into_response(),
            None => StatusCode::NOT_FOUND.into_response(),
        };
    }
    let Some(i) = rest
        .strip_prefix("seg/")
        .and_then(|r| r.split_once('.'))
        .and_then(|(i, _)| i.parse::<usize>().ok())
        .filter(|&i| i < live.published(now))
    else {
        return StatusCode::NOT_FOUND.into_response();
    };
    if let Some((fault, left)) = live.ch.faults.get_mut(&i) {
        if *left > 0 {
            *left = left.saturating_sub(1);
            return match fault {
                Fault::Status(code) => StatusCode::from_u16(*code).unwrap().into_response(),
                Fault::Html => (
                    [(header::CONTENT_TYPE, "text/html")],
                    "<!DOCTYPE html><html><body>502 Bad Gateway</body></html>",
                )
                    .into_response(),
            };
        }
    }
    *live.served.entry(i).or_default() += 1;
    let plain = live.ch.schedule[i].body(live.ch.kind);
    let body = match live.ch.key {
        None => plain,
        Some(key) => {
            let iv = u128::from(live.sequence(i)).to_be_bytes();
            let mut buf = vec![0u8; plain.len() + 16];
            buf[..plain.len()].copy_from_slice(&plain);
            let n = cbc::Encryptor::<aes::Aes128>::new((&key).into(), (&iv).into())
                .encrypt_padded::<Pkcs7>(&mut buf, plain.len())
                .unwrap()
                .len();
            buf.truncate(n);
            Bytes::from(buf)
        }
    };
    let ct = if live.ch.kind == Kind::Ts {
        "video/mp2t"
    } else {
        "video/iso.segment"
    };
    ([(header::CONTENT_TYPE, ct)], body).into_response()
}

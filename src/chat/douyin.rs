//! One Douyin webcast chat connection (experimental; DANMAKU.md §D): the push URL with its
//! signature computed here, a `ttwid` cookie, acks when a response asks for one, a heartbeat
//! every 10 s, chat and gift messages, and the control message that says the live ended.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use futures_util::{SinkExt, StreamExt};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::http::{HeaderName, HeaderValue, header};

use super::bilibili::deliver;
use super::douyin_frame::{DouyinEvent, HEARTBEAT_FRAME, Limits, decode_frame};
use super::douyin_signature::{Entropy, sign_query, user_unique_id};
use super::event::ChatEvent;
use super::link::{Incoming, LinkError};
use super::ws;
use crate::platform::DouyinChat;

const HEARTBEAT: Duration = Duration::from_secs(10);
/// The server pushes at least every few seconds while live; this long without a frame is dead.
const DEAD_AFTER: Duration = Duration::from_secs(40);

/// The push URL for `ep`, signed with `entropy` (DANMAKU.md §D.2, §D.3).
pub(crate) fn push_url(ep: &DouyinChat, unique_id: u64, entropy: Entropy) -> String {
    let uid = unique_id.to_string();
    let query: Vec<(&str, &str)> = vec![
        ("app_name", "douyin_web"),
        ("version_code", "180800"),
        ("webcast_sdk_version", "1.0.15"),
        ("update_version_code", "1.0.15"),
        ("compress", "gzip"),
        ("device_platform", "web"),
        ("cookie_enabled", "true"),
        ("browser_language", "zh-CN"),
        ("browser_platform", "Win32"),
        ("browser_name", "Mozilla"),
        ("browser_version", &ep.browser_version),
        ("browser_online", "true"),
        ("tz_name", "Asia/Shanghai"),
        ("host", "https://live.douyin.com"),
        ("aid", "6383"),
        ("live_id", "1"),
        ("did_rule", "3"),
        ("endpoint", "live_pc"),
        ("support_wrds", "1"),
        ("user_unique_id", &uid),
        ("im_path", "/webcast/im/fetch/"),
        ("identity", "audience"),
        ("need_persist_msg_count", "15"),
        ("heartbeatDuration", "0"),
        ("room_id", &ep.room_id),
    ];
    let signature = sign_query(&query, entropy);
    let encoded: String = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(query.iter().copied())
        .finish();
    // Appended as the peers do: the signature's `+` and `/` unencoded.
    format!("{}?{encoded}&signature={signature}", ep.base)
}

fn headers(ep: &DouyinChat) -> Vec<(HeaderName, HeaderValue)> {
    let mut h = vec![
        (header::USER_AGENT, ep.user_agent.clone()),
        (
            header::ORIGIN,
            HeaderValue::from_static("https://live.douyin.com"),
        ),
        (
            header::REFERER,
            HeaderValue::from_static("https://live.douyin.com/"),
        ),
    ];
    if let Ok(mut v) = HeaderValue::from_str(&format!("ttwid={}", ep.ttwid.expose())) {
        v.set_sensitive(true);
        h.push((header::COOKIE, v));
    }
    h
}

pub(crate) async fn session(
    ep: &DouyinChat,
    tx: &mpsc::Sender<Incoming>,
    on_auth: &mut (dyn FnMut() + Send),
) -> Result<(), LinkError> {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let entropy = Entropy::from_random(rand::random());
    let url = push_url(ep, user_unique_id(nanos), entropy);
    let mut ws = ws::connect(&url, &headers(ep)).await.map_err(|e| {
        if e.is_blocked() {
            LinkError::Blocked(format!("Douyin refused chat for this device or IP: {e}"))
        } else {
            LinkError::Connect(e)
        }
    })?;
    on_auth();
    let limits = Limits::default();
    let mut beat = tokio::time::interval(HEARTBEAT);
    let mut last_heard = Instant::now();
    loop {
        let deadline = tokio::time::Instant::from_std(last_heard + DEAD_AFTER);
        tokio::select! {
            _ = beat.tick() => send(&mut ws, HEARTBEAT_FRAME.to_vec()).await?,
            _ = tokio::time::sleep_until(deadline) => {
                return Err(LinkError::Silent(DEAD_AFTER.as_secs()));
            }
            msg = ws.next() => {
                last_heard = Instant::now();
                match msg {
                    None | Some(Ok(Message::Close(_))) => return Err(LinkError::Closed),
                    Some(Err(e)) => return Err(LinkError::Broken(e.to_string())),
                    Some(Ok(Message::Binary(b))) => {
                        let at = Instant::now();
                        let frame = match decode_frame(&b, &limits) {
                            Ok(f) => f,
                            Err(e) => {
                                tracing::debug!("chat: skipped a frame: {e}");
                                continue;
                            }
                        };
                        if let Some(ack) = frame.ack {
                            send(&mut ws, ack).await?;
                        }
                        for event in frame.events {
                            match event {
                                DouyinEvent::Chat(d) => deliver(tx, Incoming::Chat(ChatEvent::Danmaku(d), at)),
                                DouyinEvent::Gift(g) => deliver(tx, Incoming::Chat(ChatEvent::Gift(g), at)),
                                DouyinEvent::LiveEnded => deliver(tx, Incoming::LiveEnded),
                                DouyinEvent::Control { status } => {
                                    tracing::debug!("chat: control message with status {status}");
                                }
                                DouyinEvent::Other(_) => {}
                            }
                        }
                    }
                    Some(Ok(_)) => {}
                }
            }
        }
    }
}

async fn send(ws: &mut ws::Ws, bytes: Vec<u8>) -> Result<(), LinkError> {
    ws.send(Message::Binary(bytes.into()))
        .await
        .map_err(|e| LinkError::Broken(e.to_string()))
}

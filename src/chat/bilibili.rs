//! One Bilibili chat connection (DANMAKU.md §A.3): connect to the first host that answers,
//! authenticate within 5 s, heartbeat every 30 s, and read until the socket dies (nothing for
//! 35 s counts as dead). Packets and commands are decoded by [`super::bili_packet`] and
//! [`super::bili_commands`]; a bad frame or command is skipped, never fatal.

use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::http::{HeaderName, HeaderValue, header};

use super::bili_commands::{Command, GiftDedup, parse_command};
use super::bili_packet::{Auth, HEARTBEAT_PACKET, Limits, Packet, auth_packet, decode_message};
use super::event::{ChatEvent, UnknownNames};
use super::link::{Incoming, LinkError};
use super::ws::{self, Ws};
use crate::platform::BiliChat;

const HEARTBEAT: Duration = Duration::from_secs(30);
/// A heartbeat reply comes every 30 s: a socket silent for longer is dead.
const DEAD_AFTER: Duration = Duration::from_secs(35);
const AUTH_WAIT: Duration = Duration::from_secs(10);

/// Said once per daemon: anonymous connections get masked users.
static MASKED_NOTED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

fn headers(ep: &BiliChat) -> Vec<(HeaderName, HeaderValue)> {
    // The web client's: the token is bound to the User-Agent. No cookie goes to the chat host.
    vec![
        (header::USER_AGENT, ep.user_agent.clone()),
        (
            header::ORIGIN,
            HeaderValue::from_static("https://live.bilibili.com"),
        ),
        (
            header::REFERER,
            HeaderValue::from_static("https://live.bilibili.com/"),
        ),
    ]
}

async fn connect_any(ep: &BiliChat) -> Result<Ws, LinkError> {
    let mut last = None;
    for url in &ep.urls {
        match ws::connect(url, &headers(ep)).await {
            Ok(ws) => return Ok(ws),
            Err(e) => {
                tracing::debug!("chat: {e}");
                last = Some(e);
            }
        }
    }
    Err(match last {
        Some(e) => LinkError::Connect(e),
        None => LinkError::Broken("getDanmuInfo listed no chat host".into()),
    })
}

/// Runs one connection to its end; `on_auth` is called once the server accepted the token.
pub(crate) async fn session(
    ep: &BiliChat,
    tx: &mpsc::Sender<Incoming>,
    raw: bool,
    gifts: &mut GiftDedup,
    on_auth: &mut (dyn FnMut() + Send),
) -> Result<(), LinkError> {
    let mut ws = connect_any(ep).await?;
    let auth = auth_packet(&Auth {
        uid: ep.uid,
        room_id: ep.room_id,
        key: ep.token.expose(),
        buvid: Some(&ep.buvid),
    })
    .map_err(|e| LinkError::Broken(e.to_string()))?;
    send(&mut ws, auth).await?;
    let limits = Limits::default();
    let code = tokio::time::timeout(AUTH_WAIT, auth_reply(&mut ws, &limits))
        .await
        .map_err(|_| LinkError::AuthTimeout(AUTH_WAIT.as_secs()))??;
    if code != 0 {
        return Err(LinkError::AuthRefused(code));
    }
    on_auth();
    if ep.uid == 0 && !MASKED_NOTED.swap(true, std::sync::atomic::Ordering::Relaxed) {
        tracing::info!(
            "chat: without a login cookie Bilibili masks chat users (uid 0, names cut to one \
             character) and may leave messages out; set cookie_file in [platforms.bilibili] \
             for full chat"
        );
    }
    send(&mut ws, HEARTBEAT_PACKET.to_vec()).await?;
    let mut beat = tokio::time::interval_at(tokio::time::Instant::now() + HEARTBEAT, HEARTBEAT);
    let mut unknown = UnknownNames::default();
    let mut last_heard = Instant::now();
    loop {
        let deadline = tokio::time::Instant::from_std(last_heard + DEAD_AFTER);
        tokio::select! {
            _ = beat.tick() => send(&mut ws, HEARTBEAT_PACKET.to_vec()).await?,
            _ = tokio::time::sleep_until(deadline) => {
                return Err(LinkError::Silent(DEAD_AFTER.as_secs()));
            }
            msg = ws.next() => {
                last_heard = Instant::now();
                match msg {
                    None => return Err(LinkError::Closed),
                    Some(Err(e)) => return Err(LinkError::Broken(e.to_string())),
                    Some(Ok(Message::Binary(b))) => {
                        on_message(&b, &limits, raw, gifts, &mut unknown, tx);
                    }
                    Some(Ok(Message::Close(_))) => return Err(LinkError::Closed),
                    // Pings are answered by the library; text is not part of the protocol.
                    Some(Ok(_)) => {}
                }
            }
        }
    }
}

async fn send(ws: &mut Ws, bytes: Vec<u8>) -> Result<(), LinkError> {
    ws.send(Message::Binary(bytes.into()))
        .await
        .map_err(|e| LinkError::Broken(e.to_string()))
}

/// Reads until the auth reply; anything before it is ignored.
async fn auth_reply(ws: &mut Ws, limits: &Limits) -> Result<i64, LinkError> {
    loop {
        match ws.next().await {
            None | Some(Ok(Message::Close(_))) => return Err(LinkError::Closed),
            Some(Err(e)) => return Err(LinkError::Broken(e.to_string())),
            Some(Ok(Message::Binary(b))) => {
                let decoded = decode_message(&b, limits);
                for p in decoded.packets {
                    if let Packet::AuthReply { code } = p {
                        return Ok(code.unwrap_or(-1));
                    }
                }
            }
            Some(Ok(_)) => {}
        }
    }
}

fn on_message(
    bytes: &[u8],
    limits: &Limits,
    raw: bool,
    gifts: &mut GiftDedup,
    unknown: &mut UnknownNames,
    tx: &mpsc::Sender<Incoming>,
) {
    let at = Instant::now();
    let decoded = decode_message(bytes, limits);
    if let Some(e) = &decoded.error {
        tracing::debug!("chat: skipped part of a message: {e}");
    }
    for packet in decoded.packets {
        let Packet::Command(body) = packet else {
            continue;
        };
        match parse_command(&body, raw) {
            Ok(Command::Chat(ev)) => deliver(tx, Incoming::Chat(ev, at)),
            Ok(Command::Gifts {
                source,
                gifts: list,
            }) => {
                for g in list {
                    if gifts.admit(&g, source) {
                        deliver(tx, Incoming::Chat(ChatEvent::Gift(g), at));
                    }
                }
            }
            Ok(Command::Room(signal)) => deliver(tx, Incoming::Room(signal)),
            Ok(Command::Other(name)) => {
                if unknown.note(&name) {
                    tracing::debug!("chat: ignoring the command {name:?}");
                }
            }
            Err(e) => tracing::debug!("chat: skipped a command: {e}"),
        }
    }
}

/// Hands an item to the room's chat task without waiting: when its queue is full, the item is
/// dropped and counted.
pub(crate) fn deliver(tx: &mpsc::Sender<Incoming>, item: Incoming) {
    if let Err(mpsc::error::TrySendError::Full(_)) = tx.try_send(item) {
        crate::metrics::count(
            "liverec_chat_dropped_total",
            "Chat records dropped because the room's chat task was behind.",
            &[],
            1,
        );
    }
}

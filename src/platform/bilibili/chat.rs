//! The chat connection's endpoint: a fresh `getDanmuInfo` (wbi-signed, with the room's cookie
//! and the platform's `buvid3`, through chat's share of the request budget, then the budget)
//! turned into the URLs, token and identity the chat client authenticates with (DANMAKU.md
//! §A.1, §A.3, §A.6).

use super::api::{self, ChatHost, Signed};
use super::{Bilibili, DANMU_PATH};
use crate::platform::{BiliChat, ChatEndpoint, PlatformError, RoomSpec};
use crate::util::secret::Secret;

/// The host the web client falls back to when the answer lists none.
const FALLBACK_HOST: &str = "broadcastlv.chat.bilibili.com";

impl Bilibili {
    pub(super) async fn chat(&self, room: &RoomSpec) -> Result<ChatEndpoint, PlatformError> {
        let room_id: u64 = room
            .key
            .id
            .parse()
            .map_err(|_| PlatformError::Config(format!("{} is not a room id", room.key.id)))?;
        let params = [
            ("id", room.key.id.clone()),
            ("type", "0".to_string()),
            ("web_location", "444.8".to_string()),
        ];
        let mut refusal = None;
        for attempt in 0..2 {
            self.chat_share.turn().await;
            let (query, _signed) = self.signed_query(&params).await;
            let url = format!("{}{DANMU_PATH}?{query}", self.hosts.api);
            match self
                .call(
                    &url,
                    room.cookie.as_ref(),
                    "getDanmuInfo",
                    api::danmu_info_as,
                    true,
                )
                .await?
            {
                Signed::Data(info) => {
                    let cookie = room.cookie.as_ref().map(Secret::expose);
                    return Ok(ChatEndpoint::Bilibili(BiliChat {
                        urls: self.chat_urls(&info.hosts),
                        token: Secret::new(info.token),
                        room_id,
                        uid: login_uid(cookie.unwrap_or_default()),
                        buvid: cookie_value(cookie.unwrap_or_default(), "buvid3")
                            .unwrap_or(&self.buvid3)
                            .to_string(),
                        user_agent: self.ua.clone(),
                    }));
                }
                Signed::Refused(r) => {
                    refusal = Some(r);
                    // Like any signed call: once more with fresh keys, then give up for now.
                    if attempt == 0 && self.forget_wbi_keys().await {
                        continue;
                    }
                    break;
                }
            }
        }
        // Refused for chat only: the chat backs off by itself, and polls (the recordings'
        // authority) are not paused for it.
        Err(PlatformError::Blocked(format!(
            "getDanmuInfo: {} (the signature or cookie is refused)",
            refusal.map(|r| r.to_string()).unwrap_or_default()
        )))
    }

    /// `ws://` to `ws_port` when the API base is a plain-HTTP mirror or test server, else
    /// `wss://` to `wss_port`; the hosts in the answer's order, the catch-all host last.
    fn chat_urls(&self, hosts: &[ChatHost]) -> Vec<String> {
        let plain = self.hosts.api.starts_with("http://");
        let mut list: Vec<&ChatHost> = hosts.iter().filter(|h| h.host != FALLBACK_HOST).collect();
        list.extend(hosts.iter().filter(|h| h.host == FALLBACK_HOST));
        let mut urls: Vec<String> = list
            .into_iter()
            .map(|h| match plain {
                true => format!("ws://{}:{}/sub", h.host, h.ws_port),
                false => format!("wss://{}:{}/sub", h.host, h.wss_port),
            })
            .collect();
        if urls.is_empty() && !plain {
            urls.push(format!("wss://{FALLBACK_HOST}:443/sub"));
        }
        urls
    }
}

/// A cookie's value by name.
fn cookie_value<'a>(cookie: &'a str, name: &str) -> Option<&'a str> {
    cookie.split(';').find_map(|p| {
        let (k, v) = p.trim().split_once('=')?;
        (k.trim() == name && !v.trim().is_empty()).then(|| v.trim())
    })
}

/// The uid to authenticate as: `DedeUserID`, but only when the cookie holds `SESSDATA` (a
/// uid that does not match the token's user gets the connection closed).
pub(crate) fn login_uid(cookie: &str) -> u64 {
    if cookie_value(cookie, "SESSDATA").is_none() {
        return 0;
    }
    cookie_value(cookie, "DedeUserID")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

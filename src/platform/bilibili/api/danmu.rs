//! `getDanmuInfo`: the chat token and hosts (DANMAKU.md §A.1), decoded.

use serde_json::Value;

use super::super::super::PlatformError;
use super::super::super::json::{at, text, uint};
use super::{Signed, checked_signed};

/// One chat server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ChatHost {
    pub(crate) host: String,
    pub(crate) ws_port: u16,
    pub(crate) wss_port: u16,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DanmuInfo {
    pub(crate) token: String,
    pub(crate) hosts: Vec<ChatHost>,
}

/// Hosts kept from one answer: the real one lists three.
const MAX_HOSTS: usize = 8;

/// `xlive/web-room/v1/index/getDanmuInfo?id=`: `-352` and a voucher are refusals of the
/// signature; an answer without a token is no answer.
pub(crate) fn danmu_info_as(body: &[u8], what: &str) -> Result<Signed<DanmuInfo>, PlatformError> {
    let env = match checked_signed(body, what, "token")? {
        Ok(env) => env,
        Err(refusal) => return Ok(Signed::Refused(refusal)),
    };
    let token = text(at(&env.data, "/token"))
        .filter(|t| !t.is_empty())
        .ok_or_else(|| PlatformError::Malformed(format!("{what}: no token in the answer")))?;
    let hosts = at(&env.data, "/host_list")
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .filter_map(host)
        .take(MAX_HOSTS)
        .collect();
    Ok(Signed::Data(DanmuInfo { token, hosts }))
}

fn host(v: &Value) -> Option<ChatHost> {
    let name = text(at(v, "/host")).filter(|h| is_host_name(h))?;
    let port = |p: &str| uint(at(v, p)).and_then(|n| u16::try_from(n).ok());
    Some(ChatHost {
        host: name,
        ws_port: port("/ws_port").unwrap_or(2244),
        wss_port: port("/wss_port").unwrap_or(443),
    })
}

/// A host name or address that can go into a URL as it is: nothing the server says can add a
/// path, a user or a port to the URL chat connects to.
fn is_host_name(h: &str) -> bool {
    !h.is_empty()
        && h.len() <= 253
        && h.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
}

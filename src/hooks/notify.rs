//! Notifications: one request per attempt, in the shape of its service (see docs/hooks.md,
//! "Notifications"). [`request`] builds it without IO, so each shape is tested on bytes; [`send`]
//! sends it. Any 2xx answer is success (and, for Bark, a `code` of 200 in its JSON); anything else
//! fails the attempt, which the dispatcher retries like a webhook's. No text this module returns
//! holds a token or a secret URL: errors are scrubbed of the entry's secrets.

use serde_json::json;

use crate::config::{Endpoint, NotifyConfig};
use crate::event::Event;

mod wording;

/// Characters a message may have, per service (Discord refuses content over 2000, Telegram over
/// 4096; ntfy turns longer bodies into attachments).
const DISCORD_MAX: usize = 2000;
const TELEGRAM_MAX: usize = 4096;
const OTHER_MAX: usize = 4000;
/// How much of a refusing answer is read, for the reason in the log.
const ANSWER_PEEK: usize = 2048;

/// One notification as it goes on the wire.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Request {
    pub(crate) url: String,
    /// Besides `Content-Type`.
    pub(crate) headers: Vec<(&'static str, String)>,
    pub(crate) content_type: &'static str,
    pub(crate) body: Vec<u8>,
}

fn json_request(
    url: String,
    headers: Vec<(&'static str, String)>,
    body: serde_json::Value,
) -> Request {
    Request {
        url,
        headers,
        content_type: "application/json",
        body: body.to_string().into_bytes(),
    }
}

/// The request that notifies `event` through `cfg`.
pub(crate) fn request(cfg: &NotifyConfig, event: &Event) -> Request {
    let title = wording::title(event);
    let message = wording::message(cfg, event);
    let alarm = wording::is_alarm(event);
    match &cfg.endpoint {
        Endpoint::Telegram {
            api_base,
            bot_token,
            chat_id,
        } => json_request(
            format!("{api_base}/bot{}/sendMessage", bot_token.expose()),
            Vec::new(),
            // No parse_mode: the text is plain, so a title cannot inject markup.
            json!({
                "chat_id": chat_id,
                "text": wording::cut(&message, TELEGRAM_MAX),
                "disable_web_page_preview": true,
            }),
        ),
        Endpoint::Ntfy { url, token } => {
            let mut headers = vec![("Title", wording::header_text(&title))];
            if alarm {
                headers.push(("Priority", "high".to_string()));
                headers.push(("Tags", "warning".to_string()));
            }
            if let Some(t) = token {
                headers.push(("Authorization", format!("Bearer {}", t.expose())));
            }
            Request {
                url: url.expose().to_string(),
                headers,
                content_type: "text/plain; charset=utf-8",
                body: wording::cut(&message, OTHER_MAX).into_bytes(),
            }
        }
        Endpoint::Gotify { url, token } => json_request(
            format!("{url}/message"),
            // The header, not `?token=`: a query string ends up in proxies' logs.
            vec![("X-Gotify-Key", token.expose().to_string())],
            json!({
                "title": title,
                "message": wording::cut(&message, OTHER_MAX),
                "priority": if alarm { 8 } else { 5 },
            }),
        ),
        Endpoint::Bark { url, device_key } => json_request(
            format!("{url}/push"),
            Vec::new(),
            // The key in the body, not in the path: it stays out of every address.
            json!({
                "device_key": device_key.expose(),
                "title": title,
                "body": wording::cut(&message, OTHER_MAX),
                "group": "liverec",
            }),
        ),
        Endpoint::Discord { url } => json_request(
            url.expose().to_string(),
            Vec::new(),
            // A title saying "@everyone" must not ping anyone.
            json!({
                "content": wording::cut(&message, DISCORD_MAX),
                "allowed_mentions": {"parse": []},
            }),
        ),
        Endpoint::Slack { url } => json_request(
            url.expose().to_string(),
            Vec::new(),
            json!({"text": wording::slack_escape(&wording::cut(&message, OTHER_MAX))}),
        ),
    }
}

/// `text` without any of the entry's secrets, one line, at most 200 characters.
fn scrub(cfg: &NotifyConfig, text: &str) -> String {
    let mut out = text.to_string();
    for s in cfg.endpoint.secrets() {
        out = out.replace(s, "[redacted]");
    }
    let line: String = out
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    wording::cut(line.trim(), 200)
}

/// Why an answer is a refusal, from its body: Telegram's `description`, Bark's `message`, or the
/// start of the text.
fn refusal(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    if let Ok(v) = serde_json::from_str::<serde_json::Value>(&text) {
        for key in ["description", "message", "error"] {
            if let Some(s) = v.get(key).and_then(|x| x.as_str()) {
                return s.to_string();
            }
        }
    }
    text.into_owned()
}

/// Bark answers HTTP 200 with `{"code": 400, ...}` for some refusals.
fn bark_refused(body: &[u8]) -> Option<String> {
    let v: serde_json::Value = serde_json::from_slice(body).ok()?;
    let code = v.get("code")?.as_i64()?;
    (code != 200).then(|| format!("answered code {code}: {}", refusal(body)))
}

/// One attempt: sends the notification; the error says why it failed, without secrets.
pub(crate) async fn send(
    client: &reqwest::Client,
    cfg: &NotifyConfig,
    event: &Event,
) -> Result<(), String> {
    let req = request(cfg, event);
    let mut builder = client
        .post(&req.url)
        .timeout(cfg.timeout)
        .header(reqwest::header::CONTENT_TYPE, req.content_type);
    for (name, value) in &req.headers {
        builder = builder.header(*name, value.as_str());
    }
    let resp = match builder.body(req.body).send().await {
        Ok(r) => r,
        Err(e) => return Err(scrub(cfg, &crate::http::describe(&e))),
    };
    let status = resp.status();
    let body = crate::http::read_prefix(resp, ANSWER_PEEK)
        .await
        .unwrap_or_default();
    if status.is_success() {
        let bark = matches!(cfg.endpoint, Endpoint::Bark { .. });
        return match bark.then(|| bark_refused(&body)).flatten() {
            Some(why) => Err(scrub(cfg, &why)),
            None => Ok(()),
        };
    }
    let why = refusal(&body[..body.len().min(ANSWER_PEEK)]);
    let reason = status
        .canonical_reason()
        .map(|r| format!(" {r}"))
        .unwrap_or_default();
    let detail = if why.trim().is_empty() {
        String::new()
    } else {
        format!(": {why}")
    };
    Err(scrub(
        cfg,
        &format!("answered HTTP {}{reason}{detail}", status.as_u16()),
    ))
}

#[cfg(test)]
mod tests;

//! Webhook deliveries: one POST of the event JSON per attempt.

use hmac::{Hmac, KeyInit, Mac};
use reqwest::header::CONTENT_TYPE;
use sha2::Sha256;
use uuid::Uuid;

use crate::config::WebhookConfig;
use crate::event::Event;

pub(crate) const EVENT_HEADER: &str = "X-Liverec-Event";
pub(crate) const DELIVERY_HEADER: &str = "X-Liverec-Delivery";
pub(crate) const SIGNATURE_HEADER: &str = "X-Liverec-Signature";

/// `sha256=<hex>`: the HMAC-SHA256 of `body` keyed with `secret`, as sent in
/// `X-Liverec-Signature`.
pub(crate) fn signature(secret: &[u8], body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes keys of any length"); // ok: infallible
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// The client webhooks are sent with: no redirects (a 3xx is an answer, and a redirected POST
/// would turn into a GET), the daemon's User-Agent.
pub(crate) fn client() -> reqwest::Result<reqwest::Client> {
    reqwest::Client::builder()
        .user_agent(concat!("liverec/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(std::time::Duration::from_secs(10))
        .redirect(reqwest::redirect::Policy::none())
        .build()
}

/// One attempt: POSTs `event` to the webhook. Any 2xx answer is success; anything else
/// (another status, a refused connection, a timeout) is the reason the attempt failed.
pub(crate) async fn post(
    client: &reqwest::Client,
    hook: &WebhookConfig,
    event: &Event,
    delivery: Uuid,
) -> Result<(), String> {
    let body = serde_json::to_vec(event).map_err(|e| format!("cannot encode the event: {e}"))?;
    let mut req = client
        .post(&hook.url)
        .timeout(hook.timeout)
        .header(CONTENT_TYPE, "application/json")
        .header(EVENT_HEADER, event.kind.as_str())
        .header(DELIVERY_HEADER, delivery.to_string());
    if let Some(secret) = &hook.secret {
        req = req.header(
            SIGNATURE_HEADER,
            signature(secret.expose().as_bytes(), &body),
        );
    }
    match req.body(body).send().await {
        Ok(resp) if resp.status().is_success() => Ok(()),
        Ok(resp) => {
            let status = resp.status();
            Err(format!(
                "answered HTTP {}{}",
                status.as_u16(),
                status
                    .canonical_reason()
                    .map(|r| format!(" {r}"))
                    .unwrap_or_default()
            ))
        }
        Err(e) => Err(crate::http::describe(&e)),
    }
}

#[cfg(test)]
mod tests;

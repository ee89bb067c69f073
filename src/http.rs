//! The daemon's one HTTP client, and reading answers without trusting their size.

use std::time::Duration;

use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;

/// A current desktop Chrome User-Agent, for both platforms (`user_agent` in a platform's section
/// replaces it): platform APIs answer "python"-looking clients and outdated browsers with risk
/// control, and Douyin's request signature is computed over it. Chrome's reduced UA names only
/// the major version; keep it within a few releases of the current stable Chrome.
pub(crate) const BROWSER_UA: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 \
     (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36";

/// Builds the shared client. No overall timeout: streams last for hours; API calls set their own.
pub(crate) fn client() -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder()
        .user_agent(concat!("liverec/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(Duration::from_secs(10))
        .redirect(reqwest::redirect::Policy::limited(8))
        .pool_idle_timeout(Duration::from_secs(30))
        .tcp_keepalive(Duration::from_secs(30))
        .build()
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum ReadError {
    #[error("answer larger than {cap} bytes")]
    TooLarge { cap: usize },
    #[error("{0}")]
    Http(#[from] reqwest::Error),
}

/// Reads a whole answer, failing as soon as it passes `cap` bytes, so a hostile or broken server
/// cannot make us allocate what it likes.
pub(crate) async fn read_capped(resp: reqwest::Response, cap: usize) -> Result<Bytes, ReadError> {
    if resp.content_length().is_some_and(|n| n > cap as u64) {
        return Err(ReadError::TooLarge { cap });
    }
    let mut body = BytesMut::new();
    let mut stream = resp.bytes_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk?;
        if body.len() + chunk.len() > cap {
            return Err(ReadError::TooLarge { cap });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

/// Reads at least `want` bytes of a body (or all of it, if shorter), for sniffing a stream's
/// first bytes without downloading it.
pub(crate) async fn read_prefix(
    resp: reqwest::Response,
    want: usize,
) -> Result<Bytes, reqwest::Error> {
    let mut head = BytesMut::new();
    let mut stream = resp.bytes_stream();
    while head.len() < want {
        match stream.next().await {
            Some(chunk) => head.extend_from_slice(&chunk?),
            None => break,
        }
    }
    Ok(head.freeze())
}

/// A short printable view of bytes that were not what we expected, for error messages.
pub(crate) fn sniff(bytes: &[u8]) -> String {
    let head = &bytes[..bytes.len().min(24)];
    let text: String = head
        .iter()
        .map(|&b| {
            if (0x20..0x7f).contains(&b) {
                b as char
            } else {
                '.'
            }
        })
        .collect();
    format!("{text:?}")
}

/// One line describing a reqwest error, without the URL (it may carry signed tokens).
pub(crate) fn describe(err: &reqwest::Error) -> String {
    let kind = if err.is_timeout() {
        "timed out"
    } else if err.is_connect() {
        "connection failed"
    } else if err.is_redirect() {
        "too many redirects"
    } else if err.is_body() || err.is_decode() {
        "connection broke while reading"
    } else if err.is_request() {
        "request failed"
    } else {
        "HTTP error"
    };
    let mut cause = String::new();
    let mut source = std::error::Error::source(err);
    while let Some(s) = source {
        cause = s.to_string();
        source = s.source();
    }
    if cause.is_empty() {
        kind.to_string()
    } else {
        format!("{kind}: {cause}")
    }
}

#[cfg(test)]
mod tests;

//! The WebSocket transport of chat: TCP, TLS (the same trust roots and crypto provider as the
//! HTTP client), the handshake, and bounded buffers and messages.

use std::sync::{Arc, LazyLock};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::{HeaderName, HeaderValue};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

use crate::util::secret::redact_url;

/// Connecting (TCP, TLS and the handshake) gives up after this long.
pub(crate) const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// A chat message is a few KiB; anything near this is not chat.
const MAX_MESSAGE: usize = 1 << 20;

pub(crate) trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

pub(crate) type Ws = WebSocketStream<Box<dyn Io>>;

#[derive(Debug, thiserror::Error)]
pub(crate) enum ConnectError {
    #[error("{0} is not a ws:// or wss:// URL")]
    BadUrl(String),
    #[error("cannot connect to {url}: {source}")]
    Tcp {
        url: String,
        #[source]
        source: std::io::Error,
    },
    #[error("TLS with {url} failed: {source}")]
    Tls {
        url: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{url} answered the WebSocket handshake with HTTP {status}{detail}")]
    Refused {
        url: String,
        status: u16,
        /// What the server said in its headers (Douyin's `handshake-msg`), if anything.
        detail: String,
    },
    #[error("WebSocket handshake with {url} failed: {reason}")]
    Handshake { url: String, reason: String },
    #[error("{url} did not answer within {}s", CONNECT_TIMEOUT.as_secs())]
    Timeout { url: String },
}

impl ConnectError {
    /// The server said this device or IP is blocked (Douyin's `DEVICE_BLOCKED`).
    pub(crate) fn is_blocked(&self) -> bool {
        matches!(self, Self::Refused { detail, .. } if detail.contains("BLOCKED"))
    }
}

/// Small buffers: hundreds of idle connections must stay cheap (the defaults are 128 KiB each).
fn config() -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(8 * 1024)
        .write_buffer_size(0)
        .max_write_buffer_size(256 * 1024)
        .max_message_size(Some(MAX_MESSAGE))
        .max_frame_size(Some(MAX_MESSAGE))
}

static TLS: LazyLock<Option<Arc<rustls::ClientConfig>>> = LazyLock::new(|| {
    use rustls_platform_verifier::BuilderVerifierExt;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let built = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .and_then(|b| b.with_platform_verifier())
        .map(|b| b.with_no_client_auth());
    match built {
        Ok(c) => Some(Arc::new(c)),
        Err(e) => {
            tracing::warn!(
                "chat: no TLS configuration ({e}): wss:// chat servers cannot be reached"
            );
            None
        }
    }
});

/// Opens `url` with these extra request headers (never a cookie unless the caller adds one).
pub(crate) async fn connect(
    url: &str,
    headers: &[(HeaderName, HeaderValue)],
) -> Result<Ws, ConnectError> {
    let shown = redact_url(url);
    match tokio::time::timeout(CONNECT_TIMEOUT, open(url, &shown, headers)).await {
        Ok(r) => r,
        Err(_) => Err(ConnectError::Timeout { url: shown }),
    }
}

async fn open(
    url: &str,
    shown: &str,
    headers: &[(HeaderName, HeaderValue)],
) -> Result<Ws, ConnectError> {
    let bad = || ConnectError::BadUrl(shown.to_string());
    let parsed = url::Url::parse(url).map_err(|_| bad())?;
    let tls = match parsed.scheme() {
        "ws" => false,
        "wss" => true,
        _ => return Err(bad()),
    };
    let host = parsed.host_str().ok_or_else(bad)?.to_string();
    let port = parsed.port_or_known_default().ok_or_else(bad)?;
    let tcp = TcpStream::connect((host.as_str(), port))
        .await
        .map_err(|source| ConnectError::Tcp {
            url: shown.to_string(),
            source,
        })?;
    let _ = tcp.set_nodelay(true);
    let stream: Box<dyn Io> = if tls {
        let tls_err = |source| ConnectError::Tls {
            url: shown.to_string(),
            source,
        };
        let cfg = TLS
            .clone()
            .ok_or_else(|| tls_err(std::io::Error::other("no TLS configuration")))?;
        let name = rustls::pki_types::ServerName::try_from(host.clone())
            .map_err(|e| tls_err(std::io::Error::other(e.to_string())))?;
        let s = tokio_rustls::TlsConnector::from(cfg)
            .connect(name, tcp)
            .await
            .map_err(tls_err)?;
        Box::new(s)
    } else {
        Box::new(tcp)
    };
    let mut req = url.into_client_request().map_err(|_| bad())?;
    for (k, v) in headers {
        req.headers_mut().insert(k.clone(), v.clone());
    }
    match tokio_tungstenite::client_async_with_config(req, stream, Some(config())).await {
        Ok((ws, _)) => Ok(ws),
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => {
            let said = |k: &str| {
                resp.headers()
                    .get(k)
                    .and_then(|v| v.to_str().ok())
                    .map(crate::platform::json::short)
            };
            let detail = match (said("handshake-status"), said("handshake-msg")) {
                (None, None) => String::new(),
                (s, m) => format!(
                    " ({})",
                    [s, m].into_iter().flatten().collect::<Vec<_>>().join(" ")
                ),
            };
            Err(ConnectError::Refused {
                url: shown.to_string(),
                status: resp.status().as_u16(),
                detail,
            })
        }
        Err(e) => Err(ConnectError::Handshake {
            url: shown.to_string(),
            reason: e.to_string(),
        }),
    }
}

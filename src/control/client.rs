//! A minimal client for the control API, over TCP or a Unix socket, for `liverec status`.

use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;

use crate::config::{Config, Listen};
use crate::util::secret::Secret;

const TIMEOUT: Duration = Duration::from_secs(5);

/// The address the daemon of `config` listens on: the configured one, or, for port 0, the one
/// it wrote into its state folder.
pub(crate) fn address(config: &Config) -> Listen {
    if let Listen::Tcp(a) = &config.control.listen {
        if a.port() == 0 {
            let note = std::fs::read_to_string(super::address_file(config)).unwrap_or_default();
            let v: serde_json::Value = serde_json::from_str(&note).unwrap_or_default();
            if let Some(addr) = v["listen"].as_str().and_then(|s| s.parse().ok()) {
                return Listen::Tcp(addr);
            }
        }
    }
    config.control.listen.clone()
}

/// Sends one request; returns the status code and body.
pub(crate) async fn request(
    listen: &Listen,
    token: Option<&Secret>,
    method: &str,
    path: &str,
) -> Result<(u16, String), String> {
    request_with(listen, token, method, path, String::new(), TIMEOUT).await
}

/// [`request`] with a JSON body and a time limit of its own (a retention pass may take long).
pub(crate) async fn request_with(
    listen: &Listen,
    token: Option<&Secret>,
    method: &str,
    path: &str,
    body: String,
    limit: Duration,
) -> Result<(u16, String), String> {
    tokio::time::timeout(limit, send(listen, token, method, path, body))
        .await
        .map_err(|_| format!("no answer from {listen} within {}s", limit.as_secs()))?
}

async fn send(
    listen: &Listen,
    token: Option<&Secret>,
    method: &str,
    path: &str,
    body: String,
) -> Result<(u16, String), String> {
    let mut req = Request::builder()
        .method(method)
        .uri(path)
        // A name the API's DNS-rebinding guard accepts without a token (see `guard`).
        .header("host", "localhost");
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {}", t.expose()));
    }
    let req = req
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body)))
        .map_err(|e| e.to_string())?;
    let unreachable = |e: std::io::Error| format!("no liverec daemon answers at {listen}: {e}");
    let resp = match listen {
        Listen::Tcp(addr) => {
            let stream = tokio::net::TcpStream::connect(addr)
                .await
                .map_err(unreachable)?;
            exchange(TokioIo::new(stream), req).await?
        }
        Listen::Unix(path) => {
            let stream = tokio::net::UnixStream::connect(path)
                .await
                .map_err(unreachable)?;
            exchange(TokioIo::new(stream), req).await?
        }
    };
    Ok(resp)
}

async fn exchange<T>(io: T, req: Request<Full<Bytes>>) -> Result<(u16, String), String>
where
    T: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let (mut sender, conn) = hyper::client::conn::http1::handshake(io)
        .await
        .map_err(|e| e.to_string())?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    let resp = sender.send_request(req).await.map_err(|e| e.to_string())?;
    let code = resp.status().as_u16();
    let body = resp
        .into_body()
        .collect()
        .await
        .map_err(|e| e.to_string())?
        .to_bytes();
    Ok((code, String::from_utf8_lossy(&body).into_owned()))
}

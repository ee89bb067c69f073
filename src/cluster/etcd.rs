//! A small async etcd v3 client over etcd's JSON gRPC gateway (`POST /v3/...`), using the
//! reqwest client liverec already has instead of a gRPC stack.
//!
//! It holds: the endpoint list with failover, the per-request timeout, the auth token (fetched
//! with user + password, fetched again when etcd says it is no longer valid), and typed calls
//! for the few operations the cluster needs. [`EtcdClient::watch_prefix`] runs a reconnecting
//! watch (see [`watch`]).
//!
//! It does not own: what the keys mean, when to keep a lease alive, or retries of a failed
//! call (callers decide; the lease state machine wants to see failures, not hide them), nor
//! reading the password file (the caller passes the password in).
//!
//! Failover: a call goes to the endpoint that last answered; if it cannot connect there, it
//! tries the next ones in order. A call that connected but timed out is not replayed on another
//! endpoint (a put or transaction may have been applied), but the next call starts at the next
//! endpoint.

mod auth;
pub mod error;
pub mod watch;
pub mod wire;

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderValue};
use serde_json::Value;

pub use auth::Credentials;
pub use error::EtcdError;
pub use watch::{Watch, WatchItem, WatchOptions};
pub use wire::{Compare, EventKind, KeyValue, Range, WatchEvent};
use wire::{PutIf, ServerError, WireError};

/// Answers above this size are refused (a listing of liverec's keys is a few hundred KiB at
/// most); it bounds what one call can make us hold.
pub const MAX_ANSWER_BYTES: usize = 16 * 1024 * 1024;

#[derive(Debug, Clone)]
pub struct Config {
    /// Base URLs, e.g. `http://127.0.0.1:2379`; no user info (use `credentials`).
    pub endpoints: Vec<String>,
    /// The limit for one call, connection included. Keep it well under the lease TTL so a
    /// hung etcd is reported before the lease runs out.
    pub request_timeout: Duration,
    pub credentials: Option<Credentials>,
}

/// A lease as granted: its id and the TTL etcd chose (never below etcd's minimum).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lease {
    pub id: i64,
    pub ttl: Duration,
}

/// What [`EtcdClient::txn_create_if_absent`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CreateOutcome {
    /// Ours now; `revision` is the key's create revision (the fencing token).
    Created { revision: i64 },
    /// Someone else's: the key as it is (value, create revision, lease).
    Exists(KeyValue),
}

/// The condition of [`EtcdClient::txn_delete_if`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeleteIf {
    /// Unchanged since this revision.
    ModRevision(i64),
    /// Still attached to this lease (still ours).
    Lease(i64),
}

/// Cheap to clone; clones share the connection pool, the endpoint choice and the token.
#[derive(Clone)]
pub struct EtcdClient {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    endpoints: Vec<String>,
    /// The endpoint the next call starts at.
    current: AtomicUsize,
    timeout: Duration,
    auth: Option<Auth>,
}

struct Auth {
    credentials: Credentials,
    /// Held while authenticating, so concurrent calls wait for one token instead of each
    /// fetching their own.
    token: tokio::sync::Mutex<Option<String>>,
}

impl fmt::Debug for EtcdClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EtcdClient")
            .field("endpoints", &self.inner.endpoints)
            .field("timeout", &self.inner.timeout)
            .field(
                "user",
                &self.inner.auth.as_ref().map(|a| a.credentials.user()),
            )
            .finish()
    }
}

impl EtcdClient {
    pub fn new(config: Config) -> Result<Self, EtcdError> {
        if config.endpoints.is_empty() {
            return Err(EtcdError::Config("no endpoints".into()));
        }
        let endpoints = config
            .endpoints
            .iter()
            .enumerate()
            .map(|(i, e)| {
                normalize_endpoint(e)
                    .map_err(|why| EtcdError::Config(format!("endpoint #{}: {why}", i + 1)))
            })
            .collect::<Result<Vec<_>, _>>()?;
        if config.request_timeout.is_zero() {
            return Err(EtcdError::Config("request timeout is zero".into()));
        }
        let http = reqwest::Client::builder()
            .connect_timeout(config.request_timeout)
            // etcd sits on the LAN: an http_proxy meant for the platforms must not catch it.
            .no_proxy()
            .tcp_nodelay(true)
            .pool_idle_timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| EtcdError::Config(format!("HTTP client: {e}")))?;
        Ok(Self {
            inner: Arc::new(Inner {
                http,
                endpoints,
                current: AtomicUsize::new(0),
                timeout: config.request_timeout,
                auth: config.credentials.map(|credentials| Auth {
                    credentials,
                    token: tokio::sync::Mutex::new(None),
                }),
            }),
        })
    }

    pub fn endpoints(&self) -> &[String] {
        &self.inner.endpoints
    }

    pub fn request_timeout(&self) -> Duration {
        self.inner.timeout
    }

    pub async fn get(&self, key: &str) -> Result<Option<KeyValue>, EtcdError> {
        let body = wire::range_request(key.as_bytes(), None);
        let range = self
            .call("range", "/v3/kv/range", &body, wire::decode_range)
            .await?;
        Ok(range.kvs.into_iter().next())
    }

    /// Every key starting with `prefix`, and the revision they were read at.
    pub async fn get_prefix(&self, prefix: &str) -> Result<Range, EtcdError> {
        let end = wire::prefix_end(prefix.as_bytes());
        let body = wire::range_request(prefix.as_bytes(), Some(&end));
        self.call("range", "/v3/kv/range", &body, wire::decode_range)
            .await
    }

    /// Returns the revision of the write.
    pub async fn put(&self, key: &str, value: &[u8], lease: Option<i64>) -> Result<i64, EtcdError> {
        let body = wire::put_request(key.as_bytes(), value, lease.unwrap_or(0));
        self.call("put", "/v3/kv/put", &body, wire::decode_revision)
            .await
    }

    /// Returns whether the key existed.
    pub async fn delete(&self, key: &str) -> Result<bool, EtcdError> {
        let body = wire::delete_request(key.as_bytes());
        let deleted = self
            .call(
                "deleterange",
                "/v3/kv/deleterange",
                &body,
                wire::decode_delete,
            )
            .await?;
        Ok(deleted > 0)
    }

    /// Creates `key` unless it exists, in one transaction; the loser learns the winner's key.
    pub async fn txn_create_if_absent(
        &self,
        key: &str,
        value: &[u8],
        lease: Option<i64>,
    ) -> Result<CreateOutcome, EtcdError> {
        let body = wire::put_if_request(
            key.as_bytes(),
            value,
            lease.unwrap_or(0),
            Compare::CreateRevision(0),
        );
        match self
            .call("txn", "/v3/kv/txn", &body, wire::decode_put_if)
            .await?
        {
            PutIf::Done { revision } => Ok(CreateOutcome::Created { revision }),
            PutIf::Failed { current: Some(kv) } => Ok(CreateOutcome::Exists(kv)),
            // Impossible in one atomic transaction (the compare saw the key); say so rather
            // than guess.
            PutIf::Failed { current: None } => Err(EtcdError::Decode {
                op: "txn",
                endpoint: self.endpoint_name(self.inner.current.load(Ordering::Relaxed)),
                detail: "create failed but the key is absent".into(),
            }),
        }
    }

    /// Puts `value` if the key was created at `create_revision` (it is still the same claim,
    /// not a successor's). Returns whether it did.
    pub async fn txn_put_if_create_revision(
        &self,
        key: &str,
        value: &[u8],
        lease: Option<i64>,
        create_revision: i64,
    ) -> Result<bool, EtcdError> {
        let body = wire::put_if_request(
            key.as_bytes(),
            value,
            lease.unwrap_or(0),
            Compare::CreateRevision(create_revision),
        );
        let outcome = self
            .call("txn", "/v3/kv/txn", &body, wire::decode_put_if)
            .await?;
        Ok(matches!(outcome, PutIf::Done { .. }))
    }

    /// Puts `value` if the key's mod revision is `mod_revision` (0: the key is absent).
    /// Returns whether it did.
    pub async fn txn_put_if_mod_revision(
        &self,
        key: &str,
        value: &[u8],
        lease: Option<i64>,
        mod_revision: i64,
    ) -> Result<bool, EtcdError> {
        let body = wire::put_if_request(
            key.as_bytes(),
            value,
            lease.unwrap_or(0),
            Compare::ModRevision(mod_revision),
        );
        let outcome = self
            .call("txn", "/v3/kv/txn", &body, wire::decode_put_if)
            .await?;
        Ok(matches!(outcome, PutIf::Done { .. }))
    }

    /// Deletes `key` only if the condition holds (e.g. "still on my lease", so a slow instance
    /// never deletes its successor's owner key). Returns whether it did.
    pub async fn txn_delete_if(&self, key: &str, condition: DeleteIf) -> Result<bool, EtcdError> {
        let compare = match condition {
            DeleteIf::ModRevision(r) => Compare::ModRevision(r),
            DeleteIf::Lease(l) => Compare::Lease(l),
        };
        let body = wire::delete_if_request(key.as_bytes(), compare);
        self.call("txn", "/v3/kv/txn", &body, wire::decode_txn_succeeded)
            .await
    }

    /// Grants a lease of `ttl`, rounded up to whole seconds (etcd may raise it to its minimum).
    pub async fn lease_grant(&self, ttl: Duration) -> Result<Lease, EtcdError> {
        let secs = ttl_secs(ttl);
        let body = wire::lease_grant_request(secs);
        let (id, granted) = self
            .call(
                "lease grant",
                "/v3/lease/grant",
                &body,
                wire::decode_lease_grant,
            )
            .await?;
        Ok(Lease {
            id,
            ttl: Duration::from_secs(granted.unsigned_abs()),
        })
    }

    /// Renews the lease; returns its new TTL, zero when the lease is gone (expired or revoked).
    pub async fn lease_keepalive(&self, id: i64) -> Result<Duration, EtcdError> {
        let body = wire::lease_id_request(id);
        let ttl = self
            .call(
                "lease keepalive",
                "/v3/lease/keepalive",
                &body,
                wire::decode_keepalive,
            )
            .await?;
        Ok(Duration::from_secs(ttl.unsigned_abs()))
    }

    /// Revokes the lease, deleting every key attached to it. Returns false if it was already
    /// gone.
    pub async fn lease_revoke(&self, id: i64) -> Result<bool, EtcdError> {
        let body = wire::lease_id_request(id);
        match self
            .call(
                "lease revoke",
                "/v3/lease/revoke",
                &body,
                wire::decode_revision,
            )
            .await
        {
            Ok(_) => Ok(true),
            Err(e) if e.is_lease_not_found() => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// The time the lease has left, `None` if it is gone.
    pub async fn lease_time_to_live(&self, id: i64) -> Result<Option<Duration>, EtcdError> {
        let body = wire::lease_id_request(id);
        let ttl = self
            .call(
                "lease timetolive",
                "/v3/lease/timetolive",
                &body,
                wire::decode_time_to_live,
            )
            .await?;
        Ok(ttl.map(|s| Duration::from_secs(s.unsigned_abs())))
    }

    /// Watches every key under `prefix` from `from_revision` (0: from whenever the watch is
    /// first set up), in a background task that reconnects on its own; see [`watch`]. The
    /// usual pattern: [`get_prefix`](Self::get_prefix), then watch from its `revision + 1`.
    /// Must be called inside a tokio runtime.
    pub fn watch_prefix(&self, prefix: &str, from_revision: i64, options: WatchOptions) -> Watch {
        watch::spawn(self.clone(), prefix.to_owned(), from_revision, options)
    }

    // ---- plumbing -------------------------------------------------------------------------

    /// One unary call: with the token if auth is on, fetching a new token once if etcd says
    /// the old one is no longer valid.
    async fn call<T>(
        &self,
        op: &'static str,
        path: &str,
        request: &Value,
        decode: fn(&[u8]) -> Result<T, WireError>,
    ) -> Result<T, EtcdError> {
        let body = serde_json::to_vec(request)
            .map_err(|e| EtcdError::Config(format!("{op}: cannot encode request: {e}")))?;
        let mut retried = false;
        loop {
            let token = self.token().await?;
            let (endpoint, status, answer) = self.send(op, path, &body, token.as_deref()).await?;
            let server_error = if (200..300).contains(&status) {
                match decode(&answer) {
                    Ok(value) => return Ok(value),
                    Err(WireError::Malformed(detail)) => {
                        return Err(EtcdError::Decode {
                            op,
                            endpoint: self.endpoint_name(endpoint),
                            detail,
                        });
                    }
                    Err(WireError::Server(e)) => e,
                }
            } else {
                match wire::decode_error(&answer) {
                    Some(e) => e,
                    None => {
                        return Err(EtcdError::Http {
                            op,
                            endpoint: self.endpoint_name(endpoint),
                            status,
                        });
                    }
                }
            };
            if server_error.is_auth() && !retried {
                if let Some(used) = &token {
                    self.forget_token(used).await;
                    retried = true;
                    continue;
                }
            }
            return Err(self.server_error(op, endpoint, status, server_error));
        }
    }

    fn server_error(
        &self,
        op: &'static str,
        endpoint: usize,
        status: u16,
        e: ServerError,
    ) -> EtcdError {
        EtcdError::Server {
            op,
            endpoint: self.endpoint_name(endpoint),
            status,
            code: e.code,
            message: e.message,
        }
    }

    /// POSTs `body` with failover; returns `(endpoint index, status, body)`.
    async fn send(
        &self,
        op: &'static str,
        path: &str,
        body: &[u8],
        token: Option<&str>,
    ) -> Result<(usize, u16, Vec<u8>), EtcdError> {
        let (endpoint, mut response) = self.open(op, path, body, token, true).await?;
        let status = response.status().as_u16();
        let mut answer = Vec::new();
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    if answer.len() + chunk.len() > MAX_ANSWER_BYTES {
                        return Err(EtcdError::TooLarge {
                            op,
                            endpoint: self.endpoint_name(endpoint),
                            limit: MAX_ANSWER_BYTES,
                        });
                    }
                    answer.extend_from_slice(&chunk);
                }
                Ok(None) => return Ok((endpoint, status, answer)),
                Err(e) => return Err(self.request_error(op, endpoint, &e)),
            }
        }
    }

    /// Sends the request and waits for the answer's head, trying the endpoints in turn while
    /// connecting fails. `bounded`: the whole call (body included) is limited by the request
    /// timeout; a watch instead bounds only the wait for the head here.
    async fn open(
        &self,
        op: &'static str,
        path: &str,
        body: &[u8],
        token: Option<&str>,
        bounded: bool,
    ) -> Result<(usize, reqwest::Response), EtcdError> {
        let n = self.inner.endpoints.len();
        let start = self.inner.current.load(Ordering::Relaxed) % n;
        let mut last_failure = None;
        for step in 0..n {
            let index = (start + step) % n;
            let url = format!("{}{}", self.inner.endpoints[index], path);
            let mut request = self
                .inner
                .http
                .post(url)
                .header(CONTENT_TYPE, "application/json")
                .body(body.to_vec());
            if bounded {
                request = request.timeout(self.inner.timeout);
            }
            if let Some(token) = token.filter(|t| !t.is_empty()) {
                let mut value = HeaderValue::from_str(token).map_err(|_| {
                    EtcdError::Config("etcd returned a token that is not a valid header".into())
                })?;
                value.set_sensitive(true);
                request = request.header(AUTHORIZATION, value);
            }
            let sent = if bounded {
                request.send().await
            } else {
                match tokio::time::timeout(self.inner.timeout, request.send()).await {
                    Ok(sent) => sent,
                    Err(_) => {
                        self.skip(index);
                        return Err(EtcdError::Timeout {
                            op,
                            endpoint: self.endpoint_name(index),
                            timeout: self.inner.timeout,
                        });
                    }
                }
            };
            match sent {
                Ok(response) => {
                    self.inner.current.store(index, Ordering::Relaxed);
                    return Ok((index, response));
                }
                // Nothing was sent: safe to try the next endpoint, even for a write.
                Err(e) if e.is_connect() => last_failure = Some((index, cause(&e))),
                Err(e) => return Err(self.request_error(op, index, &e)),
            }
        }
        let (index, detail) = last_failure.unwrap_or((start, "no endpoint tried".into()));
        Err(EtcdError::Unreachable {
            op,
            tried: n,
            endpoint: self.endpoint_name(index),
            detail,
        })
    }

    fn request_error(&self, op: &'static str, endpoint: usize, e: &reqwest::Error) -> EtcdError {
        // The call may have reached etcd: don't replay it elsewhere, but start the next call
        // at another endpoint.
        self.skip(endpoint);
        if e.is_timeout() {
            EtcdError::Timeout {
                op,
                endpoint: self.endpoint_name(endpoint),
                timeout: self.inner.timeout,
            }
        } else {
            EtcdError::Transport {
                op,
                endpoint: self.endpoint_name(endpoint),
                detail: cause(e),
            }
        }
    }

    fn skip(&self, endpoint: usize) {
        let next = (endpoint + 1) % self.inner.endpoints.len();
        self.inner.current.store(next, Ordering::Relaxed);
    }

    fn endpoint_name(&self, index: usize) -> String {
        self.inner
            .endpoints
            .get(index)
            .cloned()
            .unwrap_or_else(|| "?".into())
    }
}

/// Seconds for a TTL: rounded up, at least 1.
fn ttl_secs(ttl: Duration) -> i64 {
    let secs = ttl.as_secs() + u64::from(ttl.subsec_nanos() > 0);
    i64::try_from(secs.max(1)).unwrap_or(i64::MAX)
}

/// `http(s)://host:port` without a trailing slash. Refuses user info (it would end up in log
/// lines; credentials go in `Config::credentials`), paths, queries and fragments.
pub(crate) fn normalize_endpoint(raw: &str) -> Result<String, String> {
    let url = reqwest::Url::parse(raw.trim()).map_err(|e| format!("not a URL ({e})"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err("scheme must be http or https".into());
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("user info is not allowed in an endpoint; use user + password_file".into());
    }
    if url.query().is_some() || url.fragment().is_some() || url.path() != "/" {
        return Err("an endpoint is scheme://host:port, without path or query".into());
    }
    if url.host_str().is_none() {
        return Err("no host".into());
    }
    Ok(url.as_str().trim_end_matches('/').to_owned())
}

/// The innermost causes of a reqwest error (its own text repeats the URL and says little).
fn cause(e: &reqwest::Error) -> String {
    let mut parts = Vec::new();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        parts.push(s.to_string());
        source = s.source();
    }
    if parts.is_empty() {
        e.to_string()
    } else {
        parts.join(": ")
    }
}

#[cfg(test)]
mod tests;

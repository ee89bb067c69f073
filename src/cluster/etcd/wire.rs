//! etcd's JSON gRPC gateway on the wire: request bodies and the decoding of its answers. Pure
//! and IO-free, tested on answers captured from a real etcd 3.4 (tests/fixtures/etcd/).
//!
//! The gateway maps protobuf to JSON: `bytes` fields (keys, values) are base64, `int64` fields
//! are strings, and fields holding their zero value are left out (a missing `TTL` is 0, a missing
//! event `type` is PUT, a missing `succeeded` is false). Errors come as
//! `{"error": "...", "message": "...", "code": N}` with a non-2xx status, except inside streamed
//! answers (watch, keep-alive), where they are `{"error": {"grpc_code": N, "message": "..."}}`.
//!
//! Not here: HTTP, endpoints, auth tokens (see the parent module).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Deserializer};
use serde_json::{Value, json};

/// A key and its value as etcd stores them. Keys are liverec's own UTF-8 paths; a foreign key
/// that is not UTF-8 is decoded lossily rather than failing a whole listing.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct KeyValue {
    pub key: String,
    pub value: Vec<u8>,
    /// Revision that created the key; 0 for a deletion event. The owner key's one is the fence.
    pub create_revision: i64,
    pub mod_revision: i64,
    pub version: i64,
    /// The lease the key is attached to; 0 for none.
    pub lease: i64,
}

/// The keys of a range, and the store revision the range was read at (a watch started at
/// `revision + 1` sees every later change).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Range {
    pub kvs: Vec<KeyValue>,
    pub revision: i64,
}

/// A condition on a key's current state, for transactions. For a missing key etcd compares
/// against 0, so `ModRevision(0)` / `CreateRevision(0)` mean "absent".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compare {
    CreateRevision(i64),
    ModRevision(i64),
    Lease(i64),
}

/// What a conditional put found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PutIf {
    /// The condition held and the put happened at this revision.
    Done { revision: i64 },
    /// The condition failed; the key as it is now (`None`: absent).
    Failed { current: Option<KeyValue> },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    Put,
    Delete,
}

/// One change seen by a watch. For a deletion, `kv` holds the key and `mod_revision` only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatchEvent {
    pub kind: EventKind,
    pub kv: KeyValue,
}

/// One object of a watch stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WatchFrame {
    /// The watch is set up; `revision` is the store revision at that moment.
    Created {
        revision: i64,
    },
    Events {
        events: Vec<WatchEvent>,
    },
    /// No events, only a header (a progress notification).
    Progress {
        revision: i64,
    },
    /// The requested start revision was compacted away; history before this is gone.
    Compacted {
        compact_revision: i64,
    },
    /// The server refused or ended the watch (auth, permissions).
    Canceled {
        reason: String,
    },
}

/// An error as etcd reports it: a gRPC status code and etcd's message (which names the
/// condition, e.g. "etcdserver: requested lease not found", never a value).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerError {
    pub code: i32,
    pub message: String,
}

impl ServerError {
    /// The token is missing, expired or from before an etcd restart: authenticate again.
    pub fn is_auth(&self) -> bool {
        self.code == GRPC_UNAUTHENTICATED
            || self.message.contains("invalid auth token")
            || self.message.contains("user name is empty")
    }
}

pub const GRPC_DEADLINE_EXCEEDED: i32 = 4;
pub const GRPC_NOT_FOUND: i32 = 5;
pub const GRPC_UNAVAILABLE: i32 = 14;
pub const GRPC_UNAUTHENTICATED: i32 = 16;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WireError {
    /// Not the JSON we expect; `detail` names the position, never the content.
    Malformed(String),
    /// A well-formed error answer.
    Server(ServerError),
}

pub fn encode_bytes(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

fn decode_bytes(field: &str, text: &str) -> Result<Vec<u8>, WireError> {
    STANDARD
        .decode(text)
        .map_err(|_| WireError::Malformed(format!("{field} is not base64")))
}

/// The end of the key range holding every key that starts with `prefix` (etcd's "prefix end":
/// the prefix with its last byte below 0xff incremented). All-0xff prefixes have no upper
/// bound, which etcd spells `\0`.
pub fn prefix_end(prefix: &[u8]) -> Vec<u8> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return end;
        }
    }
    vec![0]
}

// ---- requests -------------------------------------------------------------------------------

pub fn range_request(key: &[u8], range_end: Option<&[u8]>) -> Value {
    match range_end {
        Some(end) => json!({"key": encode_bytes(key), "range_end": encode_bytes(end)}),
        None => json!({"key": encode_bytes(key)}),
    }
}

pub fn put_request(key: &[u8], value: &[u8], lease: i64) -> Value {
    let mut put = json!({"key": encode_bytes(key), "value": encode_bytes(value)});
    if lease != 0 {
        put["lease"] = Value::String(lease.to_string());
    }
    put
}

pub fn delete_request(key: &[u8]) -> Value {
    json!({"key": encode_bytes(key)})
}

fn compare_json(key: &[u8], compare: Compare) -> Value {
    let (target, field, number) = match compare {
        Compare::CreateRevision(n) => ("CREATE", "create_revision", n),
        Compare::ModRevision(n) => ("MOD", "mod_revision", n),
        Compare::Lease(n) => ("LEASE", "lease", n),
    };
    let mut c = json!({"result": "EQUAL", "target": target, "key": encode_bytes(key)});
    c[field] = Value::String(number.to_string());
    c
}

/// Put `value` if `compare` holds; otherwise read the key, so a loser learns who won.
pub fn put_if_request(key: &[u8], value: &[u8], lease: i64, compare: Compare) -> Value {
    json!({
        "compare": [compare_json(key, compare)],
        "success": [{"request_put": put_request(key, value, lease)}],
        "failure": [{"request_range": range_request(key, None)}],
    })
}

pub fn delete_if_request(key: &[u8], compare: Compare) -> Value {
    json!({
        "compare": [compare_json(key, compare)],
        "success": [{"request_delete_range": delete_request(key)}],
    })
}

pub fn lease_grant_request(ttl_secs: i64) -> Value {
    json!({"TTL": ttl_secs.to_string(), "ID": "0"})
}

pub fn lease_id_request(id: i64) -> Value {
    json!({"ID": id.to_string()})
}

pub fn authenticate_request(user: &str, password: &str) -> Value {
    json!({"name": user, "password": password})
}

/// A prefix watch from `start_revision` (0: from now). Progress notifications are asked for so
/// a quiet stream still shows life where the server sends them.
pub fn watch_request(prefix: &[u8], start_revision: i64) -> Value {
    let mut create = json!({
        "key": encode_bytes(prefix),
        "range_end": encode_bytes(&prefix_end(prefix)),
        "progress_notify": true,
    });
    if start_revision > 0 {
        create["start_revision"] = Value::String(start_revision.to_string());
    }
    json!({"create_request": create})
}

// ---- answers --------------------------------------------------------------------------------

/// An int64 as the gateway writes it (a string), or as a plain number.
fn int64<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Int {
        Text(String),
        Number(i64),
    }
    match Int::deserialize(d)? {
        Int::Text(s) => s.parse().map_err(serde::de::Error::custom),
        Int::Number(n) => Ok(n),
    }
}

#[derive(Deserialize, Default)]
struct Header {
    #[serde(default, deserialize_with = "int64")]
    revision: i64,
}

#[derive(Deserialize, Default)]
struct RawKv {
    #[serde(default)]
    key: String,
    #[serde(default)]
    value: String,
    #[serde(default, deserialize_with = "int64")]
    create_revision: i64,
    #[serde(default, deserialize_with = "int64")]
    mod_revision: i64,
    #[serde(default, deserialize_with = "int64")]
    version: i64,
    #[serde(default, deserialize_with = "int64")]
    lease: i64,
}

impl RawKv {
    fn decode(self) -> Result<KeyValue, WireError> {
        let key = decode_bytes("key", &self.key)?;
        Ok(KeyValue {
            key: String::from_utf8_lossy(&key).into_owned(),
            value: decode_bytes("value", &self.value)?,
            create_revision: self.create_revision,
            mod_revision: self.mod_revision,
            version: self.version,
            lease: self.lease,
        })
    }
}

#[derive(Deserialize, Default)]
struct RawRange {
    #[serde(default)]
    header: Header,
    #[serde(default)]
    kvs: Vec<RawKv>,
}

impl RawRange {
    fn decode(self) -> Result<Range, WireError> {
        let kvs = self
            .kvs
            .into_iter()
            .map(RawKv::decode)
            .collect::<Result<_, _>>()?;
        Ok(Range {
            kvs,
            revision: self.header.revision,
        })
    }
}

#[derive(Deserialize)]
struct RawDelete {
    #[serde(default, deserialize_with = "int64")]
    deleted: i64,
}

#[derive(Deserialize, Default)]
struct RawResponseOp {
    response_range: Option<RawRange>,
}

#[derive(Deserialize)]
struct RawTxn {
    #[serde(default)]
    header: Header,
    #[serde(default)]
    succeeded: bool,
    #[serde(default)]
    responses: Vec<RawResponseOp>,
}

#[derive(Deserialize)]
struct RawLease {
    #[serde(rename = "ID", default, deserialize_with = "int64")]
    id: i64,
    #[serde(rename = "TTL", default, deserialize_with = "int64")]
    ttl: i64,
    /// LeaseGrantResponse's own error field (set instead of a gRPC error by old servers).
    #[serde(default)]
    error: String,
}

/// A streamed message: `{"result": ...}` or `{"error": {...}}`.
#[derive(Deserialize)]
struct Streamed<T> {
    result: Option<T>,
    error: Option<RawStreamError>,
}

#[derive(Deserialize)]
struct RawStreamError {
    #[serde(default)]
    grpc_code: i32,
    #[serde(default)]
    message: String,
}

#[derive(Deserialize)]
struct RawErrorBody {
    #[serde(default)]
    code: i32,
    #[serde(default)]
    message: String,
    #[serde(default)]
    error: Option<Value>,
}

#[derive(Deserialize)]
struct RawToken {
    #[serde(default)]
    token: String,
}

#[derive(Deserialize)]
struct RawWatch {
    #[serde(default)]
    header: Header,
    #[serde(default)]
    created: bool,
    #[serde(default)]
    canceled: bool,
    #[serde(default, deserialize_with = "int64")]
    compact_revision: i64,
    #[serde(default)]
    cancel_reason: String,
    #[serde(default)]
    events: Vec<RawEvent>,
}

#[derive(Deserialize)]
struct RawEvent {
    #[serde(rename = "type", default)]
    kind: Option<String>,
    #[serde(default)]
    kv: RawKv,
}

fn parse<'a, T: Deserialize<'a>>(what: &str, body: &'a [u8]) -> Result<T, WireError> {
    serde_json::from_slice(body).map_err(|e| {
        // serde's message can quote the offending text (a value); keep only where it failed.
        WireError::Malformed(format!(
            "{what}: {:?} error at line {} column {}",
            e.classify(),
            e.line(),
            e.column()
        ))
    })
}

fn streamed<'a, T: Deserialize<'a>>(what: &str, body: &'a [u8]) -> Result<T, WireError> {
    let s: Streamed<T> = parse(what, body)?;
    if let Some(e) = s.error {
        return Err(WireError::Server(ServerError {
            code: e.grpc_code,
            message: e.message,
        }));
    }
    s.result
        .ok_or_else(|| WireError::Malformed(format!("{what}: neither result nor error")))
}

/// The error in a non-2xx answer, if the body is etcd's error JSON.
pub fn decode_error(body: &[u8]) -> Option<ServerError> {
    let raw: RawErrorBody = serde_json::from_slice(body).ok()?;
    let message = match (raw.message.is_empty(), raw.error) {
        (false, _) => raw.message,
        (true, Some(Value::String(s))) => s,
        _ => return None,
    };
    Some(ServerError {
        code: raw.code,
        message,
    })
}

pub fn decode_range(body: &[u8]) -> Result<Range, WireError> {
    parse::<RawRange>("range", body)?.decode()
}

/// The store revision of an answer that carries nothing else (put, lease revoke).
pub fn decode_revision(body: &[u8]) -> Result<i64, WireError> {
    #[derive(Deserialize)]
    struct Only {
        #[serde(default)]
        header: Header,
    }
    Ok(parse::<Only>("header", body)?.header.revision)
}

/// How many keys a delete removed.
pub fn decode_delete(body: &[u8]) -> Result<i64, WireError> {
    Ok(parse::<RawDelete>("deleterange", body)?.deleted)
}

pub fn decode_put_if(body: &[u8]) -> Result<PutIf, WireError> {
    let raw: RawTxn = parse("txn", body)?;
    if raw.succeeded {
        return Ok(PutIf::Done {
            revision: raw.header.revision,
        });
    }
    let range = raw
        .responses
        .into_iter()
        .find_map(|r| r.response_range)
        .ok_or_else(|| WireError::Malformed("txn: failed without a range answer".into()))?;
    let current = range.decode()?.kvs.into_iter().next();
    Ok(PutIf::Failed { current })
}

pub fn decode_txn_succeeded(body: &[u8]) -> Result<bool, WireError> {
    Ok(parse::<RawTxn>("txn", body)?.succeeded)
}

/// `(lease id, granted TTL in seconds)`.
pub fn decode_lease_grant(body: &[u8]) -> Result<(i64, i64), WireError> {
    let raw: RawLease = parse("lease grant", body)?;
    if !raw.error.is_empty() {
        return Err(WireError::Server(ServerError {
            code: 0,
            message: raw.error,
        }));
    }
    if raw.id == 0 || raw.ttl <= 0 {
        return Err(WireError::Malformed("lease grant: no ID or TTL".into()));
    }
    Ok((raw.id, raw.ttl))
}

/// The TTL left after a keep-alive, in seconds; 0 when the lease is gone (etcd then leaves TTL
/// out of the answer).
pub fn decode_keepalive(body: &[u8]) -> Result<i64, WireError> {
    let raw: RawLease = streamed("lease keepalive", body)?;
    Ok(raw.ttl.max(0))
}

/// The seconds a lease has left, `None` when it is gone (etcd answers TTL -1).
pub fn decode_time_to_live(body: &[u8]) -> Result<Option<i64>, WireError> {
    let raw: RawLease = parse("lease timetolive", body)?;
    Ok((raw.ttl >= 0).then_some(raw.ttl))
}

pub fn decode_token(body: &[u8]) -> Result<String, WireError> {
    let raw: RawToken = parse("authenticate", body)?;
    if raw.token.is_empty() {
        return Err(WireError::Malformed("authenticate: no token".into()));
    }
    Ok(raw.token)
}

/// One line of a watch stream.
pub fn decode_watch_frame(line: &[u8]) -> Result<WatchFrame, WireError> {
    let raw: RawWatch = streamed("watch", line)?;
    if raw.canceled {
        if raw.compact_revision > 0 {
            return Ok(WatchFrame::Compacted {
                compact_revision: raw.compact_revision,
            });
        }
        return Ok(WatchFrame::Canceled {
            reason: raw.cancel_reason,
        });
    }
    if raw.created {
        return Ok(WatchFrame::Created {
            revision: raw.header.revision,
        });
    }
    if raw.events.is_empty() {
        return Ok(WatchFrame::Progress {
            revision: raw.header.revision,
        });
    }
    let events = raw
        .events
        .into_iter()
        .map(|e| {
            let kind = match e.kind.as_deref() {
                None | Some("PUT") => EventKind::Put,
                Some("DELETE") => EventKind::Delete,
                Some(_) => return Err(WireError::Malformed("watch: unknown event type".into())),
            };
            Ok(WatchEvent {
                kind,
                kv: e.kv.decode()?,
            })
        })
        .collect::<Result<_, _>>()?;
    Ok(WatchFrame::Events { events })
}

#[cfg(test)]
mod tests;

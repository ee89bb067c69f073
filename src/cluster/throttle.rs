//! The shared risk-control pause: when one instance is told to back off by a platform (HTTP
//! 412, Bilibili -352), every instance behind the same address should stop asking too.
//!
//! The pause lives in one etcd key per platform, `/liverec/<name>/throttle/<platform>`, whose
//! value says until when and why, attached to a lease of that duration so etcd removes it when
//! it runs out even if its writer is gone. Readers (a watch on the throttle prefix, or a read)
//! merge it with their own limiter's pause: the later of the two wins.
//!
//! Wall-clock times cross machines here, so a remote pause is also capped by the reader
//! (`max_pause`): a writer whose clock is far ahead cannot pause the cluster for longer than any
//! real backoff would.
//!
//! Not here: the limiter itself, deciding that a response means "throttled", watching.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use super::etcd::{EtcdClient, EtcdError};

/// A platform pause as stored in etcd.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Throttle {
    /// Wall-clock end of the pause.
    pub until: SystemTime,
    /// What the platform said ("HTTP 412", "code -352"); shown in `cluster status` and logs.
    pub reason: String,
    /// The instance that saw it.
    pub by: String,
}

#[derive(Serialize, Deserialize)]
struct Stored {
    until_ms: u64,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    by: String,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ThrottleError {
    #[error("throttle value is not valid JSON of the expected shape")]
    Malformed,
}

/// The key prefix holding every platform's throttle for cluster `name`.
pub fn prefix(name: &str) -> String {
    format!("/liverec/{name}/throttle/")
}

pub fn key(name: &str, platform: &str) -> String {
    format!("{}{platform}", prefix(name))
}

/// The platform a throttle key is for, if `key` is one of cluster `name`'s throttle keys.
pub fn platform_of<'k>(name: &str, key: &'k str) -> Option<&'k str> {
    let platform = key.strip_prefix(&prefix(name))?;
    (!platform.is_empty() && !platform.contains('/')).then_some(platform)
}

pub fn encode(throttle: &Throttle) -> Vec<u8> {
    let until_ms = throttle
        .until
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
    let stored = Stored {
        until_ms,
        reason: throttle.reason.clone(),
        by: throttle.by.clone(),
    };
    // A struct of a number and two strings always serializes.
    serde_json::to_vec(&stored).unwrap_or_default()
}

pub fn decode(value: &[u8]) -> Result<Throttle, ThrottleError> {
    let stored: Stored = serde_json::from_slice(value).map_err(|_| ThrottleError::Malformed)?;
    Ok(Throttle {
        until: UNIX_EPOCH + Duration::from_millis(stored.until_ms),
        reason: stored.reason,
        by: stored.by,
    })
}

/// The lease to attach for a pause that has `remaining` to run: whole seconds, rounded up, so
/// the key never disappears before the pause ends. `None` if nothing remains.
pub fn lease_ttl(remaining: Duration) -> Option<Duration> {
    if remaining.is_zero() {
        return None;
    }
    let secs = remaining.as_secs() + u64::from(remaining.subsec_nanos() > 0);
    Some(Duration::from_secs(secs))
}

/// When this instance may ask the platform again: the later of its own limiter's pause and
/// the remote one, on this machine's monotonic clock. A remote pause that is over counts for
/// nothing; one longer than `max_pause` from now is cut to `max_pause` (clock skew).
pub fn merge(
    local_until: Option<Instant>,
    remote: Option<&Throttle>,
    now: Instant,
    now_wall: SystemTime,
    max_pause: Duration,
) -> Option<Instant> {
    let remote_until = remote.and_then(|t| {
        let remaining = t.until.duration_since(now_wall).ok()?;
        (!remaining.is_zero()).then(|| now + remaining.min(max_pause))
    });
    let local_until = local_until.filter(|u| *u > now);
    match (local_until, remote_until) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    }
}

/// What [`publish`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Published {
    Written,
    /// A pause at least as long was already there (from another instance).
    AlreadyLonger,
    /// The pause was already over.
    Expired,
}

/// Writes `throttle` for `platform` unless a pause that ends later is already stored. The
/// compare on the key's revision keeps two instances that are throttled at the same moment
/// from overwriting a longer pause with a shorter one.
pub async fn publish(
    client: &EtcdClient,
    name: &str,
    platform: &str,
    throttle: &Throttle,
    now_wall: SystemTime,
) -> Result<Published, EtcdError> {
    const ATTEMPTS: usize = 3;
    let key = key(name, platform);
    let value = encode(throttle);
    for _ in 0..ATTEMPTS {
        let Some(ttl) = throttle
            .until
            .duration_since(now_wall)
            .ok()
            .and_then(lease_ttl)
        else {
            return Ok(Published::Expired);
        };
        let current = client.get(&key).await?;
        let seen_revision = match &current {
            Some(kv) => {
                if let Ok(stored) = decode(&kv.value) {
                    if stored.until >= throttle.until {
                        return Ok(Published::AlreadyLonger);
                    }
                }
                kv.mod_revision
            }
            None => 0,
        };
        let lease = client.lease_grant(ttl).await?;
        if client
            .txn_put_if_mod_revision(&key, &value, Some(lease.id), seen_revision)
            .await?
        {
            return Ok(Published::Written);
        }
        // Lost a race; this lease holds nothing. Best effort: it expires on its own anyway.
        let _ = client.lease_revoke(lease.id).await;
    }
    Ok(Published::AlreadyLonger)
}

/// The stored pause for `platform`, if any (an unreadable value counts as none).
pub async fn read(
    client: &EtcdClient,
    name: &str,
    platform: &str,
) -> Result<Option<Throttle>, EtcdError> {
    let kv = client.get(&key(name, platform)).await?;
    Ok(kv.and_then(|kv| decode(&kv.value).ok()))
}

#[cfg(test)]
mod tests;

//! What a session learned about its stream sources: the hosts that failed before delivering
//! any media, tried last by the session's later attempts, and the HLS playlists it recorded to
//! their end.
//!
//! A platform lists the same hosts in the same order at every reconnect; a dead first host
//! (one that answers 200 and then sends nothing, say) would otherwise cost every attempt its
//! stall timeout before the next host is tried. Hosts are keyed by `host:port`: the path and
//! the signed query change from one answer to the next, the host does not.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use super::end::PullEnd;
use super::hls::EndedPlaylists;
use crate::platform::StreamSource;

/// The per-session memory of stream sources, shared by the session's attempts (cheap to
/// clone; clones share it).
#[derive(Debug, Clone, Default)]
pub(crate) struct SourceMemory {
    ended: EndedPlaylists,
    hosts: Arc<Mutex<FailedHosts>>,
}

impl SourceMemory {
    /// HLS playlists this session recorded to their `EXT-X-ENDLIST`.
    pub(crate) fn ended_playlists(&self) -> &EndedPlaylists {
        &self.ended
    }

    /// `sources` with those on hosts that failed earlier in this session moved last, the
    /// order otherwise kept.
    pub(crate) fn order(&self, sources: Vec<StreamSource>) -> Ordered<StreamSource> {
        self.lock().order(sources, |s| s.url.as_str())
    }

    /// Learns from how a source ended: refused before any media, its host is tried last from
    /// now on; media flowed, its host is forgiven. Other ends say nothing about the host.
    pub(crate) fn judge(&self, url: &str, end: &PullEnd) {
        let Some(host) = host_key(url) else {
            return;
        };
        match end {
            PullEnd::Refused(why) => {
                if self.lock().failed(host.clone(), why) {
                    tracing::debug!(host = %host, "stream host failed; tried last from now on");
                }
            }
            PullEnd::Eof | PullEnd::Stalled(_) | PullEnd::Broken(_) => {
                if self.lock().forgive(&host) {
                    tracing::info!(
                        host = %host,
                        "stream host delivered media again; no longer tried last"
                    );
                }
            }
            PullEnd::Cancelled
            | PullEnd::NothingNew(_)
            | PullEnd::Unrecordable(_)
            | PullEnd::WriterGone => {}
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, FailedHosts> {
        // The lock guards no invariant a panic could break half-way.
        self.hosts.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A stream URL's host and port (`cn-gotcha01.bilivideo.com:443`), the key hosts are
/// remembered by; `None` for a URL without a host.
pub(crate) fn host_key(url: &str) -> Option<String> {
    let u = url::Url::parse(url).ok()?;
    let host = u.host_str()?;
    let port = u.port_or_known_default()?;
    Some(format!("{host}:{port}"))
}

/// Sources in the order to try them, and the hosts that were moved last (distinct, in the
/// order they appeared, each with why it failed).
#[derive(Debug, PartialEq)]
pub(crate) struct Ordered<T> {
    pub(crate) items: Vec<T>,
    pub(crate) demoted: Vec<(String, String)>,
    /// How many of `items` (at the front) are on hosts that did not fail.
    pub(crate) healthy: usize,
}

/// Hosts that failed before delivering media, least recently failed first. Bounded: a
/// session meets a handful of hosts; the oldest failure is forgotten first.
#[derive(Debug, Default)]
pub(crate) struct FailedHosts {
    entries: VecDeque<Failure>,
}

#[derive(Debug)]
struct Failure {
    host: String,
    reason: String,
}

impl FailedHosts {
    /// Hosts remembered.
    pub(crate) const MAX: usize = 32;
    /// Longest reason kept (they are log text, and memory stays bounded).
    const REASON_BYTES: usize = 160;

    /// Records a failure of `host`; says whether it was not failed before.
    pub(crate) fn failed(&mut self, host: String, reason: &str) -> bool {
        let known = self.forgive(&host);
        if self.entries.len() >= Self::MAX {
            self.entries.pop_front();
        }
        self.entries.push_back(Failure {
            host,
            reason: truncate(reason, Self::REASON_BYTES),
        });
        !known
    }

    /// Forgets `host`'s failure; says whether there was one.
    pub(crate) fn forgive(&mut self, host: &str) -> bool {
        let before = self.entries.len();
        self.entries.retain(|f| f.host != host);
        self.entries.len() != before
    }

    /// Why `host` failed, if it did.
    pub(crate) fn reason(&self, host: &str) -> Option<&str> {
        self.entries
            .iter()
            .find(|f| f.host == host)
            .map(|f| f.reason.as_str())
    }

    /// `items` with those whose URL is on a failed host moved last; the order within both
    /// groups is kept (the platform's own preference: format, codec, host).
    pub(crate) fn order<T>(&self, items: Vec<T>, url: impl Fn(&T) -> &str) -> Ordered<T> {
        let mut first = Vec::with_capacity(items.len());
        let mut last = Vec::new();
        let mut demoted: Vec<(String, String)> = Vec::new();
        for item in items {
            let failed =
                host_key(url(&item)).and_then(|h| self.reason(&h).map(|r| (h, r.to_string())));
            match failed {
                Some((host, reason)) => {
                    if !demoted.iter().any(|(h, _)| *h == host) {
                        demoted.push((host, reason));
                    }
                    last.push(item);
                }
                None => first.push(item),
            }
        }
        let healthy = first.len();
        first.extend(last);
        Ordered {
            items: first,
            demoted,
            healthy,
        }
    }
}

fn truncate(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

#[cfg(test)]
mod tests;

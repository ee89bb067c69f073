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
mod tests {
    use super::*;

    fn order(hosts: &FailedHosts, urls: &[&'static str]) -> (Vec<&'static str>, Vec<String>) {
        let o = hosts.order(urls.to_vec(), |u| u);
        (o.items, o.demoted.into_iter().map(|(h, _)| h).collect())
    }

    #[test]
    fn hosts_are_keyed_by_host_and_port() {
        assert_eq!(
            host_key("https://cn-gotcha01.bilivideo.com/live-bvc/1/live.flv?sign=x").as_deref(),
            Some("cn-gotcha01.bilivideo.com:443")
        );
        assert_eq!(
            host_key("http://127.0.0.1:8080/a.flv").as_deref(),
            Some("127.0.0.1:8080")
        );
        assert_eq!(
            host_key("http://EXAMPLE.com/a.flv").as_deref(),
            Some("example.com:80")
        );
        // Credentials in the URL are not part of the key (nor ever logged).
        assert_eq!(
            host_key("http://user:pw@p2p.mcdn.example:4483/a.flv").as_deref(),
            Some("p2p.mcdn.example:4483")
        );
        assert_eq!(host_key("http://[::1]:9/a.flv").as_deref(), Some("[::1]:9"));
        assert_eq!(host_key("not a url"), None);
        assert_eq!(host_key("data:video/x-flv,FLV"), None);
    }

    #[test]
    fn failed_hosts_go_last_and_the_order_is_kept_otherwise() {
        let mut hosts = FailedHosts::default();
        let urls = [
            "http://a/1.flv?q=1",
            "http://b/1.flv?q=2",
            "http://a:8080/1.flv",
            "http://c/1.m3u8",
            "http://a/2.m3u8",
            "nonsense",
        ];
        // Nothing failed: the platform's order.
        assert_eq!(order(&hosts, &urls), (urls.to_vec(), vec![]));
        assert!(hosts.failed("a:80".into(), "connected, but no bytes for 5s"));
        assert!(hosts.failed("c:80".into(), "HTTP 404"));
        let (items, demoted) = order(&hosts, &urls);
        assert_eq!(
            items,
            [
                "http://b/1.flv?q=2",
                "http://a:8080/1.flv",
                "nonsense",
                "http://a/1.flv?q=1",
                "http://c/1.m3u8",
                "http://a/2.m3u8",
            ]
        );
        assert_eq!(demoted, ["a:80", "c:80"]);
        let o = hosts.order(urls.to_vec(), |u| u);
        assert_eq!(o.healthy, 3);
        assert_eq!(o.demoted[0].1, "connected, but no bytes for 5s");
    }

    #[test]
    fn a_host_that_delivers_is_forgiven() {
        let mut hosts = FailedHosts::default();
        hosts.failed("a:80".into(), "closed before the first byte");
        // Failing again is not news, and keeps the newest reason.
        assert!(!hosts.failed("a:80".into(), "HTTP 403"));
        assert_eq!(hosts.reason("a:80"), Some("HTTP 403"));
        assert!(hosts.forgive("a:80"));
        assert!(!hosts.forgive("a:80"));
        let urls = ["http://a/1.flv", "http://b/1.flv"];
        assert_eq!(order(&hosts, &urls), (urls.to_vec(), vec![]));
    }

    #[test]
    fn memory_is_bounded_and_forgets_the_oldest_failure_first() {
        let mut hosts = FailedHosts::default();
        for i in 0..FailedHosts::MAX + 5 {
            hosts.failed(format!("h{i}:80"), &"x".repeat(1000));
        }
        assert_eq!(hosts.entries.len(), FailedHosts::MAX);
        assert_eq!(hosts.reason("h4:80"), None);
        assert!(hosts.reason("h5:80").is_some());
        // A host that fails again becomes the newest.
        hosts.failed("h5:80".into(), "again");
        hosts.failed("new:80".into(), "x");
        assert_eq!(hosts.reason("h5:80"), Some("again"));
        assert_eq!(hosts.reason("h6:80"), None);
        assert!(
            hosts
                .entries
                .iter()
                .all(|f| f.reason.len() <= FailedHosts::REASON_BYTES + '…'.len_utf8())
        );
    }

    #[test]
    fn reasons_are_cut_on_a_character_boundary() {
        assert_eq!(truncate("短い", 4), "短…");
        assert_eq!(truncate("abc", 3), "abc");
    }

    fn source(url: &str) -> StreamSource {
        StreamSource {
            url: url.into(),
            format: crate::platform::StreamFormat::Flv,
            quality: "10000".into(),
            headers: Default::default(),
        }
    }

    #[test]
    fn the_session_memory_judges_hosts_by_how_their_sources_ended() {
        let memory = SourceMemory::default();
        let urls = ["http://dead:1/a.flv?sign=1", "http://good:2/a.flv?sign=1"];
        let sources = || urls.iter().map(|u| source(u)).collect::<Vec<_>>();
        let firsts = |m: &SourceMemory| {
            let o = m.order(sources());
            (o.items[0].url.clone(), o.healthy)
        };
        // Ends that say nothing about the host change nothing.
        for end in [
            PullEnd::Cancelled,
            PullEnd::WriterGone,
            PullEnd::NothingNew("the playlist ended".into()),
        ] {
            memory.judge(urls[0], &end);
            assert_eq!(firsts(&memory), (urls[0].to_string(), 2), "{end:?}");
        }
        // Refused before any media: tried last, whatever the signed query next time.
        memory.judge(
            "http://dead:1/a.flv?sign=other",
            &PullEnd::Refused("connected, but no bytes for 3s".into()),
        );
        assert_eq!(firsts(&memory), (urls[1].to_string(), 1));
        // A clone is the same session's memory.
        assert_eq!(firsts(&memory.clone()), (urls[1].to_string(), 1));
        // Media flowed from it later: forgiven.
        for end in [
            PullEnd::Eof,
            PullEnd::Stalled(std::time::Duration::from_secs(3)),
            PullEnd::Broken("reset".into()),
        ] {
            memory.judge(urls[0], &PullEnd::Refused("HTTP 404".into()));
            assert_eq!(firsts(&memory).1, 1);
            memory.judge(urls[0], &end);
            assert_eq!(firsts(&memory), (urls[0].to_string(), 2), "{end:?}");
        }
        // A new session starts with a clean slate.
        memory.judge(urls[0], &PullEnd::Refused("HTTP 404".into()));
        assert_eq!(firsts(&SourceMemory::default()).1, 2);
    }
}

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
        below: None,
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

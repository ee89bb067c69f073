//! The etcd client against a real etcd (Debian `etcd-server`), one etcd per test on free
//! loopback ports. Each test skips itself, saying so, only when the `etcd` binary is absent.

use std::collections::BTreeMap;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::support::etcd::{self as support, etcd_or_skip, eventually};
use liverec::cluster::etcd::{
    CreateOutcome, Credentials, DeleteIf, EtcdError, EventKind, Watch, WatchItem, WatchOptions,
};
use liverec::cluster::throttle::{self, Published, Throttle};
use serde_json::json;

const LIMIT: Duration = Duration::from_secs(10);

/// Watch options for tests: notice a dead connection within a second.
fn quick_watch() -> WatchOptions {
    WatchOptions {
        idle_timeout: Duration::from_secs(1),
        max_backoff: Duration::from_millis(500),
        ..WatchOptions::default()
    }
}

async fn next_item(watch: &mut Watch) -> WatchItem {
    tokio::time::timeout(LIMIT, watch.next())
        .await
        .expect("a watch item within the limit")
        .expect("watch task alive")
}

/// The next event as (kind, key, value).
async fn next_event(watch: &mut Watch) -> (EventKind, String, String) {
    match next_item(watch).await {
        WatchItem::Event(e) => (e.kind, e.kv.key, String::from_utf8(e.kv.value).unwrap()),
        other => panic!("expected an event, got {other:?}"),
    }
}

fn put(key: &str, value: &str) -> (EventKind, String, String) {
    (EventKind::Put, key.into(), value.into())
}

fn del(key: &str) -> (EventKind, String, String) {
    (EventKind::Delete, key.into(), String::new())
}

#[tokio::test]
async fn put_get_prefix_delete() {
    let etcd = etcd_or_skip!();
    let c = etcd.client();
    let r1 = c.put("/liverec/t/members/a", b"A", None).await.unwrap();
    let r2 = c.put("/liverec/t/members/b", b"B", None).await.unwrap();
    c.put("/liverec/t/membersX", b"not under the prefix", None)
        .await
        .unwrap();
    assert!(r2 > r1);

    let a = c.get("/liverec/t/members/a").await.unwrap().unwrap();
    assert_eq!(
        (
            a.value.as_slice(),
            a.create_revision,
            a.mod_revision,
            a.lease
        ),
        (&b"A"[..], r1, r1, 0)
    );
    assert_eq!(c.get("/liverec/t/members/none").await.unwrap(), None);

    let range = c.get_prefix("/liverec/t/members/").await.unwrap();
    let keys: Vec<_> = range.kvs.iter().map(|kv| kv.key.as_str()).collect();
    assert_eq!(keys, ["/liverec/t/members/a", "/liverec/t/members/b"]);
    assert!(range.revision > r2, "the third put came after");

    assert!(c.delete("/liverec/t/members/a").await.unwrap());
    assert!(!c.delete("/liverec/t/members/a").await.unwrap());
    assert_eq!(
        c.get_prefix("/liverec/t/members/").await.unwrap().kvs.len(),
        1
    );
}

#[tokio::test]
async fn create_if_absent_has_exactly_one_winner() {
    let etcd = etcd_or_skip!();
    let (a, b) = (etcd.client(), etcd.client());
    let la = a.lease_grant(Duration::from_secs(30)).await.unwrap();
    let lb = b.lease_grant(Duration::from_secs(30)).await.unwrap();
    let key = "/liverec/t/rooms/bilibili:1/owner";
    let mut tasks = Vec::new();
    for i in 0..10 {
        let (client, lease, name) = if i % 2 == 0 {
            (a.clone(), la.id, "a")
        } else {
            (b.clone(), lb.id, "b")
        };
        tasks.push(tokio::spawn(async move {
            (
                name,
                client
                    .txn_create_if_absent(key, name.as_bytes(), Some(lease))
                    .await
                    .unwrap(),
            )
        }));
    }
    let mut winners = Vec::new();
    let mut losers = Vec::new();
    for t in tasks {
        match t.await.unwrap() {
            (name, CreateOutcome::Created { revision }) => winners.push((name, revision)),
            (_, CreateOutcome::Exists(kv)) => losers.push(kv),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one claim wins: {winners:?}");
    let (winner, fence) = winners[0];
    let winner_lease = if winner == "a" { la.id } else { lb.id };
    assert_eq!(losers.len(), 9);
    for kv in &losers {
        // Every loser learns who won, with the winner's fence and lease.
        assert_eq!(
            (kv.value.as_slice(), kv.create_revision, kv.lease),
            (winner.as_bytes(), fence, winner_lease)
        );
    }
    let stored = a.get(key).await.unwrap().unwrap();
    assert_eq!(
        (stored.create_revision, stored.lease),
        (fence, winner_lease)
    );
}

#[tokio::test]
async fn a_lease_without_keepalive_expires_and_takes_its_keys() {
    let etcd = etcd_or_skip!();
    let c = etcd.client();
    let lease = c.lease_grant(Duration::from_secs(2)).await.unwrap();
    let granted_at = Instant::now();
    c.put("/liverec/t/members/a", b"{}", Some(lease.id))
        .await
        .unwrap();
    assert!(c.lease_time_to_live(lease.id).await.unwrap().is_some());
    eventually("the key to expire with its lease", LIMIT, || async {
        c.get("/liverec/t/members/a")
            .await
            .unwrap()
            .is_none()
            .then_some(())
    })
    .await;
    assert!(
        granted_at.elapsed() >= Duration::from_millis(1500),
        "expired too early: {:?}",
        granted_at.elapsed()
    );
    assert_eq!(c.lease_keepalive(lease.id).await.unwrap(), Duration::ZERO);
    assert_eq!(c.lease_time_to_live(lease.id).await.unwrap(), None);
    assert!(!c.lease_revoke(lease.id).await.unwrap());
    // A put on the dead lease is refused with a recognisable error.
    let err = c
        .put("/liverec/t/members/a", b"{}", Some(lease.id))
        .await
        .unwrap_err();
    assert!(err.is_lease_not_found(), "{err}");
    assert!(!err.is_unavailable());
}

#[tokio::test]
async fn keepalive_keeps_the_key_alive() {
    let etcd = etcd_or_skip!();
    let c = etcd.client();
    let lease = c.lease_grant(Duration::from_secs(2)).await.unwrap();
    assert_eq!(lease.ttl, Duration::from_secs(2));
    c.put("/liverec/t/members/a", b"{}", Some(lease.id))
        .await
        .unwrap();
    // Two and a half TTLs of keep-alives every TTL/4.
    let until = Instant::now() + Duration::from_secs(5);
    while Instant::now() < until {
        assert_eq!(
            c.lease_keepalive(lease.id).await.unwrap(),
            Duration::from_secs(2)
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let kv = c
        .get("/liverec/t/members/a")
        .await
        .unwrap()
        .expect("still there");
    assert_eq!(kv.lease, lease.id);
}

#[tokio::test]
async fn revoke_deletes_the_keys_and_conditional_deletes_check_their_condition() {
    let etcd = etcd_or_skip!();
    let c = etcd.client();
    let lease = c.lease_grant(Duration::from_secs(30)).await.unwrap();
    c.put("/liverec/t/members/a", b"{}", Some(lease.id))
        .await
        .unwrap();
    c.put("/liverec/t/rooms/x/owner", b"{}", Some(lease.id))
        .await
        .unwrap();
    assert!(c.lease_revoke(lease.id).await.unwrap());
    assert_eq!(c.get_prefix("/liverec/t/").await.unwrap().kvs, vec![]);

    let mine = c.lease_grant(Duration::from_secs(30)).await.unwrap();
    let other = c.lease_grant(Duration::from_secs(30)).await.unwrap();
    let CreateOutcome::Created { revision } = c
        .txn_create_if_absent("/liverec/t/rooms/x/owner", b"me", Some(mine.id))
        .await
        .unwrap()
    else {
        panic!("key was free");
    };
    let key = "/liverec/t/rooms/x/owner";
    assert!(
        !c.txn_delete_if(key, DeleteIf::Lease(other.id))
            .await
            .unwrap()
    );
    assert!(
        !c.txn_delete_if(key, DeleteIf::ModRevision(revision + 1))
            .await
            .unwrap()
    );
    assert!(c.get(key).await.unwrap().is_some());
    assert!(
        c.txn_delete_if(key, DeleteIf::Lease(mine.id))
            .await
            .unwrap()
    );
    assert!(c.get(key).await.unwrap().is_none());

    let r = c.put(key, b"plain", None).await.unwrap();
    assert!(
        !c.txn_put_if_mod_revision(key, b"stale", None, r - 1)
            .await
            .unwrap()
    );
    assert!(
        c.txn_put_if_mod_revision(key, b"fresh", None, r)
            .await
            .unwrap()
    );
    assert_eq!(c.get(key).await.unwrap().unwrap().value, b"fresh");
    assert!(
        c.txn_delete_if(key, DeleteIf::ModRevision(r + 1))
            .await
            .unwrap()
    );
}

#[tokio::test]
async fn watch_sees_changes_and_resumes_after_a_pause_and_a_restart() {
    let mut etcd = etcd_or_skip!();
    let c = etcd.client();
    c.put("/liverec/t/rooms/old", b"0", None).await.unwrap();
    let start = c.get_prefix("/liverec/t/rooms/").await.unwrap();
    let mut watch = c.watch_prefix("/liverec/t/rooms/", start.revision + 1, quick_watch());

    c.put("/liverec/t/rooms/a", b"1", None).await.unwrap();
    c.put("/liverec/t/other", b"not watched", None)
        .await
        .unwrap();
    c.put("/liverec/t/rooms/b", b"2", None).await.unwrap();
    c.delete("/liverec/t/rooms/a").await.unwrap();
    assert_eq!(next_event(&mut watch).await, put("/liverec/t/rooms/a", "1"));
    assert_eq!(next_event(&mut watch).await, put("/liverec/t/rooms/b", "2"));
    assert_eq!(next_event(&mut watch).await, del("/liverec/t/rooms/a"));

    // Paused etcd: calls time out (and say etcd is unavailable); the watch goes idle and
    // retries; after SIGCONT it continues where it was.
    etcd.pause();
    let before = Instant::now();
    let err = c
        .put("/liverec/t/rooms/c", b"during pause", None)
        .await
        .unwrap_err();
    assert!(matches!(err, EtcdError::Timeout { .. }), "{err}");
    assert_eq!(
        err.to_string(),
        format!("etcd put at {}: no answer within 1s", etcd.url)
    );
    assert!(err.is_unavailable());
    assert!(before.elapsed() < Duration::from_secs(3));
    // Outlast the watch's idle timeout so it reconnects against the paused etcd.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    etcd.resume();
    // The timed-out put may or may not have been applied when etcd resumed.
    let paused_put = eventually("etcd answering after SIGCONT", LIMIT, || async {
        c.get("/liverec/t/rooms/c").await.ok()
    })
    .await;
    c.put("/liverec/t/rooms/d", b"3", None).await.unwrap();
    if paused_put.is_some() {
        assert_eq!(
            next_event(&mut watch).await,
            put("/liverec/t/rooms/c", "during pause")
        );
    }
    assert_eq!(
        next_event(&mut watch).await,
        put("/liverec/t/rooms/d", "3"),
        "nothing repeated, nothing lost"
    );

    // Restart on the same data: the watch reconnects from its last revision, so changes made
    // before it is back are delivered once, in order.
    etcd.restart().await;
    c.put("/liverec/t/rooms/e", b"4", None).await.unwrap();
    c.delete("/liverec/t/rooms/b").await.unwrap();
    c.put("/liverec/t/rooms/f", b"5", None).await.unwrap();
    assert_eq!(next_event(&mut watch).await, put("/liverec/t/rooms/e", "4"));
    assert_eq!(next_event(&mut watch).await, del("/liverec/t/rooms/b"));
    assert_eq!(next_event(&mut watch).await, put("/liverec/t/rooms/f", "5"));
}

#[tokio::test]
async fn watch_from_a_compacted_revision_resyncs_from_a_fresh_listing() {
    let etcd = etcd_or_skip!();
    let c = etcd.client();
    let first = c.put("/liverec/t/rooms/a", b"1", None).await.unwrap();
    c.put("/liverec/t/rooms/a", b"2", None).await.unwrap();
    c.put("/liverec/t/rooms/b", b"3", None).await.unwrap();
    c.delete("/liverec/t/rooms/b").await.unwrap();
    let last = c.get_prefix("/liverec/t/").await.unwrap().revision;
    etcd.raw(
        "/v3/kv/compaction",
        json!({"revision": last.to_string(), "physical": true}),
        None,
    )
    .await;

    let mut watch = c.watch_prefix("/liverec/t/rooms/", first, quick_watch());
    match next_item(&mut watch).await {
        WatchItem::Resync { kvs, revision } => {
            assert_eq!(revision, last);
            let now: BTreeMap<_, _> = kvs.into_iter().map(|kv| (kv.key, kv.value)).collect();
            assert_eq!(
                now,
                BTreeMap::from([("/liverec/t/rooms/a".to_string(), b"2".to_vec())])
            );
        }
        other => panic!("expected a resync, got {other:?}"),
    }
    c.put("/liverec/t/rooms/c", b"4", None).await.unwrap();
    assert_eq!(next_event(&mut watch).await, put("/liverec/t/rooms/c", "4"));
}

#[tokio::test]
async fn auth_with_user_and_password() {
    let mut etcd = etcd_or_skip!();
    let password = "t0p-s3cret-pw";
    // Configured with a user while etcd has auth off: it works without a token, and keeps
    // working once auth is switched on.
    let early = etcd.client_with(Credentials::new("root", password));
    early.put("/liverec/t/early", b"0", None).await.unwrap();
    etcd.raw(
        "/v3/auth/user/add",
        json!({"name": "root", "password": password}),
        None,
    )
    .await;
    etcd.raw("/v3/auth/role/add", json!({"name": "root"}), None)
        .await;
    etcd.raw(
        "/v3/auth/user/grant",
        json!({"user": "root", "role": "root"}),
        None,
    )
    .await;
    etcd.raw("/v3/auth/enable", json!({}), None).await;

    assert_eq!(
        early.get("/liverec/t/early").await.unwrap().unwrap().value,
        b"0"
    );

    // Without credentials: refused.
    let err = etcd.client().get("/liverec/t/a").await.unwrap_err();
    assert!(matches!(err, EtcdError::Server { .. }), "{err}");

    // A wrong password: an auth error that does not show the password.
    let wrong = "wrong-pw-123";
    let err = etcd
        .client_with(Credentials::new("root", wrong))
        .get("/liverec/t/a")
        .await
        .unwrap_err();
    assert!(matches!(err, EtcdError::Auth { .. }), "{err}");
    assert!(err.to_string().contains("authentication failed"), "{err}");
    assert!(!format!("{err} {err:?}").contains(wrong));

    let c = etcd.client_with(Credentials::new("root", password));
    assert!(!format!("{c:?}").contains(password));
    c.put("/liverec/t/a", b"1", None).await.unwrap();
    assert_eq!(c.get("/liverec/t/a").await.unwrap().unwrap().value, b"1");
    let start = c.get_prefix("/liverec/t/").await.unwrap().revision;
    let mut watch = c.watch_prefix("/liverec/t/", start + 1, quick_watch());
    c.put("/liverec/t/b", b"2", None).await.unwrap();
    assert_eq!(next_event(&mut watch).await, put("/liverec/t/b", "2"));

    // A restarted etcd forgets its tokens: the client authenticates again by itself, and so
    // does the watch.
    etcd.restart().await;
    c.put("/liverec/t/c", b"3", None).await.unwrap();
    assert_eq!(c.get("/liverec/t/c").await.unwrap().unwrap().value, b"3");
    assert_eq!(next_event(&mut watch).await, put("/liverec/t/c", "3"));
}

#[tokio::test]
async fn fails_over_from_a_dead_endpoint() {
    let etcd = etcd_or_skip!();
    let dead = format!("http://127.0.0.1:{}", support::free_port());
    let c = support::client(vec![dead.clone(), etcd.url.clone()], None);
    c.put("/liverec/t/a", b"1", None).await.unwrap();
    assert_eq!(c.get("/liverec/t/a").await.unwrap().unwrap().value, b"1");
    let lease = c.lease_grant(Duration::from_secs(5)).await.unwrap();
    assert!(c.lease_keepalive(lease.id).await.unwrap() > Duration::ZERO);
    // A watch "from now" through the same list; "now" is fixed when it is set up, so probe
    // until a write shows up.
    let mut watch = c.watch_prefix("/liverec/t/", 0, quick_watch());
    let deadline = Instant::now() + LIMIT;
    loop {
        let probe = c.put("/liverec/t/probe", b"", None).await.unwrap();
        match tokio::time::timeout(Duration::from_millis(200), watch.next()).await {
            Ok(Some(WatchItem::Event(e))) if e.kv.mod_revision <= probe => break,
            _ => assert!(Instant::now() < deadline, "the watch never delivered"),
        }
    }

    let all_dead = support::client(
        vec![
            dead.clone(),
            format!("http://127.0.0.1:{}", support::free_port()),
        ],
        None,
    );
    let before = Instant::now();
    let err = all_dead.get("/liverec/t/a").await.unwrap_err();
    assert!(
        matches!(err, EtcdError::Unreachable { tried: 2, .. }),
        "{err}"
    );
    // A log line that names the call and where it went.
    let line = err.to_string();
    assert!(
        line.starts_with("etcd range: no endpoint reachable (2 tried"),
        "{line}"
    );
    assert!(line.contains("Connection refused"), "{line}");
    assert!(err.is_unavailable());
    assert!(
        before.elapsed() < Duration::from_secs(2),
        "connection refused is immediate"
    );
}

#[tokio::test]
async fn throttle_is_shared_through_its_key() {
    let etcd = etcd_or_skip!();
    let (a, b) = (etcd.client(), etcd.client());
    // Whole milliseconds: the stored value has millisecond precision.
    let millis = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis();
    let now = UNIX_EPOCH + Duration::from_millis(u64::try_from(millis).unwrap());
    let long = Throttle {
        until: now + Duration::from_secs(60),
        reason: "HTTP 412".into(),
        by: "a".into(),
    };
    let short = Throttle {
        until: now + Duration::from_secs(2),
        reason: "code -352".into(),
        by: "b".into(),
    };
    assert_eq!(
        throttle::publish(&a, "t", "bilibili", &long, now)
            .await
            .unwrap(),
        Published::Written
    );
    assert_eq!(
        throttle::publish(&b, "t", "bilibili", &short, now)
            .await
            .unwrap(),
        Published::AlreadyLonger
    );
    assert_eq!(
        throttle::read(&b, "t", "bilibili").await.unwrap(),
        Some(long.clone())
    );
    let kv = b
        .get(&throttle::key("t", "bilibili"))
        .await
        .unwrap()
        .unwrap();
    let ttl = b
        .lease_time_to_live(kv.lease)
        .await
        .unwrap()
        .expect("attached to a live lease");
    assert!(
        ttl > Duration::from_secs(50) && ttl <= Duration::from_secs(60),
        "{ttl:?}"
    );

    // A short pause on another platform disappears with its lease.
    assert_eq!(
        throttle::publish(&b, "t", "douyin", &short, now)
            .await
            .unwrap(),
        Published::Written
    );
    eventually("the short throttle to expire", LIMIT, || async {
        throttle::read(&a, "t", "douyin")
            .await
            .unwrap()
            .is_none()
            .then_some(())
    })
    .await;
    let over = Throttle {
        until: now - Duration::from_secs(1),
        ..short
    };
    assert_eq!(
        throttle::publish(&a, "t", "douyin", &over, now)
            .await
            .unwrap(),
        Published::Expired
    );
}

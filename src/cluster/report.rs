//! `liverec cluster status`: the cluster as etcd holds it, read directly (it works whether or
//! not a daemon runs here): members with their weights, who records which room under which
//! fence, and the platforms' shared pauses.

use std::fmt::Write as _;
use std::time::{Duration, SystemTime};

use super::Settings;
use super::etcd::{Config, EtcdClient, EtcdError};
use super::keys::Layout;
use super::view::View;

pub(crate) async fn read(settings: &Settings) -> Result<View, EtcdError> {
    let client = EtcdClient::new(Config {
        endpoints: settings.endpoints.clone(),
        request_timeout: Duration::from_secs(5),
        credentials: settings.credentials.clone(),
    })?;
    let layout = Layout::new(&settings.name);
    let range = client.get_prefix(layout.prefix()).await?;
    let mut view = View::default();
    view.reset(&layout, &range.kvs);
    Ok(view)
}

pub(crate) fn json(view: &View, now: SystemTime) -> serde_json::Value {
    let members: Vec<_> = view
        .members
        .iter()
        .map(|(name, m)| serde_json::json!({"instance": name, "weight": m.weight, "accepting": m.accepting}))
        .collect();
    let owners: Vec<_> = view
        .owners
        .iter()
        .map(|(room, o)| serde_json::json!({"room": room, "instance": o.instance, "fence": o.fence, "writing": o.writing}))
        .collect();
    let throttles: Vec<_> = view
        .throttles
        .iter()
        .map(|(platform, t)| {
            let left = t.until.duration_since(now).unwrap_or_default();
            serde_json::json!({"platform": platform, "by": t.by, "reason": t.reason, "remaining_s": left.as_secs()})
        })
        .collect();
    serde_json::json!({"members": members, "owners": owners, "throttles": throttles})
}

pub(crate) fn text(name: &str, view: &View, now: SystemTime) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "cluster {name:?}: {} member(s)", view.members.len());
    for (instance, m) in &view.members {
        let owned = view
            .owners
            .values()
            .filter(|o| o.instance == *instance)
            .count();
        let note = if m.accepting {
            ""
        } else {
            "  (takes no new rooms)"
        };
        let _ = writeln!(
            out,
            "  {instance:<20} weight {:<6} records {owned}{note}",
            m.weight
        );
    }
    let _ = writeln!(out, "recorded rooms: {}", view.owners.len());
    for (room, o) in &view.owners {
        let writing = if o.writing {
            ""
        } else {
            "  (claimed, not writing yet)"
        };
        let _ = writeln!(
            out,
            "  {room:<30} {:<20} fence {}{writing}",
            o.instance, o.fence
        );
    }
    if view.throttles.is_empty() {
        let _ = writeln!(out, "throttles: none");
    } else {
        let _ = writeln!(out, "throttles:");
        for (platform, t) in &view.throttles {
            let left = t.until.duration_since(now).unwrap_or_default();
            let _ = writeln!(
                out,
                "  {platform:<10} {}s left, seen by {}: {}",
                left.as_secs(),
                t.by,
                t.reason
            );
        }
    }
    out
}

//! `/metrics`: rooms by state, bytes and segments written, polls and backoffs by platform, HLS
//! gaps, free disk, and rooms that are live but not recording.

use super::ControlState;
use crate::metrics::Writer;
use crate::room::RoomState;

pub(crate) fn render(shared: &ControlState) -> String {
    let rooms: Vec<_> = shared.rooms().iter().map(|h| h.snapshot()).collect();
    let mut w = Writer::new();
    w.gauge("liverec_up", "Whether liverec is running.", 1.0);
    w.family(
        "liverec_build_info",
        "gauge",
        "liverec version and the commit it was built from (as liverec --version says).",
        &[(
            vec![
                ("version", crate::build_info::VERSION.to_string()),
                ("commit", crate::build_info::COMMIT.to_string()),
            ],
            1.0,
        )],
    );
    if let Some(c) = shared.cluster().and_then(|c| c.gauges()) {
        w.gauge(
            "liverec_cluster_members",
            "Live instances in the cluster, as this one sees them.",
            c.members as f64,
        );
        w.gauge(
            "liverec_cluster_lease_ok",
            "Whether this instance's cluster lease is believed alive.",
            if c.lease_ok { 1.0 } else { 0.0 },
        );
        w.gauge(
            "liverec_cluster_owned_rooms",
            "Rooms this instance records under its cluster claims.",
            c.owned as f64,
        );
    }
    let states = [
        RoomState::Idle,
        RoomState::Live,
        RoomState::Recording,
        RoomState::Failing,
        RoomState::Waiting,
        RoomState::Disabled,
        RoomState::Unrecordable,
        RoomState::Skipped,
        RoomState::Outside,
    ];
    let by_state: Vec<_> = states
        .iter()
        .map(|s| {
            (
                vec![("state", s.as_str().to_string())],
                rooms.iter().filter(|r| r.state == *s).count() as f64,
            )
        })
        .collect();
    w.family("liverec_rooms", "gauge", "Rooms by state.", &by_state);
    w.gauge(
        "liverec_live_not_recording",
        "Rooms live on their platform with nothing written for alert_after.",
        rooms
            .iter()
            .filter(|r| r.state == RoomState::Failing)
            .count() as f64,
    );
    let per_room =
        |f: &dyn Fn(&crate::room::RoomSnapshot) -> f64| -> Vec<(Vec<(&str, String)>, f64)> {
            rooms
                .iter()
                .map(|r| (vec![("room", r.key.clone())], f(r)))
                .collect()
        };
    w.family(
        "liverec_bytes_written_total",
        "counter",
        "Bytes written to segment files.",
        &per_room(&|r| r.bytes_total as f64),
    );
    w.family(
        "liverec_segments_written_total",
        "counter",
        "Segment files completed.",
        &per_room(&|r| r.segments_total as f64),
    );
    w.family(
        "liverec_hls_gaps_total",
        "counter",
        "HLS media segments missing from recordings (failed, or gone from the playlist before they were fetched).",
        &per_room(&|r| r.gaps_total as f64),
    );
    w.family(
        "liverec_room_bitrate_kbps",
        "gauge",
        "Current write rate.",
        &per_room(&|r| r.bitrate_kbps),
    );
    w.gauge(
        "liverec_chat_connected",
        "Rooms whose chat connection is up.",
        rooms
            .iter()
            .filter(|r| r.chat == crate::chat::ChatState::Connected)
            .count() as f64,
    );
    w.family(
        "liverec_room_degraded",
        "gauge",
        "1 while the room records below the wanted quality (quality_degraded).",
        &per_room(&|r| f64::from(u8::from(r.degraded.is_some()))),
    );
    let logins: Vec<_> = shared
        .logins()
        .into_iter()
        .filter_map(|(p, l)| Some((vec![("platform", p)], f64::from(u8::from(l?)))))
        .collect();
    w.family(
        "liverec_platform_logged_in",
        "gauge",
        "Whether the platform's login cookie is logged in (once the platform answered).",
        &logins,
    );
    w.gauge(
        "liverec_disk_free_bytes",
        "Free space under output_dir.",
        shared.disk_free() as f64,
    );
    w.gauge(
        "liverec_disk_low",
        "1 while free space is under min_free_space.",
        f64::from(u8::from(shared.disk_low())),
    );
    let hooks = shared.hooks().stats();
    let per_hook =
        |f: &dyn Fn(&crate::hooks::TargetStats) -> f64| -> Vec<(Vec<(&str, String)>, f64)> {
            hooks
                .iter()
                .map(|h| (vec![("hook", h.name.clone())], f(h)))
                .collect()
        };
    let mut deliveries = Vec::new();
    for h in &hooks {
        deliveries.push((
            vec![
                ("hook", h.name.clone()),
                ("result", "succeeded".to_string()),
            ],
            h.succeeded as f64,
        ));
        deliveries.push((
            vec![("hook", h.name.clone()), ("result", "gave_up".to_string())],
            h.gave_up as f64,
        ));
    }
    w.family(
        "liverec_hook_deliveries_total",
        "counter",
        "Hook and webhook deliveries finished, by result.",
        &deliveries,
    );
    w.family(
        "liverec_hook_attempts_failed_total",
        "counter",
        "Failed attempts (each retry counts).",
        &per_hook(&|h| h.attempts_failed as f64),
    );
    w.family(
        "liverec_hook_pending",
        "gauge",
        "Deliveries not done yet (running, waiting for a retry, their turn or the window).",
        &per_hook(&|h| h.pending as f64),
    );
    w.family(
        "liverec_hook_waiting_window",
        "gauge",
        "Pending deliveries held only by a closed window.",
        &per_hook(&|h| h.waiting_window as f64),
    );
    w.gauge(
        "liverec_hook_pending_total",
        "All pending deliveries.",
        hooks.iter().map(|h| h.pending as f64).sum(),
    );
    w.family(
        "liverec_hook_parked",
        "gauge",
        "1 for a name no hook or webhook has now, whose deliveries wait in the journal.",
        &per_hook(&|h| f64::from(u8::from(h.parked))),
    );
    let r = shared.retention().map(|r| r.stats()).unwrap_or_default();
    w.family(
        "liverec_retention_deleted_files_total",
        "counter",
        "Segments retention deleted since the start.",
        &[(vec![], r.deleted_files as f64)],
    );
    w.family(
        "liverec_retention_deleted_bytes_total",
        "counter",
        "Bytes of the segments retention deleted since the start.",
        &[(vec![], r.deleted_bytes as f64)],
    );
    w.gauge(
        "liverec_retention_held_files",
        "Segments the last retention pass would have deleted but for their hooks.",
        r.held_by_hooks as f64,
    );
    w.gauge(
        "liverec_events_queued",
        "Events raised and not yet journaled by the hook dispatcher.",
        shared.hooks().queued_events() as f64,
    );
    w.counters();
    w.finish()
}

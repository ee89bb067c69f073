//! Retention ("upload, then delete"): a task of its own that deletes finished segments once
//! every hook subscribed to their `segment_complete` has succeeded, by age (`keep_for`) and to
//! restore free space (`min_free_space_target`), oldest first; each deletion raises
//! `segment_deleted`.
//!
//! What it knows comes from the hooks' segment ledger (which files liverec finished, and how
//! each delivery ended) and from the dispatcher (what is pending now, who subscribes now). It
//! touches files only on the blocking pool and shares nothing with a recording, so a slow
//! disk or a long pass never holds one up. A pass is a [`plan::Plan`] computed from that state
//! and then carried out; the dry run (`GET /api/retention`) computes the same plan without
//! carrying it out, and one pass runs at a time.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use chrono::{DateTime, FixedOffset};
use serde::{Deserialize, Serialize};
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::config::retention::RetentionConfig;
use crate::event::EventTx;
use crate::hooks::Dispatcher;
use crate::hooks::ledger::{Ledger, LedgerSegment};
use crate::util::units::{format_duration, format_size};

mod delete;
pub(crate) mod plan;

pub(crate) use plan::{Entry, Plan};

/// Set only by tests: the free space (bytes) retention sees, instead of the file system's.
const FREE_SPACE_ENV: &str = "LIVEREC_TEST_FREE_SPACE";

/// What status, the API and the metrics show of retention.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct Stats {
    pub(crate) enabled: bool,
    /// Since the daemon started.
    pub(crate) deleted_files: u64,
    pub(crate) deleted_bytes: u64,
    /// At the last pass: segments that would have gone but for their hooks.
    pub(crate) held_by_hooks: usize,
    pub(crate) last_pass: Option<DateTime<FixedOffset>>,
    pub(crate) next_pass: Option<DateTime<FixedOffset>>,
}

/// What a pass did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Report {
    pub(crate) plan: Plan,
    pub(crate) deleted: Vec<Entry>,
    /// Planned, but not deleted: the entry and why.
    pub(crate) failed: Vec<(Entry, String)>,
}

pub(crate) struct Retention {
    config: RwLock<Option<RetentionConfig>>,
    hooks: Arc<Dispatcher>,
    ledger: Arc<Ledger>,
    events: EventTx,
    output_dir: PathBuf,
    /// One pass (or dry run) at a time.
    pass: tokio::sync::Mutex<()>,
    stats: Mutex<Stats>,
    /// A reload changed the config: the wait for the next pass starts over.
    wake: Notify,
    /// Free space was short and nothing could go: said once until it changes.
    stuck: Mutex<bool>,
}

impl Retention {
    pub(crate) fn new(
        config: Option<RetentionConfig>,
        hooks: Arc<Dispatcher>,
        events: EventTx,
        output_dir: &Path,
    ) -> Arc<Self> {
        let stats = Stats {
            enabled: config.is_some(),
            ..Stats::default()
        };
        Arc::new(Self {
            config: RwLock::new(config),
            ledger: hooks.ledger(),
            hooks,
            events,
            output_dir: output_dir.to_path_buf(),
            pass: tokio::sync::Mutex::new(()),
            stats: Mutex::new(stats),
            wake: Notify::new(),
            stuck: Mutex::new(false),
        })
    }

    fn config(&self) -> Option<RetentionConfig> {
        self.config
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// A reloaded `[retention]` (or its absence): applies from the next pass, which comes one
    /// new `interval` from now.
    pub(crate) fn reconfigure(&self, config: Option<RetentionConfig>) {
        let on = config.is_some();
        *self.config.write().unwrap_or_else(|p| p.into_inner()) = config;
        self.with_stats(|s| s.enabled = on);
        self.wake.notify_one();
    }

    fn with_stats(&self, f: impl FnOnce(&mut Stats)) {
        f(&mut self.stats.lock().unwrap_or_else(|p| p.into_inner()));
    }

    pub(crate) fn stats(&self) -> Stats {
        self.stats.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Before any room starts: finishes the deletions a crash interrupted (whatever the config
    /// says now). `journaled` holds the events the hook journal had at start-up.
    pub(crate) async fn recover(&self, journaled: HashSet<Uuid>) {
        let ledger = self.ledger.clone();
        let raise =
            tokio::task::spawn_blocking(move || delete::finish_interrupted(&ledger, &journaled))
                .await
                .unwrap_or_default();
        for e in raise {
            self.events.emit(e);
        }
    }

    /// Lets the segment at `path` go although a delivery of it gave up (its other deliveries
    /// must still be done). `Err` names why not: no segment of liverec's has that path.
    pub(crate) async fn release(&self, path: &Path) -> Result<(), String> {
        let seg = self
            .ledger
            .segments()
            .into_iter()
            .find(|s| s.segment.path == path && s.deleting.is_none())
            .ok_or_else(|| format!("no finished segment of liverec's is {}", path.display()))?;
        let ledger = self.ledger.clone();
        tokio::task::spawn_blocking(move || ledger.release(seg.event))
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| format!("cannot write {}: {e}", self.ledger.path().display()))?;
        let room = seg.room.as_ref().map(|r| r.key.as_str()).unwrap_or("-");
        tracing::info!(
            room,
            "retention: {} released by an operator (a given-up delivery no longer keeps it)",
            path.display()
        );
        Ok(())
    }

    /// What a pass would delete now, and what it keeps because hooks are not done.
    pub(crate) async fn dry_run(&self) -> Result<Plan, String> {
        let _one = self.pass.lock().await;
        Ok(self.plan().await?.0)
    }

    /// A pass now: deletes exactly what the plan computed at its start lists.
    pub(crate) async fn run(&self) -> Result<Report, String> {
        let _one = self.pass.lock().await;
        let (plan, segs) = self.plan().await?;
        let chat = self.config().is_some_and(|c| c.delete_chat);
        let mut deleted = Vec::new();
        let mut failed = Vec::new();
        for entry in &plan.delete {
            let Some(seg) = segs.get(&entry.segment).cloned() else {
                continue;
            };
            let (ledger, dir, e) = (self.ledger.clone(), self.output_dir.clone(), entry.clone());
            let done =
                tokio::task::spawn_blocking(move || delete::delete(&ledger, &seg, &e, &dir, chat))
                    .await
                    .unwrap_or_else(|e| Err(format!("the deletion task failed: {e}")));
            let room = if entry.room.is_empty() {
                "-"
            } else {
                &entry.room
            };
            match done {
                Ok(event) => {
                    tracing::info!(
                        room,
                        "retention deleted {} ({}, ended {} ago, reason {})",
                        entry.path.display(),
                        format_size(entry.bytes),
                        format_duration(Duration::from_secs(entry.age_s)),
                        entry.reason.as_str()
                    );
                    self.events.emit(event);
                    self.with_stats(|s| {
                        s.deleted_files += 1;
                        s.deleted_bytes += entry.bytes;
                    });
                    deleted.push(entry.clone());
                }
                Err(why) => {
                    tracing::warn!(
                        room,
                        "retention: not deleting {}: {why}",
                        entry.path.display()
                    );
                    failed.push((entry.clone(), why));
                }
            }
        }
        self.after_pass(&plan, deleted.len());
        Ok(Report {
            plan,
            deleted,
            failed,
        })
    }

    /// Logs (once while it lasts) a space target that cannot be reached, and keeps the stats.
    fn after_pass(&self, plan: &Plan, deleted: usize) {
        let short = plan
            .target_bytes
            .is_some_and(|t| plan.free_bytes < t && deleted == 0 && plan.delete.is_empty());
        let mut stuck = self.stuck.lock().unwrap_or_else(|p| p.into_inner());
        if short && !*stuck {
            tracing::warn!(
                "retention: free space {} is below min_free_space_target {} and nothing can be deleted ({} segment(s) wait for their hooks); disk_low stops recording at min_free_space",
                format_size(plan.free_bytes),
                format_size(plan.target_bytes.unwrap_or_default()),
                plan.held.len()
            );
        }
        *stuck = short;
        self.with_stats(|s| {
            s.held_by_hooks = plan.held.len();
            s.last_pass = Some(plan.at);
        });
    }

    /// The plan now, and the ledger segments it names.
    async fn plan(&self) -> Result<(Plan, HashMap<Uuid, LedgerSegment>), String> {
        let at = crate::event::now();
        let Some(cfg) = self.config() else {
            let plan = Plan {
                enabled: false,
                at,
                free_bytes: 0,
                total_bytes: 0,
                target_bytes: None,
                delete: Vec::new(),
                held: Vec::new(),
            };
            return Ok((plan, HashMap::new()));
        };
        let view = self.hooks.view().await.ok_or("liverec is shutting down")?;
        let (ledger, dir) = (self.ledger.clone(), self.output_dir.clone());
        let rooms = cfg.rooms.clone();
        let (segs, free, total) = tokio::task::spawn_blocking(move || {
            let (free, total) = free_space(&dir);
            (present(&ledger, &dir, &rooms), free, total)
        })
        .await
        .map_err(|e| format!("retention task failed: {e}"))?;
        let target = cfg.min_free_space_target.map(|t| t.bytes(total));
        let cands: Vec<plan::Candidate<'_>> = segs
            .iter()
            .map(|seg| plan::Candidate {
                seg,
                held: if cfg.require_hooks_done {
                    plan::hooks_hold(seg, &view)
                } else {
                    None
                },
            })
            .collect();
        let rules = plan::Rules {
            keep_for: cfg.keep_for,
            target,
        };
        let (delete, held) = plan::choose(&cands, rules, at, free);
        let plan = Plan {
            enabled: true,
            at,
            free_bytes: free,
            total_bytes: total,
            target_bytes: target,
            delete,
            held,
        };
        let by_id = segs.into_iter().map(|s| (s.event, s)).collect();
        Ok((plan, by_id))
    }

    /// Runs a pass every `interval` (the first one `interval` after the start) until `stop`.
    pub(crate) fn spawn(self: &Arc<Self>, stop: CancellationToken) -> JoinHandle<()> {
        let me = self.clone();
        tokio::spawn(async move {
            loop {
                let cfg = me.config();
                let every = cfg.as_ref().map_or(Duration::from_secs(60), |c| c.interval);
                let next = cfg.as_ref().map(|_| {
                    crate::event::now()
                        + chrono::Duration::from_std(every).unwrap_or(chrono::Duration::MAX)
                });
                me.with_stats(|s| s.next_pass = next);
                tokio::select! {
                    _ = stop.cancelled() => return,
                    _ = me.wake.notified() => continue,
                    _ = tokio::time::sleep(every) => {}
                }
                if cfg.is_none() {
                    continue;
                }
                if let Err(e) = me.run().await {
                    tracing::warn!("retention pass failed: {e}");
                }
            }
        })
    }
}

/// The ledger's segments still on disk as liverec wrote them, of the rooms `rooms` names (all
/// when empty), oldest first; those gone by other hands are forgotten. Segments being deleted
/// are left out.
fn present(ledger: &Ledger, output_dir: &Path, rooms: &[String]) -> Vec<LedgerSegment> {
    let mut out = Vec::new();
    for seg in ledger.segments() {
        if seg.deleting.is_some() {
            continue;
        }
        if !rooms.is_empty() {
            let Some(r) = &seg.room else { continue };
            if !rooms.iter().any(|x| *x == r.key || *x == r.name) {
                continue;
            }
        }
        match delete::still_ours(&seg, output_dir) {
            Ok(true) => out.push(seg),
            Ok(false) => {}
            Err(()) => {
                let room = seg.room.as_ref().map(|r| r.key.as_str()).unwrap_or("-");
                tracing::info!(
                    room,
                    "retention: {} is gone (moved or deleted by other hands); forgotten",
                    seg.segment.path.display()
                );
                if let Err(e) = ledger.forget(seg.event) {
                    tracing::warn!("cannot write {}: {e}", ledger.path().display());
                }
            }
        }
    }
    out
}

/// Free and total bytes of the file system under `dir`.
fn free_space(dir: &Path) -> (u64, u64) {
    let total = fs2::total_space(dir).unwrap_or(0);
    if let Some(fake) = std::env::var(FREE_SPACE_ENV)
        .ok()
        .and_then(|v| v.parse().ok())
    {
        return (fake, total.max(fake));
    }
    match fs2::available_space(dir) {
        Ok(free) => (free, total),
        // Unknown: as if there were plenty, so the space rule deletes nothing on a guess.
        Err(_) => (u64::MAX, total),
    }
}

#[cfg(test)]
mod tests;

//! Free space under `output_dir`, watched for the whole daemon: one `disk_low` event when it
//! falls under `min_free_space` (not one per room per retry), one log line when it returns.
//! Rooms refuse to open files on their own while space is short (see `segment::files`).

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::task::JoinHandle;

use crate::event::{Event, EventTx, EventType};
use crate::util::units::format_size;

/// The last reading, owned by the monitor task.
#[derive(Debug, Default)]
pub(crate) struct DiskStatus {
    free: u64,
    low: bool,
}

impl DiskStatus {
    /// Takes one reading of `free` bytes under `dir`; raises `disk_low` on the way down.
    pub(crate) fn observe(&mut self, dir: &std::path::Path, free: u64, min: u64, events: &EventTx) {
        self.free = free;
        let low = min > 0 && free < min;
        let was = std::mem::replace(&mut self.low, low);
        if low && !was {
            let text = format!(
                "free space under {} is {} (min_free_space is {}): open segments are closed and no new file opens until space returns",
                dir.display(),
                format_size(free),
                format_size(min)
            );
            tracing::warn!("{text}");
            events.emit(Event::new(EventType::DiskLow, None).with_error(text));
        } else if was && !low {
            tracing::info!(
                "free space under {} is {} again: recording resumes",
                dir.display(),
                format_size(free)
            );
        }
    }

    pub(crate) fn free(&self) -> u64 {
        self.free
    }

    pub(crate) fn is_low(&self) -> bool {
        self.low
    }
}

/// Checks free space under `dir` every `every` (the first check at once) and hands each
/// reading to `report` as (free bytes, total bytes of the file system, low). `statvfs` runs on a blocking thread and the
/// monitor is a task of its own: on a stuck network share the call may hang, and it must hang
/// neither the runtime nor the main loop that pings the watchdog. One reading at a time, so a
/// hung one does not pile up threads. A failed reading is skipped.
pub(crate) fn monitor(
    dir: PathBuf,
    min_free_space: Arc<AtomicU64>,
    every: Duration,
    events: EventTx,
    report: impl Fn(u64, u64, bool) + Send + 'static,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut status = DiskStatus::default();
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let at = dir.clone();
            let reading = tokio::task::spawn_blocking(move || {
                Ok::<_, std::io::Error>((fs2::available_space(&at)?, fs2::total_space(&at)?))
            })
            .await;
            let Ok(Ok((free, total))) = reading else {
                continue;
            };
            status.observe(&dir, free, min_free_space.load(Ordering::Relaxed), &events);
            report(status.free(), total, status.is_low());
        }
    })
}

#[cfg(test)]
mod tests;

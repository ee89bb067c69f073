//! Free space under `output_dir`, watched for the whole daemon: one `disk_low` event when it
//! falls under `min_free_space` (not one per room per retry), one log line when it returns.
//! Rooms refuse to open files on their own while space is short (see `record::output`).

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use crate::event::{Event, EventTx, EventType};
use crate::util::units::format_size;

#[derive(Debug, Default)]
pub struct DiskStatus {
    pub free: AtomicU64,
    pub low: AtomicBool,
}

impl DiskStatus {
    /// Checks once; raises `disk_low` on the way down.
    pub fn check(&self, dir: &Path, min: u64, events: &EventTx) {
        let Ok(free) = fs2::available_space(dir) else {
            return;
        };
        self.free.store(free, Ordering::Relaxed);
        let low = min > 0 && free < min;
        let was = self.low.swap(low, Ordering::Relaxed);
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
}

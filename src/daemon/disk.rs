//! Free space under `output_dir`, watched for the whole daemon: one `disk_low` event when it
//! falls under `min_free_space` (not one per room per retry), one log line when it returns.
//! Rooms refuse to open files on their own while space is short (see `segment::files`).

use std::path::Path;

use crate::event::{Event, EventTx, EventType};
use crate::util::units::format_size;

/// The last reading, owned by the daemon's main loop.
#[derive(Debug, Default)]
pub(crate) struct DiskStatus {
    free: u64,
    low: bool,
}

impl DiskStatus {
    /// Checks once; raises `disk_low` on the way down.
    pub(crate) fn check(&mut self, dir: &Path, min: u64, events: &EventTx) {
        let Ok(free) = fs2::available_space(dir) else {
            return;
        };
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

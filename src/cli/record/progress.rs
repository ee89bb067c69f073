//! The one progress line `record` keeps on a terminal's stderr: elapsed time, the file being
//! written, its size, the bitrate and the reconnects, redrawn in place with `\r`. A log line
//! clears it first ([`log_writer`]) and the next tick draws it again below, so the two never
//! mix. [`line`] is pure, for the tests.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::room::{RoomSnapshot, RoomState};
use crate::util::units::format_size;

/// A progress line is on the screen now.
static SHOWN: AtomicBool = AtomicBool::new(false);

/// What the line shows.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct View {
    pub(crate) elapsed: Duration,
    pub(crate) state: RoomState,
    pub(crate) detail: Option<String>,
    /// The name of the file being written.
    pub(crate) file: Option<String>,
    pub(crate) bytes: u64,
    pub(crate) kbps: f64,
    pub(crate) reconnects: u32,
    /// Files finished so far.
    pub(crate) files: u32,
}

impl View {
    fn of(snap: &RoomSnapshot, elapsed: Duration, files: u32) -> Self {
        Self {
            elapsed,
            state: snap.state,
            detail: snap.detail.clone().or_else(|| snap.last_error.clone()),
            file: snap
                .file
                .as_ref()
                .and_then(|p| p.file_name())
                .map(|n| n.to_string_lossy().into_owned()),
            bytes: snap.bytes_total,
            kbps: snap.bitrate_kbps,
            reconnects: snap.reconnects,
            files,
        }
    }
}

fn clock(d: Duration) -> String {
    let s = d.as_secs();
    format!("{:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
}

/// `text` in at most `max` characters, cut in the middle (a file name keeps its start and its
/// extension).
fn fit(text: &str, max: usize) -> String {
    let n = text.chars().count();
    if n <= max {
        return text.to_string();
    }
    if max < 2 {
        return "…".chars().take(max).collect();
    }
    let tail = (max - 1) / 2;
    let head = max - 1 - tail;
    let chars: Vec<char> = text.chars().collect();
    let mut out: String = chars[..head].iter().collect();
    out.push('…');
    out.extend(&chars[n - tail..]);
    out
}

/// The line for `v`, at most `width` characters (one less, so a terminal never wraps it).
pub(crate) fn line(v: &View, width: usize) -> String {
    let head = match v.state {
        RoomState::Recording => format!("● REC {}", clock(v.elapsed)),
        s => format!("{} {}", s.as_str(), clock(v.elapsed)),
    };
    let middle = match (&v.file, v.state) {
        (Some(f), RoomState::Recording) => f.clone(),
        _ => v
            .detail
            .clone()
            .or_else(|| v.file.clone())
            .unwrap_or_default(),
    };
    let mut tail = vec![format_size(v.bytes), format!("{:.0} kb/s", v.kbps)];
    tail.push(match v.reconnects {
        1 => "1 reconnect".to_string(),
        n => format!("{n} reconnects"),
    });
    if v.files > 0 {
        tail.push(format!("{} done", v.files));
    }
    let tail = tail.join("  ");
    let budget = width.saturating_sub(1);
    let fixed = head.chars().count() + tail.chars().count() + 4;
    let room = budget.saturating_sub(fixed);
    let out = if middle.is_empty() || room < 4 {
        format!("{head}  {tail}")
    } else {
        format!("{head}  {}  {tail}", fit(&middle, room))
    };
    fit(&out, budget)
}

/// The terminal's width in columns (80 when it cannot be told).
fn terminal_width() -> usize {
    // SAFETY: TIOCGWINSZ writes a winsize into the struct we own; fd 2 is only read about.
    let mut ws: libc::winsize = unsafe { std::mem::zeroed() };
    let ok = unsafe { libc::ioctl(libc::STDERR_FILENO, libc::TIOCGWINSZ, &mut ws) } == 0;
    if ok && ws.ws_col > 0 {
        usize::from(ws.ws_col)
    } else {
        80
    }
}

/// Draws (or redraws) the line on stderr.
pub(super) fn draw(snap: &RoomSnapshot, elapsed: Duration, files: u32) {
    let text = line(&View::of(snap, elapsed, files), terminal_width());
    let mut err = std::io::stderr().lock();
    let _ = write!(err, "\r{text}\x1b[K");
    let _ = err.flush();
    SHOWN.store(true, Ordering::Relaxed);
}

/// Takes the line off the screen, if it is there.
pub(crate) fn clear() {
    if SHOWN.swap(false, Ordering::Relaxed) {
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "\r\x1b[K");
        let _ = err.flush();
    }
}

/// The log's writer: stderr, with the progress line cleared first.
pub(crate) fn log_writer() -> std::io::Stderr {
    clear();
    std::io::stderr()
}

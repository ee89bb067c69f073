//! Reloads on a change of the config file. The folder is watched, not the file, so editors that
//! save by writing a new file and renaming it over the old one are seen too; a burst of events
//! (write, chmod, rename) becomes one reload after things settle. A file that is empty when the
//! burst settles is not reloaded (see [`is_blank`]).

use std::path::Path;
use std::time::Duration;

use notify::{RecursiveMode, Watcher};
use tokio::sync::mpsc;

use crate::control::DaemonCmd;

/// Quiet time after the last change before reloading.
const SETTLE: Duration = Duration::from_millis(400);

/// Starts watching; keep the returned watcher alive for as long as reloads are wanted.
pub(crate) fn watch(
    file: &Path,
    cmds: mpsc::Sender<DaemonCmd>,
) -> Option<notify::RecommendedWatcher> {
    let dir = file.parent()?.to_path_buf();
    let path = file.to_path_buf();
    let name = file.file_name()?.to_os_string();
    let (tx, mut rx) = mpsc::unbounded_channel::<()>();
    let mut watcher = notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
        if let Ok(ev) = res {
            let ours = ev
                .paths
                .iter()
                .any(|p| p.file_name() == Some(name.as_os_str()));
            if ours && !ev.kind.is_access() {
                let _ = tx.send(());
            }
        }
    })
    .map_err(|e| {
        tracing::warn!(
            "cannot watch the config file for changes: {e}; use SIGHUP or the API to reload"
        )
    })
    .ok()?;
    if let Err(e) = watcher.watch(&dir, RecursiveMode::NonRecursive) {
        tracing::warn!(
            "cannot watch {}: {e}; use SIGHUP or the API to reload",
            dir.display()
        );
        return None;
    }
    tokio::spawn(async move {
        while rx.recv().await.is_some() {
            // Let the burst settle: editors write, rename and chmod in quick succession.
            while let Ok(Some(())) = tokio::time::timeout(SETTLE, rx.recv()).await {}
            if is_blank(&path).await {
                tracing::warn!(
                    "{} changed but is empty: not reloading (probably still being written; the next change reloads it)",
                    path.display()
                );
                continue;
            }
            let cmd = DaemonCmd::Reload {
                source: "config file changed",
                reply: None,
            };
            if cmds.send(cmd).await.is_err() {
                return;
            }
        }
    });
    Some(watcher)
}

/// Whether the file holds nothing but whitespace. Editors and config tools often truncate the
/// file, then write it; a reload in between would see a valid config with no rooms and no
/// hooks and stop everything. The write that fills the file raises another change event, so
/// skipping this one loses nothing. (A file that cannot be read is not blank: the reload
/// reports why.) SIGHUP and the API still reload an empty file: someone asked for it.
async fn is_blank(path: &Path) -> bool {
    match tokio::fs::read(path).await {
        Ok(bytes) => bytes.iter().all(u8::is_ascii_whitespace),
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests;

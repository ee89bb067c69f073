//! A session's cover image (`cover = true`): fetched once from the URL the platform's status
//! names, and saved beside the session's first segment under the segment's own stem
//! (`<stem>.jpg`), never under a name taken from platform data. The image is bounded in size,
//! recognised by its own bytes (JPEG, PNG, WebP: a CDN's HTML error page is no cover), and
//! written as `.part`, fsynced and renamed without replacing anything. It is a side job of the
//! session: it runs in a task of its own, and a failure is one log line.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use reqwest::header::{self, HeaderValue};

use crate::segment::part::{rename_no_replace, split_part_name};
use crate::util::secret::redact_url;

/// The largest cover saved (real ones are a few hundred KiB).
pub(crate) const MAX_BYTES: usize = 10 << 20;
/// The whole fetch, answer and body, within this.
const TIMEOUT: Duration = Duration::from_secs(30);
/// The extensions a cover may have: what [`sniff`] recognises. Their `.part` files are not
/// segments: crash recovery leaves them alone.
pub(crate) const EXTENSIONS: [&str; 3] = ["jpg", "png", "webp"];

#[derive(Debug, thiserror::Error)]
pub(crate) enum CoverError {
    #[error("the cover URL {0} is not http(s)")]
    Url(String),
    #[error("fetching the cover {url} failed: {why}")]
    Fetch { url: String, why: String },
    #[error("the cover {url} answered HTTP {status}")]
    Status { url: String, status: u16 },
    #[error("the cover {url} is larger than {} MiB", MAX_BYTES >> 20)]
    TooLarge { url: String },
    #[error("the cover {url} is not a JPEG, PNG or WebP image (starts with {head})")]
    NotImage { url: String, head: String },
    #[error("the segment {} names no cover", .0.display())]
    Name(PathBuf),
    #[error("cannot write the cover {}: {source}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// The image type of `bytes`, as a file extension.
pub(crate) fn sniff(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("jpg")
    } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("png")
    } else if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        Some("webp")
    } else {
        None
    }
}

/// The stem a cover shares with its segment: `x/name.flv.part` (or `x/name.flv`) -> `x/name`.
pub(crate) fn stem_of(segment: &Path) -> Option<PathBuf> {
    if let Some((stem, _)) = split_part_name(segment) {
        return Some(stem);
    }
    let name = segment.file_name()?.to_str()?;
    let (stem, _) = name.rsplit_once('.')?;
    Some(segment.with_file_name(stem))
}

/// Whether `name` is a cover's unfinished file (`<stem>.jpg.part`).
pub(crate) fn is_cover_part(name: &str) -> bool {
    name.strip_suffix(crate::segment::part::PART_SUFFIX)
        .and_then(|s| s.rsplit_once('.'))
        .is_some_and(|(_, ext)| EXTENSIONS.contains(&ext))
}

/// Fetches the cover at `url` and saves it beside `segment` (its `.part` path); returns the
/// cover's path.
pub(crate) async fn save(
    client: &reqwest::Client,
    url: &str,
    segment: &Path,
) -> Result<PathBuf, CoverError> {
    let stem = stem_of(segment).ok_or_else(|| CoverError::Name(segment.to_path_buf()))?;
    let bytes = tokio::time::timeout(TIMEOUT, fetch(client, url))
        .await
        .map_err(|_| CoverError::Fetch {
            url: redact_url(url),
            why: format!("no answer within {}s", TIMEOUT.as_secs()),
        })??;
    let ext = sniff(&bytes).ok_or_else(|| CoverError::NotImage {
        url: redact_url(url),
        head: crate::http::sniff(&bytes),
    })?;
    tokio::task::spawn_blocking(move || write(&stem, ext, &bytes))
        .await
        .map_err(|e| CoverError::Write {
            path: segment.to_path_buf(),
            source: std::io::Error::other(e.to_string()),
        })?
}

async fn fetch(client: &reqwest::Client, url: &str) -> Result<bytes::Bytes, CoverError> {
    let shown = redact_url(url);
    if !(url.starts_with("https://") || url.starts_with("http://")) {
        return Err(CoverError::Url(shown));
    }
    // A CDN fetch, like a stream's: a browser's User-Agent, no cookie.
    let resp = client
        .get(url)
        .header(
            header::USER_AGENT,
            HeaderValue::from_static(crate::http::BROWSER_UA),
        )
        .send()
        .await
        .map_err(|e| CoverError::Fetch {
            url: shown.clone(),
            why: crate::http::describe(&e),
        })?;
    if !resp.status().is_success() {
        return Err(CoverError::Status {
            url: shown,
            status: resp.status().as_u16(),
        });
    }
    crate::http::read_capped(resp, MAX_BYTES)
        .await
        .map_err(|e| match e {
            crate::http::ReadError::TooLarge { .. } => CoverError::TooLarge { url: shown },
            crate::http::ReadError::Http(e) => CoverError::Fetch {
                url: shown,
                why: crate::http::describe(&e),
            },
        })
}

/// Writes `<stem>.<ext>.part`, fsyncs it and renames it to `<stem>.<ext>` (or `_1`... when that
/// is taken: nothing is replaced).
fn write(stem: &Path, ext: &'static str, bytes: &[u8]) -> Result<PathBuf, CoverError> {
    let part = PathBuf::from(format!(
        "{}.{ext}{}",
        stem.display(),
        crate::segment::part::PART_SUFFIX
    ));
    let err = |path: &Path| {
        let path = path.to_path_buf();
        move |source| CoverError::Write { path, source }
    };
    let written = (|| {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&part)?;
        f.write_all(bytes)?;
        f.sync_all()
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_file(&part);
        return Err(err(&part)(e));
    }
    match rename_no_replace(&part, stem, ext) {
        Ok(path) => {
            if let Some(dir) = path.parent() {
                crate::util::fs::sync_dir(dir);
            }
            Ok(path)
        }
        Err(e) => {
            let _ = std::fs::remove_file(&part);
            Err(err(&part)(e))
        }
    }
}

#[cfg(test)]
mod tests;

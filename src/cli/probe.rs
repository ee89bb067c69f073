//! `liverec probe URL`: what the platform says about a room right now — its canonical key, live
//! status, title, streamer, and every stream URL by quality and format. The first thing to run
//! when a room misbehaves.

use std::fmt::Write;
use std::path::Path;
use std::process::ExitCode;

use crate::config;
use crate::platform::PlatformsConfig;
use crate::platform::limiter::{Lane, in_lane};
use crate::platform::{
    self, Platform, PlatformKind, Platforms, RoomKey, RoomSpec, RoomStatus, StreamFormat,
    StreamSource,
};
use crate::util::secret::redact_url;

pub(crate) fn run(url: &str, config_path: Option<&Path>, show_urls: bool) -> ExitCode {
    let cfg = match config_path {
        None => None,
        Some(p) => match config::load(p) {
            Ok(c) => Some(c),
            Err(e) => {
                eprintln!("{e}");
                eprintln!(
                    "liverec: {} has {} problem(s)",
                    p.display(),
                    e.problems.len()
                );
                return ExitCode::FAILURE;
            }
        },
    };
    let target = match platform::recognize(url, None) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("liverec: {e}");
            return ExitCode::FAILURE;
        }
    };
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("liverec: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    // One room, asked now: its own calls, as for a live room (no batch, no queue behind
    // idle polls).
    rt.block_on(in_lane(Lane::Live, async move {
        let client = match crate::http::client() {
            Ok(c) => c,
            Err(e) => {
                eprintln!("liverec: cannot set up HTTP: {e}");
                return ExitCode::FAILURE;
            }
        };
        let settings = cfg
            .as_ref()
            .map(|c| c.platforms.clone())
            .unwrap_or_else(PlatformsConfig::default);
        let platforms = Platforms::from_settings(&settings, client);
        let p = platforms.get(target.platform);
        let key = match p.resolve(&target).await {
            Ok(k) => k,
            Err(e) => {
                eprintln!("liverec: cannot resolve {url}: {e}");
                return ExitCode::FAILURE;
            }
        };
        let spec = spec_for(cfg.as_ref(), &settings, &key, &target.url);
        let (text, ok) = probe(p.as_ref(), &spec, show_urls).await;
        print!("{text}");
        if ok {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        }
    }))
}

/// The settings the daemon would use: the configured room's own, else the platform section's,
/// else the defaults.
fn spec_for(
    cfg: Option<&config::Config>,
    settings: &PlatformsConfig,
    key: &RoomKey,
    url: &str,
) -> RoomSpec {
    let room = cfg.and_then(|c| {
        c.rooms.iter().find(|r| {
            r.target.known_key().as_ref() == Some(key)
                || r.url() == url
                || r.target.provisional_key() == key.to_string()
        })
    });
    if let Some(r) = room {
        return RoomSpec {
            key: key.clone(),
            url: url.to_string(),
            quality: r.settings.quality.clone(),
            formats: r.settings.formats.clone(),
            codecs: r.settings.codecs.clone(),
            cookie: r.settings.cookie.clone(),
        };
    }
    let plat = settings.get(key.platform).cloned().unwrap_or_default();
    RoomSpec {
        key: key.clone(),
        url: url.to_string(),
        quality: plat
            .quality
            .clone()
            .unwrap_or_else(|| key.platform.default_quality()),
        formats: plat
            .formats
            .clone()
            .unwrap_or_else(|| key.platform.default_formats()),
        codecs: plat.codecs.clone().unwrap_or_default(),
        cookie: plat.cookie.clone(),
    }
}

fn format_name(f: StreamFormat) -> &'static str {
    match f {
        StreamFormat::Flv => "flv",
        StreamFormat::Hls => "hls",
    }
}

fn source_line(out: &mut String, n: Option<usize>, s: &StreamSource, show_urls: bool) {
    let url = if show_urls {
        s.url.clone()
    } else {
        redact_url(&s.url)
    };
    let n = n.map(|n| format!("{n:>3}")).unwrap_or_else(|| "  -".into());
    let _ = writeln!(
        out,
        "  {n}  {:<4} {:<26} {url}",
        format_name(s.format),
        s.quality
    );
}

/// One `label   value` line, labels in one column.
fn line(out: &mut String, label: &str, value: &str) {
    let value = if value.is_empty() { "-" } else { value };
    let _ = writeln!(out, "{label:<9} {value}");
}

/// The report, and whether everything asked for could be learnt.
async fn probe(p: &dyn Platform, spec: &RoomSpec, show_urls: bool) -> (String, bool) {
    let mut out = String::new();
    line(&mut out, "key", &spec.key.to_string());
    let status: Result<RoomStatus, _> = p.status(spec).await;
    match &status {
        Ok(status) => {
            line(&mut out, "live", if status.live { "yes" } else { "no" });
            line(&mut out, "title", &status.title);
            line(&mut out, "streamer", &status.streamer);
            line(
                &mut out,
                "session",
                status.session_hint.as_deref().unwrap_or_default(),
            );
        }
        Err(e) => line(&mut out, "live", &format!("unknown: {e}")),
    }
    // How the platform was reached and what it makes of the room: what a bug report needs,
    // and most of all when the status above is unknown.
    for (label, text) in p.diagnose(spec).await {
        line(&mut out, label, &text);
    }
    let status = match status {
        Ok(s) => s,
        Err(_) => return (out, false),
    };
    if !status.live {
        line(&mut out, "streams", "none: the room is not live");
        return (out, true);
    }
    if let Some(why) = &status.unrecordable {
        line(&mut out, "streams", &format!("none: not recordable: {why}"));
        return (out, true);
    }
    let preferred = match p.sources(spec).await {
        Ok(s) => s,
        Err(e) => {
            line(&mut out, "streams", &format!("none usable: {e}"));
            return (out, false);
        }
    };
    let prefs = if spec.key.platform == PlatformKind::Direct {
        String::new()
    } else {
        format!(
            " (quality {}; formats {})",
            spec.quality.join(", "),
            spec.formats.join(", ")
        )
    };
    let _ = writeln!(out, "streams   in the order liverec tries them{prefs}:");
    for (i, s) in preferred.iter().enumerate() {
        source_line(&mut out, Some(i + 1), s, show_urls);
    }
    match p.all_sources(spec).await {
        Ok(all) => {
            // Signed URLs differ from one answer to the next: compare them without the query.
            let same = |a: &StreamSource, b: &StreamSource| {
                a.format == b.format
                    && a.quality == b.quality
                    && redact_url(&a.url) == redact_url(&b.url)
            };
            let others: Vec<&StreamSource> = all
                .iter()
                .filter(|s| !preferred.iter().any(|x| same(x, s)))
                .collect();
            if !others.is_empty() {
                let _ = writeln!(out, "also on offer:");
                for s in others {
                    source_line(&mut out, None, s, show_urls);
                }
            }
        }
        Err(e) => {
            let _ = writeln!(out, "also on offer: unknown ({e})");
        }
    }
    if show_urls {
        let _ = writeln!(
            out,
            "note: these URLs hold access tokens and expire; do not share them."
        );
    } else {
        let _ = writeln!(
            out,
            "note: URLs are shown without their query (it holds access tokens); --show-urls prints them whole."
        );
    }
    (out, true)
}

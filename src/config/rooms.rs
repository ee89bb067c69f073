//! `[[rooms]]` and the settings a room may override: read, checked against its platform, and
//! merged over the top-level values and the defaults.

use std::path::{Component, Path};
use std::time::Duration;

use super::raw::{Field, Report, Section};
use super::{FILENAME_FIELDS, PlatformsConfig, RoomConfig, RoomSettings, TIME_FIELDS};
use crate::platform::{self, PlatformKind};
use crate::template::Template;
use crate::util::secret::Secret;
use crate::util::units;

/// Settings that may appear at the top level and in each room.
#[derive(Default)]
pub(super) struct Overrides {
    pub(super) poll_interval: Option<Duration>,
    pub(super) offline_grace: Option<Duration>,
    pub(super) stall_timeout: Option<Duration>,
    pub(super) alert_after: Option<Duration>,
    pub(super) segment_duration: Option<Duration>,
    pub(super) segment_size: Option<u64>,
    pub(super) filename: Option<Template>,
}

pub(super) fn read_overrides(sec: &mut Section<'_, '_>, rep: &mut Report<'_>) -> Overrides {
    let at_least = |field: Option<Field<'_, '_>>, rep: &mut Report<'_>, min: Duration| {
        let field = field?;
        let d = field.duration(rep)?;
        if d < min {
            field.fail(
                rep,
                format!("must be at least {}", units::format_duration(min)),
            );
            return None;
        }
        Some(d)
    };
    let second = Duration::from_secs(1);
    let poll_interval = at_least(sec.take("poll_interval"), rep, second);
    let offline_grace = at_least(sec.take("offline_grace"), rep, Duration::ZERO);
    let stall_timeout = at_least(sec.take("stall_timeout"), rep, second);
    let alert_after = at_least(sec.take("alert_after"), rep, second);
    let segment_duration = sec.take("segment_duration").and_then(|f| {
        let d = f.duration(rep)?;
        if !d.is_zero() && d < second {
            f.fail(rep, "must be \"0s\" (no time split) or at least 1s");
            return None;
        }
        Some(d)
    });
    let segment_size = sec.take("segment_size").and_then(|f| {
        let n = f.size(rep)?;
        if n != 0 && n < 1 << 20 {
            f.fail(rep, "must be \"0B\" (no size split) or at least 1MiB");
            return None;
        }
        Some(n)
    });
    let filename = sec.take("filename").and_then(|f| {
        let text = f.str(rep)?;
        filename_template(text).map_err(|e| f.fail(rep, e)).ok()
    });
    Overrides {
        poll_interval,
        offline_grace,
        stall_timeout,
        alert_after,
        segment_duration,
        segment_size,
        filename,
    }
}

/// Parses a file name template and checks that no rendering can leave `output_dir`.
pub fn filename_template(text: &str) -> Result<Template, String> {
    if text.trim().is_empty() {
        return Err("must not be empty".into());
    }
    let t = Template::parse(text, FILENAME_FIELDS, TIME_FIELDS)?;
    let sample = t.render(|_, _| "x".into());
    if sample.starts_with('/') || sample.starts_with('\\') {
        return Err("must be relative to output_dir (remove the leading '/')".into());
    }
    if sample.contains('\\') {
        return Err("use '/' to separate folders".into());
    }
    let bad = Path::new(&sample)
        .components()
        .any(|c| !matches!(c, Component::Normal(_)));
    if bad
        || sample
            .split('/')
            .any(|c| c.is_empty() || c.starts_with('.'))
    {
        return Err(
            "folders in the template must be plain names (no '.', '..', empty or hidden parts)"
                .into(),
        );
    }
    Ok(t)
}

/// Secret from `cookie` or `cookie_file` in a section. It is sent as a `Cookie:` header, so it
/// must be one (one line of `name=value` pairs): anything else is refused here, by `check`,
/// rather than failing every request of the room later.
pub(super) fn read_cookie(
    sec: &mut Section<'_, '_>,
    rep: &mut Report<'_>,
    base: &Path,
) -> Option<Secret> {
    let cookie = sec.take("cookie");
    let file = sec.take("cookie_file");
    let usable = |secret: Secret, field: &Field<'_, '_>, rep: &mut Report<'_>| {
        if reqwest::header::HeaderValue::from_str(secret.expose()).is_ok() {
            return Some(secret);
        }
        // Never the value: it is a secret.
        field.fail(
            rep,
            "not usable as a Cookie header: it must be one line of name=value pairs \
             separated by \"; \" (no line breaks or control characters; a Netscape cookies.txt \
             is not supported)",
        );
        None
    };
    match (cookie, file) {
        (Some(c), Some(f)) => {
            f.fail(rep, "set either cookie or cookie_file, not both");
            c.str(rep);
            None
        }
        (Some(c), None) => {
            let secret = c
                .str(rep)
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(Secret::new)?;
            usable(secret, &c, rep)
        }
        (None, Some(f)) => {
            let p = base.join(f.str(rep)?);
            match std::fs::read_to_string(&p) {
                Ok(text) => {
                    let secret = Some(Secret::new(text.trim())).filter(|s| !s.is_empty())?;
                    usable(secret, &f, rep)
                }
                Err(e) => {
                    f.fail(rep, format!("cannot read {}: {e}", p.display()));
                    None
                }
            }
        }
        (None, None) => None,
    }
}

pub(super) struct Defaults {
    pub(super) poll_interval: Duration,
    pub(super) offline_grace: Duration,
    pub(super) stall_timeout: Duration,
    pub(super) alert_after: Duration,
    pub(super) segment_duration: Duration,
    pub(super) segment_size: u64,
    pub(super) filename: Template,
}

pub(super) fn read_room(
    mut sec: Section<'_, '_>,
    index: usize,
    defaults: &Defaults,
    platforms: &PlatformsConfig,
    base: &Path,
    rep: &mut Report<'_>,
) -> Option<RoomConfig> {
    let path = sec.path.clone();
    let url_field = sec.take("url");
    let forced = sec.take("platform").and_then(|f| {
        let s = f.str(rep)?;
        PlatformKind::parse(s).or_else(|| {
            f.fail(
                rep,
                format!("{s:?} is not a platform (bilibili, douyin, direct)"),
            );
            None
        })
    });
    let target = match url_field {
        None => {
            rep.error(
                &format!("{path}.url"),
                &sec.span,
                "missing; every room needs the URL of its live page or stream",
            );
            None
        }
        Some(f) => f.str(rep).and_then(|u| {
            platform::recognize(u, forced)
                .map_err(|e| f.fail(rep, e))
                .ok()
        }),
    };
    let name = sec.take("name").and_then(|f| {
        let s = f.string(rep)?;
        if s.trim().is_empty() {
            f.fail(
                rep,
                "must not be empty (leave it out to use the streamer's name)",
            );
            return None;
        }
        Some(s)
    });
    let enabled = sec
        .take("enabled")
        .and_then(|f| f.bool(rep))
        .unwrap_or(true);
    let o = read_overrides(&mut sec, rep);
    let quality_field = sec.take("quality");
    let formats_field = sec.take("formats");
    let codecs_field = sec.take("codecs");
    let cookie = read_cookie(&mut sec, rep, base);
    let known_kind = target.as_ref().map(|t| t.platform);
    let chat = super::chat::read_chat_keys(&mut sec, rep, known_kind);
    sec.finish(rep);
    let target = target?;
    let kind = target.platform;
    let plat = platforms.get(kind).cloned().unwrap_or_default();
    let quality = match quality_field {
        Some(f) => {
            let q = f.words(rep)?;
            kind.check_quality(&q).map_err(|e| f.fail(rep, e)).ok()?;
            if kind == PlatformKind::Direct
                && platform::direct::format_of(&target.url) == platform::StreamFormat::Flv
            {
                f.fail(
                    rep,
                    "an HTTP-FLV URL has a single quality; `quality` picks a variant of an HLS master playlist (.m3u8)",
                );
                return None;
            }
            q
        }
        None => plat
            .quality
            .clone()
            .unwrap_or_else(|| kind.default_quality()),
    };
    let formats = match formats_field {
        Some(f) => {
            let v = f.strings(rep)?;
            kind.check_formats(&v).map_err(|e| f.fail(rep, e)).ok()?;
            v
        }
        None => plat
            .formats
            .clone()
            .unwrap_or_else(|| kind.default_formats()),
    };
    let codecs = match codecs_field {
        Some(f) => super::read_codecs(kind, Some(f), rep)?,
        None => plat.codecs.clone().unwrap_or_default(),
    };
    let settings = RoomSettings {
        poll_interval: o.poll_interval.unwrap_or(defaults.poll_interval),
        offline_grace: o.offline_grace.unwrap_or(defaults.offline_grace),
        stall_timeout: o.stall_timeout.unwrap_or(defaults.stall_timeout),
        alert_after: o.alert_after.unwrap_or(defaults.alert_after),
        segment_duration: o.segment_duration.unwrap_or(defaults.segment_duration),
        segment_size: o.segment_size.unwrap_or(defaults.segment_size),
        filename: o.filename.unwrap_or_else(|| defaults.filename.clone()),
        quality,
        formats,
        codecs,
        cookie: cookie.or(plat.cookie.clone()),
        chat: super::ChatConfig::merged(kind, plat.chat, chat),
    };
    Some(RoomConfig {
        index,
        target,
        name,
        enabled,
        settings,
    })
}

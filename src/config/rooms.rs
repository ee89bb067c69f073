//! `[[rooms]]` and the settings a room may override: read, checked against its platform, and
//! merged over the top-level values and the defaults.

use std::path::{Component, Path};
use std::time::Duration;

use super::keys;
use super::raw::{Field, Report, Section};
use super::{FILENAME_FIELDS, PlatformsConfig, RoomConfig, RoomSettings, TIME_FIELDS};
use crate::platform::{self, PlatformKind};
use crate::template::Template;
use crate::util::secret::Secret;

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
    pub(super) cover: Option<bool>,
    pub(super) degraded_after: Option<Duration>,
    pub(super) rules: super::rules::RuleOverrides,
}

pub(super) fn read_overrides(sec: &mut Section<'_, '_>, rep: &mut Report<'_>) -> Overrides {
    Overrides {
        poll_interval: keys::POLL_INTERVAL.take(sec, rep),
        offline_grace: keys::OFFLINE_GRACE.take(sec, rep),
        stall_timeout: keys::STALL_TIMEOUT.take(sec, rep),
        alert_after: keys::ALERT_AFTER.take(sec, rep),
        segment_duration: keys::SEGMENT_DURATION.take(sec, rep),
        segment_size: keys::SEGMENT_SIZE.take(sec, rep),
        filename: sec.take(keys::FILENAME.name).and_then(|f| {
            let text = f.str(rep)?;
            filename_template(text).map_err(|e| f.fail(rep, e)).ok()
        }),
        cover: keys::COVER.take(sec, rep),
        degraded_after: keys::DEGRADED_AFTER.take(sec, rep),
        rules: super::rules::read_rules(sec, rep),
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
    let cookie = sec.take(keys::COOKIE.name);
    let file = sec.take(keys::COOKIE_FILE.name);
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

/// What a room gets for the settings it does not set: the top-level value, else the table's
/// default.
pub(super) struct Defaults {
    pub(super) poll_interval: Duration,
    pub(super) offline_grace: Duration,
    pub(super) stall_timeout: Duration,
    pub(super) alert_after: Duration,
    pub(super) segment_duration: Duration,
    pub(super) segment_size: u64,
    pub(super) filename: Template,
    /// The top-level `cover`, when written (a platform's value goes over it).
    pub(super) cover: Option<bool>,
    pub(super) degraded_after: Duration,
    pub(super) rules: super::rules::RecordRules,
}

impl Defaults {
    pub(super) fn over(top: Overrides) -> Self {
        Self {
            poll_interval: keys::POLL_INTERVAL.or_default(top.poll_interval),
            offline_grace: keys::OFFLINE_GRACE.or_default(top.offline_grace),
            stall_timeout: keys::STALL_TIMEOUT.or_default(top.stall_timeout),
            alert_after: keys::ALERT_AFTER.or_default(top.alert_after),
            segment_duration: keys::SEGMENT_DURATION.or_default(top.segment_duration),
            segment_size: keys::SEGMENT_SIZE.or_default(top.segment_size),
            filename: top.filename.unwrap_or_else(|| {
                filename_template(keys::FILENAME.kind.0).expect("default template is valid")
            }), // ok: constant
            cover: top.cover,
            degraded_after: keys::DEGRADED_AFTER.or_default(top.degraded_after),
            rules: top.rules.over(&super::rules::table_defaults()),
        }
    }
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
    let url_field = sec.take(keys::ROOM_URL.name);
    let forced = sec.take(keys::ROOM_PLATFORM.name).and_then(|f| {
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
    let name = sec.take(keys::ROOM_NAME.name).and_then(|f| {
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
    let enabled = keys::ENABLED.get(&mut sec, rep);
    let record = keys::RECORD.get(&mut sec, rep);
    let o = read_overrides(&mut sec, rep);
    let quality_field = sec.take(keys::QUALITY.name);
    let formats_field = sec.take(keys::FORMATS.name);
    let codecs_field = sec.take(keys::CODECS.name);
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
        Some(f) => super::platforms::read_codecs(kind, Some(f), rep)?,
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
        cover: o
            .cover
            .or(plat.cover)
            .or(defaults.cover)
            .unwrap_or(keys::COVER.kind.0),
        degraded_after: o.degraded_after.unwrap_or(defaults.degraded_after),
        rules: o.rules.over(&defaults.rules),
    };
    Some(RoomConfig {
        index,
        target,
        name,
        enabled,
        record,
        settings,
    })
}

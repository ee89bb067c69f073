//! `[platforms.bilibili]` and `[platforms.douyin]`: each platform's settings, checked with the
//! platform's own knowledge. The settings types belong to `platform`.

use std::path::Path;

use super::keys;
use super::raw::{Field, Report, Section};
use super::rooms::read_cookie;
use crate::platform::{PlatformConfig, PlatformKind, PlatformsConfig, same_base};

/// The `[platforms]` table; a platform without a section has the defaults.
pub(super) fn read_platforms(
    field: Option<Field<'_, '_>>,
    rep: &mut Report<'_>,
    base: &Path,
) -> PlatformsConfig {
    let Some(mut sec) = field.and_then(|f| f.section(rep)) else {
        return PlatformsConfig::default();
    };
    let bilibili = read_platform(PlatformKind::Bilibili, sec.take("bilibili"), rep, base);
    let douyin = read_platform(PlatformKind::Douyin, sec.take("douyin"), rep, base);
    sec.finish(rep);
    PlatformsConfig { bilibili, douyin }
}

fn read_platform(
    kind: PlatformKind,
    field: Option<Field<'_, '_>>,
    rep: &mut Report<'_>,
    base: &Path,
) -> PlatformConfig {
    let Some(mut sec) = field.and_then(|f| f.section(rep)) else {
        return PlatformConfig::default();
    };
    let api_base = sec.take(keys::API_BASE.name).and_then(|f| {
        let s = f.string(rep)?;
        match url::Url::parse(&s) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {
                // The platform's own base is the same as none (the example config spells it
                // out), for `check`, for reloads and for the routing of other hosts.
                let public = kind.default_api_base().is_some_and(|d| same_base(&s, d));
                (!public).then_some(s)
            }
            _ => {
                f.fail(rep, format!("{s:?} is not an http(s) base URL"));
                None
            }
        }
    });
    let cookie = read_cookie(&mut sec, rep, base);
    let quality = sec.take(keys::QUALITY.name).and_then(|f| {
        let q = f.words(rep)?;
        kind.check_quality(&q).map_err(|e| f.fail(rep, e)).ok()?;
        Some(q)
    });
    let formats = sec.take(keys::FORMATS.name).and_then(|f| {
        let v = f.strings(rep)?;
        kind.check_formats(&v).map_err(|e| f.fail(rep, e)).ok()?;
        Some(v)
    });
    let user_agent = read_user_agent(kind, &mut sec, rep);
    let codecs = read_codecs(kind, sec.take(keys::CODECS.name), rep);
    let (requests_per_second, burst) = read_budget(&mut sec, rep);
    let chat = super::chat::read_chat_keys(&mut sec, rep, Some(kind));
    let cover = keys::COVER.take(&mut sec, rep);
    sec.finish(rep);
    PlatformConfig {
        api_base,
        cookie,
        quality,
        formats,
        user_agent,
        codecs,
        requests_per_second,
        burst,
        chat,
        cover,
    }
}

/// `user_agent`: one header line. Douyin signs every API call for the browser the User-Agent
/// names and sends that browser's version beside it, so there it must name a Chrome version.
fn read_user_agent(
    kind: PlatformKind,
    sec: &mut Section<'_, '_>,
    rep: &mut Report<'_>,
) -> Option<String> {
    let f = sec.take(keys::USER_AGENT.name)?;
    let ua = f.string(rep)?;
    let ua = ua.trim().to_string();
    if let Err(why) = check_user_agent(kind, &ua) {
        f.fail(rep, why);
        return None;
    }
    Some(ua)
}

/// Why `ua` cannot be a platform's User-Agent, if it cannot.
fn check_user_agent(kind: PlatformKind, ua: &str) -> Result<(), String> {
    const MAX: usize = 512;
    if ua.is_empty() {
        return Err("is empty (remove the key for the built-in browser User-Agent)".into());
    }
    if ua.len() > MAX {
        return Err(format!("is longer than {MAX} characters"));
    }
    if let Some(c) = ua.chars().find(|c| !(' '..='~').contains(c)) {
        return Err(format!(
            "holds {c:?}: a User-Agent is one line of printable ASCII"
        ));
    }
    if kind == PlatformKind::Douyin && crate::platform::douyin::browser_version(ua).is_none() {
        return Err(format!(
            "{ua:?} names no Chrome version: Douyin's request signature and its \
             browser_version parameter are made for a Chromium browser's User-Agent \
             (\"... Chrome/156.0.0.0 Safari/537.36\")"
        ));
    }
    Ok(())
}

/// `codecs = ["avc", "hevc"]`, validated for the platform (lower case, as Bilibili names them).
pub(super) fn read_codecs(
    kind: PlatformKind,
    field: Option<Field<'_, '_>>,
    rep: &mut Report<'_>,
) -> Option<Vec<String>> {
    let f = field?;
    let v: Vec<String> = f
        .strings(rep)?
        .into_iter()
        .map(|c| c.trim().to_ascii_lowercase())
        .collect();
    kind.check_codecs(&v).map_err(|e| f.fail(rep, e)).ok()?;
    Some(v)
}

/// `requests_per_second` and `burst`: the platform's request budget.
fn read_budget(sec: &mut Section<'_, '_>, rep: &mut Report<'_>) -> (Option<f64>, Option<u32>) {
    use crate::platform::limiter::{MAX_BURST, MAX_PER_SECOND, MIN_PER_SECOND};
    let per_second = sec.take(keys::REQUESTS_PER_SECOND.name).and_then(|f| {
        let n = f.number(rep)?;
        if !(MIN_PER_SECOND..=MAX_PER_SECOND).contains(&n) {
            f.fail(
                rep,
                format!(
                    "{n} is out of range ({MIN_PER_SECOND} to {MAX_PER_SECOND} requests per second)"
                ),
            );
            return None;
        }
        Some(n)
    });
    let burst = sec.take(keys::BURST.name).and_then(|f| {
        let n = f.uint(rep, u64::from(MAX_BURST))?;
        if n == 0 {
            f.fail(rep, "must be at least 1 (requests sent at once)");
            return None;
        }
        u32::try_from(n).ok()
    });
    (per_second, burst)
}

//! The `liverec probe` lines for one Douyin lookup.

use super::{Douyin, QUALITIES, Trace, api, describe, user_has_ttwid};
use crate::platform::{PlatformError, RoomSpec};

impl Douyin {
    /// The `liverec probe` lines for one lookup (labels as Bilibili's where they mean the
    /// same: `login`, `quality`, `special`).
    pub(super) fn diagnosis(
        &self,
        spec: &RoomSpec,
        trace: &Trace,
        result: &Result<api::DyRoom, PlatformError>,
    ) -> Vec<(&'static str, String)> {
        let cookie = spec.cookie.as_ref();
        let mut out = Vec::new();
        out.push((
            "endpoint",
            match (trace.answered, result) {
                (Some(what), _) => format!("{what} answered"),
                (None, Err(e)) => format!("none answered: {e}"),
                (None, Ok(_)) => "none answered".into(),
            },
        ));
        out.push(("calls", trace.calls.join("; ")));
        out.push((
            "login",
            if cookie.is_some() {
                "own cookie configured (Douyin does not say whether it is logged in)".into()
            } else {
                "anonymous: no cookie configured".into()
            },
        ));
        let ttwid = if user_has_ttwid(cookie) {
            "own ttwid (from the configured cookie)".to_string()
        } else {
            match trace.ttwid {
                Some(from) => format!("generated ttwid, {}", from.describe()),
                None => "no ttwid (neither the home page nor the register endpoint gave one)"
                    .to_string(),
            }
        };
        out.push((
            "cookie",
            format!(
                "{ttwid}; odin_ttid generated; __ac_nonce random per request; hevc_supported=true"
            ),
        ));
        out.push((
            "signature",
            format!(
                "a_bogus signer present (SM3 + RC4, signed for the User-Agent below); msToken \
                 random, 184 characters; browser_version {}",
                self.ua.version
            ),
        ));
        out.push((
            "browser",
            format!(
                "{} ({})",
                self.ua.text,
                if self.ua.configured {
                    "[platforms.douyin] user_agent"
                } else {
                    "built in"
                }
            ),
        ));
        if let Ok(room) = result {
            out.push(("answer", describe(room)));
            out.push(("quality", self.quality_line(room, spec)));
            out.push(("special", special_line(room)));
            if let Some(why) = room.unrecordable() {
                out.push(("recordable", format!("no: {why}")));
            }
        }
        out
    }

    /// The quality wanted against the qualities on offer, and the stream recorded first.
    pub(super) fn quality_line(&self, room: &api::DyRoom, spec: &RoomSpec) -> String {
        let wanted = spec.quality.join(", ");
        if room.hidden.is_some() {
            return format!(
                "wanted {wanted}; nothing on offer: the live is not shown to this viewer"
            );
        }
        if !room.is_live() {
            return "not live: streams are offered only while live".into();
        }
        let mut offered: Vec<&str> = Vec::new();
        for s in &room.streams {
            if !offered.contains(&s.quality) {
                offered.push(s.quality);
            }
        }
        offered.sort_by_key(|q| {
            QUALITIES
                .iter()
                .position(|x| x == q)
                .unwrap_or(QUALITIES.len())
        });
        if offered.is_empty() {
            return format!("wanted {wanted}; the answer offers no stream URL");
        }
        let first = api::ordered(&room.streams, &spec.quality, &spec.formats)
            .into_iter()
            .next();
        let records = match first {
            Some(s) => {
                let below = spec
                    .quality
                    .first()
                    .is_some_and(|w| w != s.quality && !room.radio);
                format!(
                    "records {} {} first{}",
                    s.quality,
                    s.format_name(),
                    if below {
                        " (below the wanted quality)"
                    } else {
                        ""
                    }
                )
            }
            None => format!(
                "nothing to record in formats [{}]{}",
                spec.formats.join(", "),
                if room.streams.iter().all(|s| s.encrypted) {
                    " (every stream is encrypted)"
                } else {
                    ""
                }
            ),
        };
        format!("wanted {wanted}, offered {}; {records}", offered.join(", "))
    }
}

/// What kind of live this is, when it is not a plain one.
fn special_line(room: &api::DyRoom) -> String {
    if let Some(p) = &room.hidden {
        return format!("hidden from this viewer (\"{p}\")");
    }
    if room.is_live() && !room.streams.is_empty() && room.streams.iter().all(|s| s.encrypted) {
        return "encrypted: every stream is (a paid live?)".into();
    }
    if room.radio {
        return "a radio live: audio only, recorded from its audio stream".into();
    }
    "none".into()
}

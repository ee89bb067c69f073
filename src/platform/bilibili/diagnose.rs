//! `liverec probe`'s explanation of a Bilibili room: the login state, the quality wanted
//! against the one offered, the codecs on offer, special lives, and which call answered how.
//! It makes the same calls as the daemon, so what it says is what the daemon meets.

use super::api::{self, PlayInfo, Prefs};
use super::memory::Endpoint;
use super::{Bilibili, PLAY_URL_LEGACY};
use crate::platform::RoomSpec;

impl Bilibili {
    /// The lines of [`crate::platform::Platform::diagnose`].
    pub(super) async fn diagnose_lines(&self, room: &RoomSpec) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        self.wbi_keys().await;
        let login = self.wbi.lock().await.login.clone();
        let own = if room.cookie != self.cookie {
            " (for the platform's cookie; this room sets its own)"
        } else {
            ""
        };
        out.push((
            "login",
            match login {
                Some(l) if l.logged_in => format!("{}{own}", l.describe()),
                Some(_) => format!(
                    "anonymous: nav says not logged in; Bilibili caps anonymous viewers' quality{own}"
                ),
                None => "unknown: nav did not answer".to_string(),
            },
        ));
        let (status, status_via) = match self.status_via(room).await {
            Ok((s, via)) => (s, Some(via)),
            Err(e) => {
                out.push(("status", format!("unknown: {e}")));
                out.push(("signature", self.signature_line(None, None).await));
                return out;
            }
        };
        let mut play_via = None;
        if !status.live {
            out.push((
                "quality",
                "not live: streams are offered only while live".into(),
            ));
        } else {
            let prefs = Prefs::of(room);
            let first = api::first_qn(&room.quality);
            match self.play_info(room, first).await {
                Ok(Some((info, via))) => {
                    play_via = Some(via);
                    let special = match status.unrecordable.as_deref() {
                        Some(why) => why.to_string(),
                        None => "none".to_string(),
                    };
                    let types = if info.special_types.is_empty() {
                        String::new()
                    } else {
                        format!(" (all_special_types {:?})", info.special_types)
                    };
                    out.push(("special", format!("{special}{types}")));
                    let chosen = api::candidates(&info, &prefs).into_iter().next();
                    match (api::wanted(&info, &prefs), &chosen) {
                        (Some(w), Some(c)) => out.push((
                            "quality",
                            format!(
                                "wanted {}, offered {}{}",
                                info.qn_label(w),
                                info.qn_label(c.qn),
                                if api::capped(&info, &prefs).is_some() {
                                    " (capped)"
                                } else {
                                    ""
                                }
                            ),
                        )),
                        _ => out.push((
                            "quality",
                            "nothing on offer in the configured formats".into(),
                        )),
                    }
                    let pref = if room.codecs.is_empty() {
                        "default: avc first, hevc as the fallback".to_string()
                    } else {
                        format!("codecs = [{}]", room.codecs.join(", "))
                    };
                    out.push((
                        "codecs",
                        format!(
                            "offered: {}; {pref}{}",
                            codecs_on_offer(&info),
                            chosen
                                .map(|c| format!("; records {} qn {} first", c.codec, c.qn))
                                .unwrap_or_default()
                        ),
                    ));
                }
                Ok(None) => {
                    play_via = Some(PLAY_URL_LEGACY);
                    out.push((
                        "quality",
                        "only the legacy playUrl would answer: no choice of quality or codec"
                            .into(),
                    ));
                }
                Err(e) => out.push(("quality", format!("unknown: {e}"))),
            }
        }
        if status.live && !out.iter().any(|(k, _)| *k == "special") {
            out.push((
                "special",
                status.unrecordable.clone().unwrap_or_else(|| "none".into()),
            ));
        }
        out.push(("signature", self.signature_line(status_via, play_via).await));
        out
    }

    /// The `signature` line of [`crate::platform::Platform::diagnose`]: which calls answered,
    /// and how.
    async fn signature_line(&self, status_via: Option<&str>, play_via: Option<&str>) -> String {
        let have_keys = self.wbi.lock().await.keys.is_some();
        let mut parts = Vec::new();
        for (ep, via) in [(Endpoint::Info, status_via), (Endpoint::Play, play_via)] {
            let Some(via) = via else { continue };
            match self.signing.reason(ep) {
                Some(r) => parts.push(format!(
                    "{} refused signed calls ({r}): {via} answered",
                    ep.name()
                )),
                None => parts.push(format!("{via} answered")),
            }
        }
        let keys = if have_keys {
            "wbi keys from nav"
        } else {
            "no wbi keys (nav did not answer): calls went unsigned"
        };
        if parts.is_empty() {
            return format!("{keys}; no call answered");
        }
        format!("{keys}; {}", parts.join("; "))
    }
}

/// `avc qn 10000 (accepts 10000, 400)` for each codec on offer, in the answer's order.
fn codecs_on_offer(info: &PlayInfo) -> String {
    let mut seen: Vec<&str> = Vec::new();
    let mut parts = Vec::new();
    for s in &info.streams {
        if seen.contains(&s.codec.as_str()) {
            continue;
        }
        seen.push(&s.codec);
        let of_codec = info.streams.iter().filter(|x| x.codec == s.codec);
        let mut accept: Vec<u32> = of_codec
            .clone()
            .flat_map(|x| x.accept_qn.iter().copied())
            .collect();
        accept.sort_unstable_by(|a, b| b.cmp(a));
        accept.dedup();
        let best = of_codec.map(|x| x.current_qn).max().unwrap_or(0);
        let accept: Vec<String> = accept.iter().map(u32::to_string).collect();
        parts.push(format!(
            "{} qn {best} (accepts {})",
            s.codec,
            accept.join(", ")
        ));
    }
    if parts.is_empty() {
        "none".into()
    } else {
        parts.join(", ")
    }
}

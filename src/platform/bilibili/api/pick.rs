//! Choosing from a play answer what to record: the quality to ask for, and every stream URL in
//! the order to try, by a room's preferences.

use super::play::{BiliFormat, PlayInfo, PlayStream, UrlInfo, accept_of, is_mcdn};
use crate::platform::RoomSpec;

/// What a room asks for: qualities, formats and codecs in order of preference.
#[derive(Debug, Clone, Copy)]
pub struct Prefs<'a> {
    pub quality: &'a [String],
    pub formats: &'a [String],
    /// Empty: AVC first at any quality, HEVC as the fallback.
    pub codecs: &'a [String],
}

impl<'a> Prefs<'a> {
    pub(crate) fn of(room: &'a RoomSpec) -> Self {
        Self {
            quality: &room.quality,
            formats: &room.formats,
            codecs: &room.codecs,
        }
    }

    /// An entry whose codec the room listed (every entry, without a list).
    fn listed(&self, codec: &str) -> bool {
        self.codecs.is_empty() || self.codecs.iter().any(|c| c == codec)
    }

    /// Position in the codec preference; codecs not listed come after every listed one.
    fn codec_rank(&self, codec: &str) -> usize {
        if self.codecs.is_empty() {
            return match codec {
                "avc" => 0,
                "hevc" => 1,
                _ => 2,
            };
        }
        self.codecs
            .iter()
            .position(|c| c == codec)
            .unwrap_or(self.codecs.len())
    }

    fn format_rank(&self, format: BiliFormat) -> Option<usize> {
        self.formats.iter().position(|f| f == format.name())
    }
}

/// The qn to ask for first: the first number in the preference list, else 10000 (原画, the
/// source; the answer's `accept_qn` shows whether anything better exists).
pub(crate) fn first_qn(prefs: &[String]) -> u32 {
    match prefs.first().map(|p| p.parse::<u32>()) {
        Some(Ok(qn)) => qn,
        _ => 10000,
    }
}

/// The qn the preferences pick among those available: the first preference that is available
/// (`best` = the highest), else the highest available.
pub(crate) fn wanted_qn(prefs: &[String], accept: &[u32]) -> Option<u32> {
    let best = accept.iter().copied().max()?;
    for p in prefs {
        if p == "best" {
            return Some(best);
        }
        if let Ok(qn) = p.parse::<u32>() {
            if accept.contains(&qn) {
                return Some(qn);
            }
        }
    }
    Some(best)
}

/// The qn wanted among what the listed codecs offer.
pub(crate) fn wanted(info: &PlayInfo, prefs: &Prefs<'_>) -> Option<u32> {
    let listed = accept_of(info.streams.iter().filter(|s| prefs.listed(&s.codec)));
    wanted_qn(prefs.quality, &listed)
}

/// The qn to ask for again, when no entry of a listed codec carries the wanted one.
pub fn rerequest_qn(info: &PlayInfo, prefs: &Prefs<'_>) -> Option<u32> {
    let want = wanted(info, prefs)?;
    let served = info
        .streams
        .iter()
        .any(|s| prefs.listed(&s.codec) && s.current_qn == want);
    (!served).then_some(want)
}

/// The answer serves less than the qn it was asked for (the best entry of a listed codec is
/// below it): Bilibili capped the request.
pub(crate) fn served_below(info: &PlayInfo, prefs: &Prefs<'_>, asked: u32) -> bool {
    info.streams
        .iter()
        .filter(|s| prefs.listed(&s.codec))
        .map(|s| s.current_qn)
        .max()
        .is_some_and(|best| best < asked)
}

/// `(wanted, offered)` when the stream liverec would record first is below the quality the
/// preferences want among what its codec is offered in (with a `codecs` list: among what the
/// listed codecs are offered in). A room whose best is HEVC-only is not "capped" for a room
/// that records AVC.
pub(crate) fn capped(info: &PlayInfo, prefs: &Prefs<'_>) -> Option<(u32, u32)> {
    let first = candidates(info, prefs).into_iter().next()?;
    let want = wanted_for(info, prefs, &first.codec)?;
    (first.qn < want).then_some((want, first.qn))
}

/// The qn the preferences want for a stream of `codec`: among what that codec is offered in,
/// or with a `codecs` list among what the listed codecs are offered in (see [`capped`]).
pub(crate) fn wanted_for(info: &PlayInfo, prefs: &Prefs<'_>, codec: &str) -> Option<u32> {
    if prefs.codecs.is_empty() {
        wanted_qn(
            prefs.quality,
            &accept_of(info.streams.iter().filter(|s| s.codec == codec)),
        )
    } else {
        wanted(info, prefs)
    }
}

/// One stream URL to try.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    pub url: String,
    pub format: BiliFormat,
    pub qn: u32,
    pub codec: String,
    pub(crate) quality: String,
}

/// Every URL of an answer, in the order to try, formats not configured left out. Without a
/// `codecs` list: by the configured formats, AVC before HEVC (it plays everywhere). With one:
/// the wanted quality first (whatever the format), then by format; the listed codecs' order
/// breaks ties, and codecs not listed come after every listed one. Within an entry its hosts
/// go in the given order, `.mcdn.` hosts last.
pub fn candidates(info: &PlayInfo, prefs: &Prefs<'_>) -> Vec<Candidate> {
    let want = if prefs.codecs.is_empty() {
        None
    } else {
        wanted(info, prefs)
    };
    let mut entries: Vec<(usize, &PlayStream)> = info
        .streams
        .iter()
        .filter_map(|s| Some((prefs.format_rank(s.format)?, s)))
        .collect();
    entries.sort_by_key(|(format, s)| {
        (
            !prefs.listed(&s.codec),
            want.is_some_and(|w| s.current_qn != w),
            *format,
            prefs.codec_rank(&s.codec),
        )
    });
    let mut out: Vec<Candidate> = Vec::new();
    for (_, s) in entries {
        let mut hosts: Vec<&UrlInfo> = s.hosts.iter().collect();
        hosts.sort_by_key(|h| is_mcdn(&h.host));
        for h in hosts {
            let url = format!("{}{}{}", h.host.trim_end_matches('/'), s.base_url, h.extra);
            if out.iter().any(|c| c.url == url) {
                continue;
            }
            out.push(Candidate {
                url,
                format: s.format,
                qn: s.current_qn,
                codec: s.codec.clone(),
                quality: format!("{} {}", info.qn_label(s.current_qn), s.codec)
                    .trim()
                    .to_string(),
            });
        }
    }
    out
}

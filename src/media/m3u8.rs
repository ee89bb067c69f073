//! HLS playlists (RFC 8216): master playlists (variants) and media playlists (segments), parsed
//! from text with every URI resolved against the playlist's own URL. Pure: no IO.
//!
//! Bounded: a body over [`MAX_PLAYLIST_BYTES`], a line over [`MAX_LINE`], more than
//! [`MAX_SEGMENTS`] segments or [`MAX_VARIANTS`] variants, a duration that is negative, not a
//! number or over [`MAX_DURATION_S`], or a sequence number over [`MAX_SEQUENCE`] is an error,
//! never an allocation or an overflow. What only informs (titles, dates that do not parse,
//! unknown tags) is ignored rather than refused, as players do.
//!
//! Low-latency parts (`EXT-X-PART`, `EXT-X-PRELOAD-HINT`) and alternative renditions
//! (`EXT-X-MEDIA`, `EXT-X-I-FRAME-STREAM-INF`) are skipped: a recorder takes whole segments of
//! one variant.

use chrono::{DateTime, FixedOffset};
use url::Url;

mod values;
use values::{attributes, byterange, duration, get, parse_iv, sequence, short};

/// Largest playlist body accepted. Callers also cap the download with `http::read_capped`.
pub(crate) const MAX_PLAYLIST_BYTES: usize = 4 << 20;
/// Longest line (signed URIs can be long, but not this long).
pub(crate) const MAX_LINE: usize = 16 * 1024;
pub(crate) const MAX_SEGMENTS: usize = 10_000;
pub(crate) const MAX_VARIANTS: usize = 256;
/// Longest `EXTINF` or `EXT-X-TARGETDURATION` accepted, in seconds (real streams use 1-10 s).
pub(crate) const MAX_DURATION_S: f64 = 3600.0;
/// Largest media or discontinuity sequence number: far beyond any real stream (2^53 segments
/// of one second are 285 million years), and `sequence + index` can never overflow.
pub(crate) const MAX_SEQUENCE: u64 = 1 << 53;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub(crate) enum ParseError {
    #[error("not an HLS playlist: starts with {0}")]
    NotPlaylist(String),
    #[error("playlist larger than {0} bytes")]
    TooLarge(usize),
    #[error("line {0} is longer than {MAX_LINE} bytes")]
    LineTooLong(usize),
    #[error("more than {0} entries")]
    TooMany(usize),
    #[error("line {line}: {what}")]
    Bad { line: usize, what: String },
    #[error("the playlist lists both variants and media segments")]
    Mixed,
}

fn bad(line: usize, what: impl Into<String>) -> ParseError {
    ParseError::Bad {
        line,
        what: what.into(),
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Playlist {
    Master(Vec<Variant>),
    Media(MediaPlaylist),
}

/// One `EXT-X-STREAM-INF` entry of a master playlist.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Variant {
    pub(crate) uri: Url,
    /// Peak bits per second (0 when the playlist omits it).
    pub(crate) bandwidth: u64,
    pub(crate) average_bandwidth: Option<u64>,
    pub(crate) resolution: Option<(u32, u32)>,
    pub(crate) codecs: Option<String>,
    pub(crate) frame_rate: Option<f64>,
    /// Bilibili's quality number (`BILI-QN`), when present.
    pub(crate) qn: Option<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PlaylistType {
    Vod,
    Event,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct MediaPlaylist {
    /// `EXT-X-TARGETDURATION`, seconds (when missing: the longest segment, rounded up).
    pub(crate) target_duration: f64,
    /// Media sequence number of the first segment.
    pub(crate) media_sequence: u64,
    pub(crate) discontinuity_sequence: u64,
    /// `EXT-X-ENDLIST`: no segment will be added.
    pub(crate) ended: bool,
    pub(crate) playlist_type: Option<PlaylistType>,
    pub(crate) segments: Vec<MediaSegment>,
}

impl MediaPlaylist {
    /// Media sequence number of the last segment.
    pub(crate) fn last_sequence(&self) -> Option<u64> {
        self.segments.last().map(|s| s.sequence)
    }
}

/// A sub-range of a resource: `length` bytes from `offset`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct ByteRange {
    pub(crate) length: u64,
    pub(crate) offset: u64,
}

impl ByteRange {
    /// The HTTP `Range` header value. The parser refuses empty ranges and ranges that end past
    /// 2^64; a range built otherwise still gives a header, never an overflow.
    pub(crate) fn header(&self) -> String {
        let last = self.offset.saturating_add(self.length.saturating_sub(1));
        format!("bytes={}-{last}", self.offset)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum KeyMethod {
    Aes128,
    SampleAes,
    /// Anything else (`SAMPLE-AES-CTR`, vendor methods): not decryptable here.
    Other(String),
}

/// `EXT-X-KEY` (method `NONE` is represented by no key at all).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Key {
    pub(crate) method: KeyMethod,
    pub(crate) uri: Option<Url>,
    pub(crate) iv: Option<[u8; 16]>,
    /// `KEYFORMAT`; `None` means `identity`.
    pub(crate) keyformat: Option<String>,
}

/// `EXT-X-MAP`: the initialisation section (fMP4 `ftyp`+`moov`) the following segments need.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Map {
    pub(crate) uri: Url,
    pub(crate) byterange: Option<ByteRange>,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct MediaSegment {
    pub(crate) uri: Url,
    /// `EXTINF` seconds.
    pub(crate) duration: f64,
    pub(crate) sequence: u64,
    /// An `EXT-X-DISCONTINUITY` precedes this segment.
    pub(crate) discontinuity: bool,
    pub(crate) byterange: Option<ByteRange>,
    pub(crate) key: Option<Key>,
    pub(crate) map: Option<Map>,
    pub(crate) program_date_time: Option<DateTime<FixedOffset>>,
    /// `EXT-X-GAP`: the server says this segment is missing.
    pub(crate) gap: bool,
}

/// Parses a playlist body fetched from `base`.
pub(crate) fn parse(body: &[u8], base: &Url) -> Result<Playlist, ParseError> {
    if body.len() > MAX_PLAYLIST_BYTES {
        return Err(ParseError::TooLarge(MAX_PLAYLIST_BYTES));
    }
    let body = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
    let not_playlist = || ParseError::NotPlaylist(crate::http::sniff(body));
    if !body.starts_with(b"#EXTM3U") {
        return Err(not_playlist());
    }
    let text = std::str::from_utf8(body).map_err(|_| not_playlist())?;
    let mut p = Parser::new(base);
    for (i, raw) in text.split('\n').enumerate() {
        let n = i + 1;
        if raw.len() > MAX_LINE {
            return Err(ParseError::LineTooLong(n));
        }
        let line = raw.trim();
        if n == 1 {
            if line != "#EXTM3U" {
                return Err(not_playlist());
            }
            continue;
        }
        if line.is_empty() {
            continue;
        }
        p.line(n, line)?;
    }
    p.finish()
}

struct Parser<'a> {
    base: &'a Url,
    target_duration: Option<f64>,
    media_sequence: u64,
    discontinuity_sequence: u64,
    ended: bool,
    playlist_type: Option<PlaylistType>,
    segments: Vec<MediaSegment>,
    variants: Vec<Variant>,
    // State for the next segment.
    extinf: Option<f64>,
    discontinuity: bool,
    byterange: Option<(u64, Option<u64>)>,
    program_date_time: Option<DateTime<FixedOffset>>,
    gap: bool,
    // State that applies until changed.
    key: Option<Key>,
    map: Option<Map>,
    /// Where the next implicit byte range starts: (resource, offset).
    range_end: Option<(Url, u64)>,
    pending_variant: Option<(usize, Variant)>,
    /// A media playlist tag was seen (so an empty playlist is a media playlist).
    media_tags: bool,
}

impl<'a> Parser<'a> {
    fn new(base: &'a Url) -> Self {
        Self {
            base,
            target_duration: None,
            media_sequence: 0,
            discontinuity_sequence: 0,
            ended: false,
            playlist_type: None,
            segments: Vec::new(),
            variants: Vec::new(),
            extinf: None,
            discontinuity: false,
            byterange: None,
            program_date_time: None,
            gap: false,
            key: None,
            map: None,
            range_end: None,
            pending_variant: None,
            media_tags: false,
        }
    }

    fn resolve(&self, n: usize, uri: &str) -> Result<Url, ParseError> {
        let url = self
            .base
            .join(uri)
            .map_err(|e| bad(n, format!("bad URI {}: {e}", short(uri))))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(bad(
                n,
                format!("URI {} is not http(s)", short(url.as_str())),
            ));
        }
        Ok(url)
    }

    fn line(&mut self, n: usize, line: &str) -> Result<(), ParseError> {
        let Some(tag) = line.strip_prefix('#') else {
            return self.uri(n, line);
        };
        let (name, value) = match tag.split_once(':') {
            Some((name, value)) => (name, value.trim()),
            None => (tag, ""),
        };
        match name {
            "EXTINF" => {
                self.media_tags = true;
                let number = value.split(',').next().unwrap_or("").trim();
                self.extinf = Some(duration(n, "EXTINF", number)?);
            }
            "EXT-X-TARGETDURATION" => {
                self.media_tags = true;
                self.target_duration = Some(duration(n, name, value)?);
            }
            "EXT-X-MEDIA-SEQUENCE" => {
                self.media_tags = true;
                self.media_sequence = sequence(n, name, value)?;
            }
            "EXT-X-DISCONTINUITY-SEQUENCE" => {
                self.discontinuity_sequence = sequence(n, name, value)?;
            }
            "EXT-X-ENDLIST" => {
                self.media_tags = true;
                self.ended = true;
            }
            "EXT-X-PLAYLIST-TYPE" => {
                self.playlist_type = match value {
                    "VOD" => Some(PlaylistType::Vod),
                    "EVENT" => Some(PlaylistType::Event),
                    _ => return Err(bad(n, format!("unknown playlist type {}", short(value)))),
                };
            }
            "EXT-X-DISCONTINUITY" => self.discontinuity = true,
            "EXT-X-GAP" => self.gap = true,
            "EXT-X-BYTERANGE" => self.byterange = Some(byterange(n, value)?),
            "EXT-X-PROGRAM-DATE-TIME" => {
                // Informative only: a date that does not parse is dropped, not fatal.
                self.program_date_time = DateTime::parse_from_rfc3339(value).ok();
            }
            "EXT-X-KEY" => {
                self.media_tags = true;
                self.key = self.key_tag(n, value)?;
            }
            "EXT-X-MAP" => {
                self.media_tags = true;
                self.map = Some(self.map_tag(n, value)?);
            }
            "EXT-X-STREAM-INF" => {
                let v = self.variant_tag(n, value)?;
                self.pending_variant = Some((n, v));
            }
            // Everything else: comments, tags for players (START, INDEPENDENT-SEGMENTS,
            // VERSION), renditions and low-latency parts that a recorder does not use.
            _ => {}
        }
        Ok(())
    }

    fn uri(&mut self, n: usize, line: &str) -> Result<(), ParseError> {
        if let Some((_, mut variant)) = self.pending_variant.take() {
            if self.variants.len() >= MAX_VARIANTS {
                return Err(ParseError::TooMany(MAX_VARIANTS));
            }
            variant.uri = self.resolve(n, line)?;
            self.variants.push(variant);
            return Ok(());
        }
        let Some(duration) = self.extinf.take() else {
            return Err(bad(
                n,
                format!(
                    "{} is neither a tag nor a segment after #EXTINF",
                    short(line)
                ),
            ));
        };
        if self.segments.len() >= MAX_SEGMENTS {
            return Err(ParseError::TooMany(MAX_SEGMENTS));
        }
        let uri = self.resolve(n, line)?;
        let byterange = match self.byterange.take() {
            None => {
                self.range_end = None;
                None
            }
            Some((length, offset)) => {
                let offset = match offset {
                    Some(o) => o,
                    None => match &self.range_end {
                        Some((prev, end)) if *prev == uri => *end,
                        _ => {
                            return Err(bad(
                                n,
                                "EXT-X-BYTERANGE without an offset does not follow a range of \
                                 the same resource",
                            ));
                        }
                    },
                };
                let end = offset
                    .checked_add(length)
                    .ok_or_else(|| bad(n, "EXT-X-BYTERANGE overflows"))?;
                self.range_end = Some((uri.clone(), end));
                Some(ByteRange { length, offset })
            }
        };
        self.segments.push(MediaSegment {
            uri,
            duration,
            sequence: 0,
            discontinuity: std::mem::take(&mut self.discontinuity),
            byterange,
            key: self.key.clone(),
            map: self.map.clone(),
            program_date_time: self.program_date_time.take(),
            gap: std::mem::take(&mut self.gap),
        });
        Ok(())
    }

    fn key_tag(&self, n: usize, value: &str) -> Result<Option<Key>, ParseError> {
        let attrs = attributes(n, value)?;
        let method = get(&attrs, "METHOD").ok_or_else(|| bad(n, "EXT-X-KEY without METHOD"))?;
        let method = match method {
            "NONE" => return Ok(None),
            "AES-128" => KeyMethod::Aes128,
            "SAMPLE-AES" => KeyMethod::SampleAes,
            other => KeyMethod::Other(other.to_string()),
        };
        let uri = match get(&attrs, "URI") {
            // Key URIs of DRM methods (`skd://`, `data:`) are kept as they are: the recorder
            // refuses those methods with a clear message, not the whole playlist.
            Some(u) if method != KeyMethod::Aes128 => self.base.join(u).ok(),
            Some(u) => Some(self.resolve(n, u)?),
            None if method == KeyMethod::Aes128 => {
                return Err(bad(n, "EXT-X-KEY METHOD=AES-128 without URI"));
            }
            None => None,
        };
        let iv = match get(&attrs, "IV") {
            Some(iv) => Some(parse_iv(iv).ok_or_else(|| bad(n, format!("bad IV {}", short(iv))))?),
            None => None,
        };
        let keyformat = get(&attrs, "KEYFORMAT")
            .filter(|f| *f != "identity")
            .map(str::to_string);
        Ok(Some(Key {
            method,
            uri,
            iv,
            keyformat,
        }))
    }

    fn map_tag(&self, n: usize, value: &str) -> Result<Map, ParseError> {
        let attrs = attributes(n, value)?;
        let uri = get(&attrs, "URI").ok_or_else(|| bad(n, "EXT-X-MAP without URI"))?;
        let uri = self.resolve(n, uri)?;
        let byterange = match get(&attrs, "BYTERANGE") {
            Some(r) => {
                let (length, offset) = byterange(n, r)?;
                let offset = offset.unwrap_or(0);
                offset
                    .checked_add(length)
                    .ok_or_else(|| bad(n, "EXT-X-MAP BYTERANGE overflows"))?;
                Some(ByteRange { length, offset })
            }
            None => None,
        };
        Ok(Map { uri, byterange })
    }

    fn variant_tag(&self, n: usize, value: &str) -> Result<Variant, ParseError> {
        let attrs = attributes(n, value)?;
        let number = |name: &str| -> Result<Option<u64>, ParseError> {
            get(&attrs, name)
                .map(|v| {
                    v.parse::<u64>()
                        .map_err(|_| bad(n, format!("{name}={} is not a number", short(v))))
                })
                .transpose()
        };
        let resolution = get(&attrs, "RESOLUTION").and_then(|r| {
            let (w, h) = r.split_once(['x', 'X'])?;
            Some((w.parse().ok()?, h.parse().ok()?))
        });
        let frame_rate = get(&attrs, "FRAME-RATE")
            .and_then(|f| f.parse::<f64>().ok())
            .filter(|f| f.is_finite() && *f > 0.0);
        Ok(Variant {
            uri: self.base.clone(),
            bandwidth: number("BANDWIDTH")?.unwrap_or(0),
            average_bandwidth: number("AVERAGE-BANDWIDTH")?,
            resolution,
            codecs: get(&attrs, "CODECS").map(str::to_string),
            frame_rate,
            qn: get(&attrs, "BILI-QN").and_then(|q| q.parse().ok()),
        })
    }

    fn finish(mut self) -> Result<Playlist, ParseError> {
        if let Some((n, _)) = self.pending_variant {
            return Err(bad(n, "EXT-X-STREAM-INF is not followed by a URI"));
        }
        if !self.variants.is_empty() {
            if !self.segments.is_empty() || self.media_tags {
                return Err(ParseError::Mixed);
            }
            return Ok(Playlist::Master(self.variants));
        }
        for (i, s) in self.segments.iter_mut().enumerate() {
            // Both are bounded (MAX_SEQUENCE, MAX_SEGMENTS): no overflow.
            s.sequence = self.media_sequence + i as u64;
        }
        let target_duration = self.target_duration.unwrap_or_else(|| {
            self.segments
                .iter()
                .map(|s| s.duration)
                .fold(0.0, f64::max)
                .ceil()
        });
        Ok(Playlist::Media(MediaPlaylist {
            target_duration,
            media_sequence: self.media_sequence,
            discontinuity_sequence: self.discontinuity_sequence,
            ended: self.ended,
            playlist_type: self.playlist_type,
            segments: self.segments,
        }))
    }
}

/// A quality preference [`pick_variant`] understands: `best`, `source`, `origin`, `worst`, a
/// height such as `720p`, or a number (a Bilibili `BILI-QN`).
pub(crate) fn is_variant_preference(p: &str) -> bool {
    matches!(p, "best" | "source" | "origin" | "worst")
        || p.parse::<u32>().is_ok()
        || p.strip_suffix('p')
            .is_some_and(|h| h.parse::<u32>().is_ok())
}

/// Picks the variant for a quality preference list. `best`, `source` and `origin` mean the
/// highest bandwidth, `worst` the lowest; `720p` the best variant at most 720 lines high; a
/// number matches a variant's `BILI-QN`. The first preference that matches wins; when none
/// does, the best variant.
pub(crate) fn pick_variant<'v>(variants: &'v [Variant], prefs: &[String]) -> Option<&'v Variant> {
    let rank = |v: &&Variant| {
        (
            v.bandwidth,
            v.resolution.map_or(0, |(w, h)| u64::from(w) * u64::from(h)),
        )
    };
    let best = || variants.iter().max_by_key(rank);
    for pref in prefs {
        match pref.as_str() {
            "best" | "source" | "origin" => return best(),
            "worst" => return variants.iter().min_by_key(rank),
            p => {
                if let Ok(qn) = p.parse::<u32>() {
                    if let Some(v) = variants.iter().find(|v| v.qn == Some(qn)) {
                        return Some(v);
                    }
                } else if let Some(Ok(lines)) = p.strip_suffix('p').map(str::parse::<u32>) {
                    let fits = variants
                        .iter()
                        .filter(|v| v.resolution.is_some_and(|(_, h)| h <= lines))
                        .max_by_key(rank);
                    if fits.is_some() {
                        return fits;
                    }
                }
            }
        }
    }
    best()
}

#[cfg(test)]
mod tests;

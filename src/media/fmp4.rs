//! Fragmented MP4 (CMAF) timestamps: finding and rebasing the decode times of the fragments of
//! a segment. Pure: bytes in, positions and values out; the rewrite works in place, never
//! changes a box size, and changes nothing but the time fields.
//!
//! - [`tracks`] reads the init section (`moov`): each track's id (`tkhd`, and `trex` for
//!   tracks only `mvex` names) and timescale (`mdia/mdhd`).
//! - [`scan`] walks the top-level boxes of a segment and, in each `moof`, every `traf`: its
//!   `tfhd` (track id) and `tfdt` (`baseMediaDecodeTime`, 32-bit in version 0, 64-bit in
//!   version 1). Boxes that carry a time of their own are rewritten the same way, so they keep
//!   pointing at the same media: `sidx` (`earliest_presentation_time`, in its own timescale),
//!   `prft` (`media_time`, in its reference track's timescale: the wall clock it pairs with is
//!   kept) and `emsg` version 1 (`presentation_time`, in its own timescale; version 0 is relative
//!   to the segment and needs nothing). Dropping them instead would change the segment's size
//!   and the `sidx` byte offsets of what follows.
//! - [`earliest`] is the offset of a file: the earliest decode time, in seconds, over all the
//!   tracks of its first segment, kept as an exact fraction ([`Offset`]).
//! - [`rebase`] subtracts it from every field, converted to each field's timescale with exact
//!   integer arithmetic (rounded to the nearest tick).
//!
//! Bounded and panic-free on any input: box sizes are checked against the data (32-bit sizes,
//! 64-bit `largesize`, size 0 = to the end), nothing is allocated from a declared size, and the
//! walk descends only `moov/trak/mdia`, `moov/mvex` and `moof/traf`.

use std::cmp::Ordering;
use std::fmt;

/// A box: type, and where its payload (after the header) lies in the data.
#[derive(Debug, Clone, Copy)]
struct BoxAt {
    kind: [u8; 4],
    /// Offset of the box (its header) in the whole data.
    at: usize,
    /// Offset of the payload in the whole data.
    start: usize,
    end: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error(String);

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

fn err(s: impl Into<String>) -> Error {
    Error(s.into())
}

fn name(kind: &[u8; 4]) -> String {
    kind.iter()
        .map(|&b| if b.is_ascii_graphic() { b as char } else { '.' })
        .collect()
}

/// The boxes of `data[from..to]`, in order.
fn boxes(data: &[u8], from: usize, to: usize) -> Result<Vec<BoxAt>, Error> {
    let mut out = Vec::new();
    let mut p = from;
    while p < to {
        let rest = to - p;
        if rest < 8 {
            return Err(err(format!("{rest} stray bytes at offset {p}")));
        }
        let size32 = be32(data, p).ok_or_else(|| err("truncated box"))?;
        let kind: [u8; 4] = data
            .get(p + 4..p + 8)
            .and_then(|k| k.try_into().ok())
            .ok_or_else(|| err("truncated box"))?;
        let (header, size) = match size32 {
            0 => (8, rest as u64),
            1 => {
                let large = be64(data, p + 8).filter(|_| rest >= 16).ok_or_else(|| {
                    err(format!(
                        "box {} at offset {p}: truncated largesize",
                        name(&kind)
                    ))
                })?;
                (16, large)
            }
            n => (8, u64::from(n)),
        };
        if size < header as u64 || size > rest as u64 {
            return Err(err(format!(
                "box {} at offset {p} declares {size} bytes, {rest} are left",
                name(&kind)
            )));
        }
        let end = p + size as usize;
        out.push(BoxAt {
            kind,
            at: p,
            start: p + header,
            end,
        });
        p = end;
    }
    Ok(out)
}

fn be32(data: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(data.get(at..at + 4)?.try_into().ok()?))
}

fn be64(data: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_be_bytes(data.get(at..at + 8)?.try_into().ok()?))
}

/// Reads a field of `wide` (8) or 4 bytes at `at`, which must lie before `end`.
fn field(data: &[u8], at: usize, wide: bool, end: usize) -> Option<u64> {
    let n = if wide { 8 } else { 4 };
    if at.checked_add(n)? > end {
        return None;
    }
    if wide {
        be64(data, at)
    } else {
        be32(data, at).map(u64::from)
    }
}

/// Each track's id and timescale, from an init section.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tracks {
    /// (track id, timescale); timescale 0 when the track has no usable `mdhd`.
    pub(crate) tracks: Vec<(u32, u32)>,
}

impl Tracks {
    pub(crate) fn timescale(&self, track: u32) -> Option<u32> {
        self.tracks
            .iter()
            .find(|t| t.0 == track)
            .map(|t| t.1)
            .filter(|&ts| ts != 0)
    }
}

/// The tracks of the first `moov` in `data` (an init section, or a self-initialising segment).
pub fn tracks(data: &[u8]) -> Result<Tracks, Error> {
    let top = boxes(data, 0, data.len())?;
    let moov = top
        .iter()
        .find(|b| &b.kind == b"moov")
        .ok_or_else(|| err("no moov box"))?;
    moov_tracks(data, moov)
}

fn moov_tracks(data: &[u8], moov: &BoxAt) -> Result<Tracks, Error> {
    let mut out = Tracks::default();
    for b in boxes(data, moov.start, moov.end)? {
        match &b.kind {
            b"trak" => {
                let mut id = None;
                let mut timescale = 0;
                for c in boxes(data, b.start, b.end)? {
                    match &c.kind {
                        b"tkhd" => {
                            // version/flags, creation and modification times (32 or 64 bits).
                            let v1 = data.get(c.start) == Some(&1);
                            let at = c.start + if v1 { 20 } else { 12 };
                            id = field(data, at, false, c.end).map(|v| v as u32);
                        }
                        b"mdia" => {
                            for m in boxes(data, c.start, c.end)? {
                                if &m.kind == b"mdhd" {
                                    let v1 = data.get(m.start) == Some(&1);
                                    let at = m.start + if v1 { 20 } else { 12 };
                                    timescale = field(data, at, false, m.end).unwrap_or(0) as u32;
                                }
                            }
                        }
                        _ => {}
                    }
                }
                let id = id.ok_or_else(|| err("a trak without a usable tkhd"))?;
                match out.tracks.iter_mut().find(|t| t.0 == id) {
                    Some(t) => t.1 = timescale,
                    None => out.tracks.push((id, timescale)),
                }
            }
            b"mvex" => {
                for c in boxes(data, b.start, b.end)? {
                    if &c.kind == b"trex" {
                        if let Some(id) = field(data, c.start + 4, false, c.end) {
                            // A trex names a track; its timescale comes from its trak.
                            if !out.tracks.iter().any(|t| t.0 == id as u32) {
                                out.tracks.push((id as u32, 0));
                            }
                        }
                    }
                }
            }
            _ => {}
        }
    }
    if out.tracks.is_empty() {
        return Err(err("the moov box has no track"));
    }
    Ok(out)
}

/// A copy of an init section whose edit lists no longer delay the whole presentation.
/// Packagers put a stream that does not start at 0 into fMP4 with decode times from 0 and an
/// empty edit (an `elst` entry with media time -1) on every track holding the delay; once the
/// fragments are rebased, that delay would still make every file start late. The delay common
/// to all tracks is taken off their leading empty edits; what differs between tracks (an audio
/// track starting 44 ms after the video) is A/V sync and stays, as do the other edits. No box
/// changes size. `None` when nothing needs changing (a common delay under a second, see
/// below), or the init section cannot be read.
pub fn without_start_delay(init: &[u8]) -> Option<Vec<u8>> {
    // Each track's leading empty edits: (offset of the duration field, width, duration).
    let mut tracks: Vec<Vec<(usize, usize, u64)>> = Vec::new();
    let within = |parent: &BoxAt, kind: &[u8; 4]| -> Option<Vec<BoxAt>> {
        Some(
            boxes(init, parent.start, parent.end)
                .ok()?
                .into_iter()
                .filter(|b| &b.kind == kind)
                .collect(),
        )
    };
    let top = boxes(init, 0, init.len()).ok()?;
    let moov = top.iter().find(|b| &b.kind == b"moov")?;
    for trak in within(moov, b"trak")? {
        let mut empty = Vec::new();
        if let Some(elst) = within(&trak, b"edts")?
            .first()
            .and_then(|e| within(e, b"elst")?.into_iter().next())
        {
            let wide = init.get(elst.start) == Some(&1);
            let (entry, width) = if wide { (20, 8) } else { (12, 4) };
            let count = field(init, elst.start + 4, false, elst.end)?;
            let mut at = elst.start + 8;
            for _ in 0..count {
                if at + entry > elst.end {
                    break;
                }
                let media_time = field(init, at + width, wide, elst.end)?;
                if media_time != if wide { u64::MAX } else { u64::from(u32::MAX) } {
                    break;
                }
                empty.push((at, width, field(init, at, wide, elst.end)?));
                at += entry;
            }
        }
        tracks.push(empty);
    }
    let common = tracks
        .iter()
        .map(|t| t.iter().map(|e| e.2).sum::<u64>())
        .min()?;
    // Edit durations count in the movie timescale. Delays under a second are the usual start
    // offsets (B-frame reordering, audio priming) that players expect: only a stream that
    // was packaged from the middle of a broadcast is moved.
    let mvhd = within(moov, b"mvhd")?.into_iter().next()?;
    let at = mvhd.start
        + if init.get(mvhd.start) == Some(&1) {
            20
        } else {
            12
        };
    let timescale = field(init, at, false, mvhd.end)?;
    if timescale == 0 || common < timescale {
        return None;
    }
    let mut out = init.to_vec();
    for track in &tracks {
        let mut left = common;
        for &(at, width, duration) in track {
            let take = duration.min(left);
            let value = duration - take;
            if width == 8 {
                out[at..at + 8].copy_from_slice(&value.to_be_bytes());
            } else {
                out[at..at + 4].copy_from_slice(&(value as u32).to_be_bytes());
            }
            left -= take;
        }
    }
    Some(out)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    /// A `traf`'s `tfdt` of this track.
    Tfdt(u32),
    Sidx,
    Prft,
    Emsg,
}

/// One time field of a segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeField {
    pub kind: FieldKind,
    /// Offset of the field in the segment.
    pub at: usize,
    /// 64-bit (version 1) or 32-bit.
    pub wide: bool,
    pub timescale: u32,
    pub value: u64,
}

/// Every time field of a segment, in byte order. `tracks` comes from the init section; a
/// segment carrying its own `moov` uses that one from there on.
pub fn scan(data: &[u8], tracks: Option<&Tracks>) -> Result<Vec<TimeField>, Error> {
    let mut own: Option<Tracks> = None;
    let mut out = Vec::new();
    let mut moofs = 0;
    for b in boxes(data, 0, data.len())? {
        match &b.kind {
            b"moov" => own = Some(moov_tracks(data, &b)?),
            b"moof" => {
                moofs += 1;
                let t = own
                    .as_ref()
                    .or(tracks)
                    .ok_or_else(|| err("a moof without an init section"))?;
                moof(data, &b, t, &mut out)?;
            }
            b"sidx" => {
                // version/flags, reference_ID, timescale, earliest_presentation_time.
                let wide = data.get(b.start) == Some(&1);
                let timescale = field(data, b.start + 8, false, b.end)
                    .ok_or_else(|| err("truncated sidx"))? as u32;
                let at = b.start + 12;
                let value = field(data, at, wide, b.end).ok_or_else(|| err("truncated sidx"))?;
                if timescale != 0 {
                    out.push(TimeField {
                        kind: FieldKind::Sidx,
                        at,
                        wide,
                        timescale,
                        value,
                    });
                }
            }
            b"prft" => {
                // version/flags, reference_track_ID, ntp_timestamp (64), media_time.
                let wide = data.get(b.start) == Some(&1);
                let track = field(data, b.start + 4, false, b.end)
                    .ok_or_else(|| err("truncated prft"))? as u32;
                let at = b.start + 16;
                let value = field(data, at, wide, b.end).ok_or_else(|| err("truncated prft"))?;
                // A prft about a track we do not know is left as it is (it only informs).
                let t = own.as_ref().or(tracks);
                if let Some(timescale) = t.and_then(|t| t.timescale(track)) {
                    out.push(TimeField {
                        kind: FieldKind::Prft,
                        at,
                        wide,
                        timescale,
                        value,
                    });
                }
            }
            b"emsg" if data.get(b.start) == Some(&1) => {
                // version/flags, timescale, presentation_time (64), ...
                let timescale = field(data, b.start + 4, false, b.end)
                    .ok_or_else(|| err("truncated emsg"))? as u32;
                let at = b.start + 8;
                let value = field(data, at, true, b.end).ok_or_else(|| err("truncated emsg"))?;
                if timescale != 0 {
                    out.push(TimeField {
                        kind: FieldKind::Emsg,
                        at,
                        wide: true,
                        timescale,
                        value,
                    });
                }
            }
            _ => {}
        }
    }
    if moofs == 0 {
        return Err(err("no moof box"));
    }
    Ok(out)
}

fn moof(data: &[u8], moof: &BoxAt, tracks: &Tracks, out: &mut Vec<TimeField>) -> Result<(), Error> {
    for traf in boxes(data, moof.start, moof.end)? {
        if &traf.kind != b"traf" {
            continue;
        }
        let mut track = None;
        let mut tfdt = None;
        for c in boxes(data, traf.start, traf.end)? {
            match &c.kind {
                b"tfhd" => {
                    track = Some(
                        field(data, c.start + 4, false, c.end)
                            .ok_or_else(|| err("truncated tfhd"))? as u32,
                    );
                }
                b"tfdt" => {
                    let wide = match data.get(c.start) {
                        Some(0) => false,
                        Some(1) => true,
                        v => return Err(err(format!("tfdt version {v:?}"))),
                    };
                    let at = c.start + 4;
                    let value =
                        field(data, at, wide, c.end).ok_or_else(|| err("truncated tfdt"))?;
                    tfdt = Some((at, wide, value));
                }
                _ => {}
            }
        }
        let track = track.ok_or_else(|| err("a traf without tfhd"))?;
        // A traf without tfdt has no time of its own to rewrite.
        if let Some((at, wide, value)) = tfdt {
            let timescale = tracks.timescale(track).ok_or_else(|| {
                err(format!(
                    "track {track} has no timescale in the init section"
                ))
            })?;
            out.push(TimeField {
                kind: FieldKind::Tfdt(track),
                at,
                wide,
                timescale,
                value,
            });
        }
    }
    Ok(())
}

/// A file's offset, in seconds: `value / timescale`, exactly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Offset {
    pub value: u64,
    pub(crate) timescale: u32,
}

impl Offset {
    #[cfg(test)]
    pub(crate) const ZERO: Offset = Offset {
        value: 0,
        timescale: 1,
    };

    pub(crate) fn seconds(&self) -> f64 {
        self.value as f64 / f64::from(self.timescale.max(1))
    }

    /// The offset in ticks of `timescale`, rounded to the nearest tick.
    pub fn ticks(&self, timescale: u32) -> u64 {
        let den = u128::from(self.timescale.max(1));
        let num = u128::from(self.value) * u128::from(timescale);
        let t = (2 * num + den) / (2 * den);
        u64::try_from(t).unwrap_or(u64::MAX)
    }

    fn cmp_time(&self, other: &Offset) -> Ordering {
        (u128::from(self.value) * u128::from(other.timescale))
            .cmp(&(u128::from(other.value) * u128::from(self.timescale)))
    }
}

/// The earliest `tfdt` of `fields`, in seconds, over all tracks: the offset that puts a file
/// whose first segment these are at 0. `None` without any `tfdt`.
pub fn earliest(fields: &[TimeField]) -> Option<Offset> {
    fields
        .iter()
        .filter(|f| matches!(f.kind, FieldKind::Tfdt(_)))
        .map(|f| Offset {
            value: f.value,
            timescale: f.timescale,
        })
        .min_by(Offset::cmp_time)
}

/// Subtracts `offset` from every field of `fields` in `data`, the bytes they were found in.
/// A field that would go below 0 (a fragment that starts before the file's first one, which a
/// well-formed stream never has) is clamped at 0 rather than wrapped to a huge time: MP4 decode
/// times are unsigned. A field outside `data` is skipped.
pub fn rebase(data: &mut [u8], fields: &[TimeField], offset: Offset) {
    for f in fields {
        let v = f.value.saturating_sub(offset.ticks(f.timescale));
        if f.wide {
            if let Some(d) = data.get_mut(f.at..f.at + 8) {
                d.copy_from_slice(&v.to_be_bytes());
            }
        } else if let Some(d) = data.get_mut(f.at..f.at + 4) {
            // Smaller than the 32-bit value it replaces.
            d.copy_from_slice(&(v as u32).to_be_bytes());
        }
    }
}

mod audio_only;

pub(crate) use audio_only::AudioOnly;

#[cfg(test)]
mod tests;

//! Dropping the video of fragmented MP4 (CMAF) HLS, for `audio_only` recordings: the init
//! section loses the video tracks (`moov/trak` with a `vide` handler, and their `mvex/trex`);
//! each fragment's `moof` loses their `traf`, its `mdat` their samples, and the data offsets of
//! the audio runs (`trun`) are rewritten to where their samples now are. A `sidx` is left out
//! (the sizes it indexes change); every other box is kept as it is. Pure: bytes in, bytes out.
//!
//! Fragments whose runs the rewrite cannot place (absolute `base_data_offset`s, a run without a
//! data offset, samples outside the `mdat` that follows) are an error: the caller records the
//! segment whole rather than guess.

use super::{BoxAt, Error, be32, boxes, err, field};

/// `tfhd` flags.
const BASE_DATA_OFFSET: u32 = 0x1;
const SAMPLE_DESCRIPTION: u32 = 0x2;
const DEFAULT_DURATION: u32 = 0x8;
const DEFAULT_SIZE: u32 = 0x10;
const DEFAULT_BASE_IS_MOOF: u32 = 0x2_0000;
/// `trun` flags.
const DATA_OFFSET: u32 = 0x1;
const FIRST_SAMPLE_FLAGS: u32 = 0x4;
const SAMPLE_DURATION: u32 = 0x100;
const SAMPLE_SIZE: u32 = 0x200;
const SAMPLE_FLAGS: u32 = 0x400;
const SAMPLE_CTO: u32 = 0x800;

/// The filter's memory: the latest init section as received, and what it became.
#[derive(Debug, Default, Clone)]
pub(crate) struct AudioOnly {
    init: Option<(Vec<u8>, Vec<u8>)>,
    video: Vec<u32>,
}

impl AudioOnly {
    /// The init section without its video tracks (the same bytes as last time for the same
    /// init section).
    pub(crate) fn init(&mut self, init: &[u8]) -> Result<Vec<u8>, Error> {
        if let Some((raw, done)) = &self.init {
            if raw == init {
                return Ok(done.clone());
            }
        }
        // An init section that cannot be read leaves the segments whole too.
        self.init = None;
        self.video.clear();
        let video = video_tracks(init)?;
        let done = init_without(init, &video)?;
        self.video = video;
        self.init = Some((init.to_vec(), done.clone()));
        Ok(done)
    }

    /// A media segment without the video tracks the latest init section named.
    pub(crate) fn segment(&self, data: &[u8]) -> Result<Vec<u8>, Error> {
        segment_without(data, &self.video)
    }
}

fn raw<'d>(data: &'d [u8], b: &BoxAt) -> &'d [u8] {
    &data[b.at..b.end]
}

fn put_box(out: &mut Vec<u8>, kind: &[u8; 4], payload: &[u8]) -> Result<(), Error> {
    let size = u32::try_from(payload.len() + 8).map_err(|_| err("a box over 4 GiB"))?;
    out.extend_from_slice(&size.to_be_bytes());
    out.extend_from_slice(kind);
    out.extend_from_slice(payload);
    Ok(())
}

/// A `trak`'s id (`tkhd`) and whether it is video (`mdia/hdlr` handler `vide`).
fn trak(data: &[u8], t: &BoxAt) -> Result<(Option<u32>, bool), Error> {
    let (mut id, mut video) = (None, false);
    for c in boxes(data, t.start, t.end)? {
        match &c.kind {
            b"tkhd" => {
                let v1 = data.get(c.start) == Some(&1);
                let at = c.start + if v1 { 20 } else { 12 };
                id = field(data, at, false, c.end).map(|v| v as u32);
            }
            b"mdia" => {
                for m in boxes(data, c.start, c.end)? {
                    if &m.kind == b"hdlr" {
                        video |= data.get(m.start + 8..m.start + 12) == Some(b"vide");
                    }
                }
            }
            _ => {}
        }
    }
    Ok((id, video))
}

/// The ids of the video tracks of an init section.
fn video_tracks(init: &[u8]) -> Result<Vec<u32>, Error> {
    let mut out = Vec::new();
    for b in boxes(init, 0, init.len())? {
        if &b.kind == b"moov" {
            for t in boxes(init, b.start, b.end)? {
                if &t.kind == b"trak" {
                    if let (Some(id), true) = trak(init, &t)? {
                        out.push(id);
                    }
                }
            }
        }
    }
    Ok(out)
}

fn init_without(init: &[u8], drop: &[u32]) -> Result<Vec<u8>, Error> {
    let mut out = Vec::with_capacity(init.len());
    for b in boxes(init, 0, init.len())? {
        if &b.kind != b"moov" {
            out.extend_from_slice(raw(init, &b));
            continue;
        }
        let mut moov = Vec::new();
        for c in boxes(init, b.start, b.end)? {
            match &c.kind {
                b"trak" if trak(init, &c)?.0.is_some_and(|id| drop.contains(&id)) => {}
                b"mvex" => {
                    let mut mvex = Vec::new();
                    for e in boxes(init, c.start, c.end)? {
                        let id = field(init, e.start + 4, false, e.end).map(|v| v as u32);
                        if &e.kind == b"trex" && id.is_some_and(|id| drop.contains(&id)) {
                            continue;
                        }
                        mvex.extend_from_slice(raw(init, &e));
                    }
                    put_box(&mut moov, b"mvex", &mvex)?;
                }
                _ => moov.extend_from_slice(raw(init, &c)),
            }
        }
        put_box(&mut out, b"moov", &moov)?;
    }
    Ok(out)
}

/// One track fragment: its bytes, and for each of its runs where its data offset field is
/// (from the `traf`'s start) and which bytes of the segment its samples are.
struct Traf {
    track: u32,
    runs: Vec<(usize, std::ops::Range<usize>)>,
}

fn read_traf(data: &[u8], t: &BoxAt, moof_at: usize, first: bool) -> Result<Traf, Error> {
    let mut track = None;
    let mut default_size = 0u64;
    let mut runs = Vec::new();
    for c in boxes(data, t.start, t.end)? {
        let flags = be32(data, c.start).map_or(0, |v| v & 0x00FF_FFFF);
        match &c.kind {
            b"tfhd" => {
                track = field(data, c.start + 4, false, c.end).map(|v| v as u32);
                if flags & BASE_DATA_OFFSET != 0 {
                    return Err(err("a tfhd with an absolute base data offset"));
                }
                if flags & DEFAULT_BASE_IS_MOOF == 0 && !first {
                    return Err(err("a second traf whose data follows the first's"));
                }
                let mut at = c.start + 8;
                for (bit, len) in [(SAMPLE_DESCRIPTION, 4), (DEFAULT_DURATION, 4)] {
                    if flags & bit != 0 {
                        at += len;
                    }
                }
                if flags & DEFAULT_SIZE != 0 {
                    default_size = field(data, at, false, c.end).unwrap_or(0);
                }
            }
            b"trun" => {
                if flags & DATA_OFFSET == 0 {
                    return Err(err("a trun without a data offset"));
                }
                let count = field(data, c.start + 4, false, c.end).unwrap_or(0);
                let offset_at = c.start + 8;
                let offset = be32(data, offset_at).ok_or_else(|| err("truncated trun"))? as i32;
                let mut at = offset_at + 4;
                if flags & FIRST_SAMPLE_FLAGS != 0 {
                    at += 4;
                }
                let per_sample = [SAMPLE_DURATION, SAMPLE_SIZE, SAMPLE_FLAGS, SAMPLE_CTO]
                    .iter()
                    .filter(|b| flags & **b != 0)
                    .count()
                    * 4;
                let mut size = 0u64;
                for _ in 0..count {
                    if at + per_sample > c.end {
                        return Err(err("a trun shorter than its sample count"));
                    }
                    size += if flags & SAMPLE_SIZE != 0 {
                        let skip = if flags & SAMPLE_DURATION != 0 { 4 } else { 0 };
                        u64::from(be32(data, at + skip).unwrap_or(0))
                    } else {
                        default_size
                    };
                    at += per_sample;
                }
                let start = i64::try_from(moof_at)
                    .ok()
                    .and_then(|m| usize::try_from(m + i64::from(offset)).ok())
                    .ok_or_else(|| err("a trun's data offset points before the data"))?;
                let end = usize::try_from(size)
                    .ok()
                    .and_then(|s| start.checked_add(s))
                    .filter(|e| *e <= data.len())
                    .ok_or_else(|| err("a trun's samples run past the segment"))?;
                runs.push((offset_at - t.at, start..end));
            }
            _ => {}
        }
    }
    let track = track.ok_or_else(|| err("a traf without a tfhd"))?;
    Ok(Traf { track, runs })
}

fn segment_without(data: &[u8], drop: &[u32]) -> Result<Vec<u8>, Error> {
    if drop.is_empty() {
        return Ok(data.to_vec());
    }
    let top = boxes(data, 0, data.len())?;
    let mut out = Vec::with_capacity(data.len() / 4);
    let mut i = 0;
    while let Some(b) = top.get(i) {
        i += 1;
        match &b.kind {
            b"sidx" => {}
            b"moof" => {
                let mdat = top
                    .get(i)
                    .filter(|m| &m.kind == b"mdat")
                    .ok_or_else(|| err("a moof without its mdat"))?;
                i += 1;
                moof_without(data, b, mdat, drop, &mut out)?;
            }
            _ => out.extend_from_slice(raw(data, b)),
        }
    }
    Ok(out)
}

/// Writes the fragment `moof` + `mdat` without the tracks in `drop`.
fn moof_without(
    data: &[u8],
    moof: &BoxAt,
    mdat: &BoxAt,
    drop: &[u32],
    out: &mut Vec<u8>,
) -> Result<(), Error> {
    let children = boxes(data, moof.start, moof.end)?;
    let mut kept: Vec<(&BoxAt, Option<Traf>)> = Vec::new();
    let mut first = true;
    let mut dropping = false;
    for c in &children {
        if &c.kind == b"traf" {
            let t = read_traf(data, c, moof.at, first)?;
            first = false;
            if drop.contains(&t.track) {
                dropping = true;
                continue;
            }
            for (_, r) in &t.runs {
                if r.start < mdat.start || r.end > mdat.end {
                    return Err(err("a trun's samples are outside the mdat"));
                }
            }
            kept.push((c, Some(t)));
        } else {
            kept.push((c, None));
        }
    }
    if !dropping {
        out.extend_from_slice(raw(data, moof));
        out.extend_from_slice(raw(data, mdat));
        return Ok(());
    }
    let moof_size: usize = 8 + kept.iter().map(|(c, _)| c.end - c.at).sum::<usize>();
    // The mdat header that follows the new moof: its samples start right after it.
    let mut next = moof_size + 8;
    let mut payload = Vec::new();
    let mut body = Vec::with_capacity(moof_size);
    for (c, traf) in &kept {
        let start = body.len();
        body.extend_from_slice(raw(data, c));
        for (field_at, run) in traf.iter().flat_map(|t| t.runs.iter()) {
            let offset = u32::try_from(next).map_err(|_| err("a fragment over 4 GiB"))?;
            body[start + field_at..start + field_at + 4].copy_from_slice(&offset.to_be_bytes());
            next += run.len();
            payload.extend_from_slice(&data[run.clone()]);
        }
    }
    put_box(out, b"moof", &body)?;
    put_box(out, b"mdat", &payload)
}

#[cfg(test)]
mod tests;

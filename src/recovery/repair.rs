//! Repairing files left by a crash (and any FLV a user hands to `liverec repair`).
//!
//! liverec's own FLV files are fixed in place: the torn last tag is cut off and the reserved
//! metadata is rewritten with the real duration, size and keyframe index; no second copy of a
//! multi-gigabyte file is needed. Anything else is re-muxed through the FLV pipeline, which
//! resyncs over garbage, repairs timestamps and splits at spliced headers. TS files are cut to
//! whole packets and fMP4 files to whole boxes.

use std::fs::{File, OpenOptions};
use std::io::{self, BufReader, Read, Seek, SeekFrom};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::media::flv::meta::Metadata;
use crate::media::flv::tag::{self, PREV_SIZE, TAG_HEADER, TagKind};
use crate::segment::files::{Progress, SegmentFiles, SegmentSpec, WriterEvent};
use crate::segment::part::{PART_SUFFIX, rename_no_replace, split_part_name};
use crate::template::Template;
use crate::writer::flv::file::{FlvFile, META_BODY_AT};
use crate::writer::flv::{FlvPipeline, Limits};
use crate::writer::pipeline::Pipeline;

const MAX_TAG: usize = crate::media::flv::parser::DEFAULT_MAX_TAG;
/// The most a crash can tear off the end of one of our files: one buffered write of whole
/// tags, or one large tag written through. A bad tag followed by more than this is damage in
/// the middle (a power cut's hole, a flipped sector): cutting there would throw away all that
/// follows, so such a file is re-muxed instead, which resyncs past the damage.
const TORN_TAIL_MAX: u64 = 2 << 20;

/// A file a repair produced, and its size.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Repaired {
    pub(crate) path: PathBuf,
    pub(crate) bytes: u64,
    /// True when the file was re-muxed into new file(s) rather than fixed in place.
    pub(crate) remuxed: bool,
}

fn invalid(msg: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg.to_string())
}

/// Repairs a `.part` and gives it its final name (never replacing a file). Returns the
/// resulting files; none when nothing recoverable was in it (the `.part` is then removed).
pub(crate) fn finalize_part(part: &Path) -> io::Result<Vec<Repaired>> {
    let (stem, ext) =
        split_part_name(part).ok_or_else(|| invalid("not a <name>.<ext>.part file"))?;
    let fixed = match ext.as_str() {
        "flv" => match fix_flv_in_place(part)? {
            Some(len) => Some(len),
            None => {
                // Free the name for the re-muxed file; the source stays a `.part`, so a crash
                // during the re-mux is picked up again at the next start.
                let src_stem = PathBuf::from(format!("{}.src", stem.display()));
                let src = rename_no_replace(part, &src_stem, &format!("flv{PART_SUFFIX}"))?;
                let out = remux_flv(&src, &stem)?;
                std::fs::remove_file(&src)?;
                return Ok(out);
            }
        },
        "ts" => Some(cut_to_whole(part, ts_whole_len)?),
        "mp4" => Some(cut_to_whole(part, mp4_whole_len)?),
        _ => Some(std::fs::metadata(part)?.len()),
    };
    let bytes = fixed.unwrap_or(0);
    if bytes == 0 {
        std::fs::remove_file(part)?;
        return Ok(Vec::new());
    }
    let path = rename_no_replace(part, &stem, &ext)?;
    Ok(vec![Repaired {
        path,
        bytes,
        remuxed: false,
    }])
}

/// `liverec repair FILE`: a `.part` is repaired and renamed; a finished FLV of liverec's is
/// fixed in place; any other FLV is re-muxed into `<name>.repaired.flv` (the original stays).
pub(crate) fn repair_file(path: &Path) -> io::Result<Vec<Repaired>> {
    if path.to_string_lossy().ends_with(PART_SUFFIX) {
        return finalize_part(path);
    }
    let name = path.to_string_lossy();
    if !name.to_ascii_lowercase().ends_with(".flv") {
        return Err(invalid("only .flv files and .part files can be repaired"));
    }
    if let Some(bytes) = fix_flv_in_place(path)? {
        return Ok(vec![Repaired {
            path: path.to_path_buf(),
            bytes,
            remuxed: false,
        }]);
    }
    let stem = PathBuf::from(format!("{}.repaired", &name[..name.len() - 4]));
    remux_flv(path, &stem)
}

/// Cuts a file to the length `whole` says is made of complete units.
fn cut_to_whole(path: &Path, whole: fn(&mut File, u64) -> io::Result<u64>) -> io::Result<u64> {
    let mut f = OpenOptions::new().read(true).write(true).open(path)?;
    let len = f.metadata()?.len();
    let keep = whole(&mut f, len)?;
    if keep < len {
        f.set_len(keep)?;
    }
    f.sync_all()?;
    Ok(keep)
}

/// MPEG-TS: whole 188-byte packets.
fn ts_whole_len(_: &mut File, len: u64) -> io::Result<u64> {
    Ok(len - len % 188)
}

/// fMP4: whole top-level boxes.
fn mp4_whole_len(f: &mut File, len: u64) -> io::Result<u64> {
    let mut at = 0u64;
    let mut head = [0u8; 16];
    while at + 8 <= len {
        f.read_exact_at(&mut head[..8], at)?;
        let mut size = u64::from(u32::from_be_bytes([head[0], head[1], head[2], head[3]]));
        if size == 1 {
            if at + 16 > len {
                break;
            }
            f.read_exact_at(&mut head[8..16], at + 8)?;
            size = u64::from_be_bytes(head[8..16].try_into().map_err(|_| invalid("box size"))?);
        } else if size == 0 {
            size = len - at;
        }
        if size < 8 || at + size > len {
            break;
        }
        at += size;
    }
    Ok(at)
}

/// Fixes one of liverec's FLV files in place. `None` when the file is not liverec's layout.
/// The metadata is computed as the recording computes it ([`FlvFile`]), from the tags found.
pub(crate) fn fix_flv_in_place(path: &Path) -> io::Result<Option<u64>> {
    let file = OpenOptions::new().read(true).write(true).open(path)?;
    let len = file.metadata()?.len();
    let mut head = [0u8; META_BODY_AT as usize];
    if len < head.len() as u64 {
        return Ok(None);
    }
    file.read_exact_at(&mut head, 0)?;
    if &head[..3] != b"FLV" || u32::from_be_bytes([head[5], head[6], head[7], head[8]]) != 9 {
        return Ok(None);
    }
    let (t, size, _, _) = tag::decode_header(&head[13..]);
    if TagKind::from_byte(t) != Some(TagKind::Script)
        || size > 4 << 20
        || META_BODY_AT + size as u64 > len
    {
        return Ok(None);
    }
    let mut body = vec![0u8; size];
    file.read_exact_at(&mut body, META_BODY_AT)?;
    let Some((meta, capacity)) = Metadata::decode_ours(&body) else {
        return Ok(None);
    };
    let mut flv = FlvFile::on_disk(meta, capacity, size);
    let end = walk_tags(&file, len, &mut flv)?;
    if len - end > TORN_TAIL_MAX {
        tracing::warn!(
            file = %path.display(),
            "damaged tag at byte {end} with {} bytes after it: re-muxing to keep what follows",
            len - end
        );
        return Ok(None);
    }
    if end < len {
        tracing::info!(file = %path.display(), "cut {} bytes of an incomplete tag", len - end);
        file.set_len(end)?;
    }
    let Some(encoded) = flv.finish(end) else {
        return Ok(None);
    };
    file.write_all_at(&encoded, META_BODY_AT)?;
    file.sync_all()?;
    Ok(Some(end))
}

/// Walks tags from the first one after the header, noting each in `flv`, and stops at the
/// first that is not whole. Returns where the last whole tag ends.
fn walk_tags(file: &File, len: u64, flv: &mut FlvFile) -> io::Result<u64> {
    let mut r = BufReader::with_capacity(256 << 10, file);
    r.seek(SeekFrom::Start(13))?;
    let mut at = 13u64;
    let mut h = [0u8; TAG_HEADER];
    let mut first = [0u8; 5];
    loop {
        if at + TAG_HEADER as u64 > len || r.read_exact(&mut h).is_err() {
            break;
        }
        let (t, size, ts, stream) = tag::decode_header(&h);
        let Some(kind) = TagKind::from_byte(t) else {
            break;
        };
        let end = at + (TAG_HEADER + size + PREV_SIZE) as u64;
        if size > MAX_TAG || stream != 0 || end > len {
            break;
        }
        let peek = size.min(first.len());
        r.read_exact(&mut first[..peek])?;
        r.seek_relative((size - peek) as i64)?;
        let mut prev = [0u8; PREV_SIZE];
        r.read_exact(&mut prev)?;
        if u32::from_be_bytes(prev) as usize != TAG_HEADER + size {
            break;
        }
        flv.note(tag::info(kind, &first[..peek]), i64::from(ts), at);
        at = end;
    }
    Ok(at)
}

/// Re-muxes any FLV through the pipeline into `<stem>.flv` (and `_1`, `_2`... if the stream
/// has to be split, e.g. at a spliced header). Bounded memory: the file is read in chunks.
pub(crate) fn remux_flv(src: &Path, stem: &Path) -> io::Result<Vec<Repaired>> {
    let dir = stem.parent().unwrap_or(Path::new(".")).to_path_buf();
    let name = stem
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| invalid("file name is not UTF-8"))?;
    let escaped = name.replace('{', "{{").replace('}', "}}");
    let template = Template::parse(&escaped, &[], &[]).map_err(|e| invalid(&e))?;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let spec = SegmentSpec::plain(dir, template);
    let mut out = SegmentFiles::new(spec, tx, Arc::new(Progress::default()));
    let mut pipeline = FlvPipeline::new(Limits::default());
    let mut input = File::open(src)?;
    let mut buf = vec![0u8; 256 << 10];
    let fail = |e: crate::segment::files::WriteError| io::Error::other(e.to_string());
    loop {
        let n = input.read(&mut buf)?;
        if n == 0 {
            break;
        }
        pipeline.push(&buf[..n], &mut out).map_err(fail)?;
    }
    pipeline.close(&mut out).map_err(fail)?;
    let mut done = Vec::new();
    while let Ok(ev) = rx.try_recv() {
        if let Some(s) = match ev {
            WriterEvent::Closed(e) => e.segment,
            _ => None,
        } {
            done.push(Repaired {
                path: s.path,
                bytes: s.bytes,
                remuxed: true,
            });
        }
    }
    Ok(done)
}

#[cfg(test)]
mod tests;

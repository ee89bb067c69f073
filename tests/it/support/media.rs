//! Checks recordings with ffmpeg/ffprobe, the tools users will judge them with.

#![allow(dead_code)]

use std::path::Path;
use std::process::Command;

fn tool(name: &str) -> Command {
    let mut c = Command::new(name);
    c.arg("-hide_banner");
    c
}

/// Decodes the whole file; returns what ffmpeg printed at level error (empty = clean).
pub fn decode_errors(path: &Path) -> String {
    let out = tool("ffmpeg")
        .args(["-nostats", "-v", "error", "-i"])
        .arg(path)
        .args(["-f", "null", "-"])
        .output()
        .expect("ffmpeg must be installed (apt-get install ffmpeg); .ci/run installs it");
    let mut text = String::from_utf8_lossy(&out.stderr).into_owned();
    if !out.status.success() {
        text.push_str(&format!("\nexit status {}", out.status));
    }
    text
}

/// (pts_time, is_keyframe) of the first packets of a stream (`v` or `a`).
pub fn first_packets(path: &Path, stream: &str, n: usize) -> Vec<(f64, bool)> {
    let out = tool("ffprobe")
        .args([
            "-v",
            "error",
            "-select_streams",
            &format!("{stream}:0"),
            "-show_entries",
            "packet=pts_time,flags",
            "-of",
            "csv=p=0",
            "-read_intervals",
        ])
        .arg(format!("%+#{n}"))
        .arg(path)
        .output()
        .expect("ffprobe must be installed");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let (t, f) = l.split_once(',')?;
            Some((t.parse().ok()?, f.contains('K')))
        })
        .collect()
}

/// Container duration in seconds as ffprobe reports it.
pub fn duration(path: &Path) -> f64 {
    let out = tool("ffprobe")
        .args([
            "-v",
            "error",
            "-show_entries",
            "format=duration",
            "-of",
            "csv=p=0",
        ])
        .arg(path)
        .output()
        .expect("ffprobe must be installed");
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .unwrap_or(0.0)
}

/// Start time in seconds as ffprobe reports it (its earliest PTS).
pub fn start_time(path: &Path) -> f64 {
    let out = tool("ffprobe")
        .args([
            "-v",
            "error",
            "-show_entries",
            "format=start_time",
            "-of",
            "csv=p=0",
        ])
        .arg(path)
        .output()
        .expect("ffprobe must be installed");
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .unwrap_or(0.0)
}

/// Number of packets per stream type, counted by ffprobe.
pub fn packet_count(path: &Path, stream: &str) -> usize {
    let out = tool("ffprobe")
        .args([
            "-v",
            "error",
            "-select_streams",
            &format!("{stream}:0"),
            "-count_packets",
            "-show_entries",
            "stream=nb_read_packets",
            "-of",
            "csv=p=0",
        ])
        .arg(path)
        .output()
        .expect("ffprobe must be installed");
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .unwrap_or(0)
}

/// One packet as ffprobe demuxes it.
#[derive(Debug, Clone, PartialEq)]
pub struct Packet {
    pub stream: u64,
    pub pts: i64,
    pub dts: i64,
    pub duration: i64,
    pub size: String,
    pub flags: String,
    /// CRC32 of the packet's payload.
    pub hash: String,
}

/// Every packet of a file, with a hash of its data.
pub fn packets(path: &Path) -> Vec<Packet> {
    let out = tool("ffprobe")
        .args(["-v", "error", "-show_data_hash", "CRC32", "-show_entries"])
        .arg("packet=stream_index,pts,dts,duration,size,flags,data_hash")
        .args(["-of", "json"])
        .arg(path)
        .output()
        .expect("ffprobe must be installed");
    assert!(out.status.success(), "ffprobe {}", path.display());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("ffprobe JSON");
    let int = |p: &serde_json::Value, k: &str| p[k].as_i64().unwrap_or(i64::MIN);
    let text = |p: &serde_json::Value, k: &str| p[k].as_str().unwrap_or_default().to_string();
    v["packets"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|p| Packet {
                    stream: p["stream_index"].as_u64().unwrap_or(u64::MAX),
                    pts: int(p, "pts"),
                    dts: int(p, "dts"),
                    duration: int(p, "duration"),
                    size: text(p, "size"),
                    flags: text(p, "flags"),
                    hash: text(p, "data_hash"),
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The recording holds exactly the served packets (same payloads, sizes, flags, durations, in
/// the same order), each stream moved back in time by one constant amount (within a tick:
/// ffmpeg interpolates the timestamps of audio frames that share a PES header from the
/// absolute time). Returns the shift of each stream, in its time base.
pub fn assert_same_packets(recorded: &Path, served: &[u8], ext: &str) -> Vec<i64> {
    let tmp = tempfile::Builder::new()
        .suffix(&format!(".{ext}"))
        .tempfile()
        .unwrap();
    std::fs::write(tmp.path(), served).unwrap();
    let want = packets(tmp.path());
    let got = packets(recorded);
    assert_eq!(
        got.len(),
        want.len(),
        "{}: packet count",
        recorded.display()
    );
    assert!(!got.is_empty());
    let mut shift: Vec<Option<i64>> = Vec::new();
    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
        let strip = |p: &Packet| {
            (
                p.stream,
                p.size.clone(),
                p.flags.clone(),
                p.duration,
                p.hash.clone(),
            )
        };
        assert_eq!(strip(g), strip(w), "{}: packet {i}", recorded.display());
        let s = g.stream as usize;
        if shift.len() <= s {
            shift.resize(s + 1, None);
        }
        let d = w.dts - g.dts;
        let first = *shift[s].get_or_insert(d);
        assert!(
            (d - first).abs() <= 1 && (w.pts - g.pts - first).abs() <= 1,
            "{}: packet {i} moved by {d} / {}, stream {s} by {first}",
            recorded.display(),
            w.pts - g.pts
        );
    }
    shift.into_iter().map(|s| s.unwrap_or(0)).collect()
}

/// A recorded TS file is the served segments with every PCR/PTS/DTS moved back by one offset
/// (modulo 2^33) and nothing else changed; its earliest clock is 0.
pub fn assert_ts_rebased(recorded: &[u8], served: &[u8]) {
    use liverec::media::ts;
    assert_eq!(recorded.len(), served.len(), "recording != served segments");
    let got = ts::scan(recorded, &mut ts::TsState::new()).clocks;
    let want = ts::scan(served, &mut ts::TsState::new()).clocks;
    assert_eq!(got.len(), want.len());
    assert!(!got.is_empty());
    assert_eq!(ts::earliest(&got), Some(0), "the file's clock starts at 0");
    let off = ts::earliest(&want).unwrap();
    let mut at = std::collections::HashSet::new();
    for (g, w) in got.iter().zip(&want) {
        assert_eq!((g.at, g.kind), (w.at, w.kind));
        assert_eq!(
            g.value,
            (w.value + ts::WRAP - off) % ts::WRAP,
            "{g:?} / {w:?}"
        );
        at.extend(g.at);
    }
    let other = recorded
        .iter()
        .zip(served)
        .enumerate()
        .find(|(i, (a, b))| a != b && !at.contains(i));
    assert!(
        other.is_none(),
        "a byte other than a timestamp differs: {other:?}"
    );
}

/// A recorded fMP4 file (init + fragments) is the served one with every decode time moved
/// back by one offset in seconds (per track, rounded to its timescale) and nothing else
/// changed; its earliest decode time is 0.
pub fn assert_fmp4_rebased(recorded: &[u8], served: &[u8]) {
    use liverec::media::fmp4;
    assert_eq!(
        recorded.len(),
        served.len(),
        "recording != init + served fragments"
    );
    let got = fmp4::scan(recorded, None).expect("recording readable");
    let want = fmp4::scan(served, None).expect("served readable");
    assert_eq!(got.len(), want.len());
    let off = fmp4::earliest(&want).expect("decode times");
    assert_eq!(fmp4::earliest(&got).map(|o| o.value), Some(0));
    let mut at = std::collections::HashSet::new();
    for (g, w) in got.iter().zip(&want) {
        assert_eq!((g.at, g.kind, g.wide), (w.at, w.kind, w.wide));
        assert_eq!(
            g.value,
            w.value.saturating_sub(off.ticks(w.timescale)),
            "{g:?} / {w:?}"
        );
        at.extend(g.at..g.at + if g.wide { 8 } else { 4 });
    }
    let other = recorded
        .iter()
        .zip(served)
        .enumerate()
        .find(|(i, (a, b))| a != b && !at.contains(i));
    assert!(
        other.is_none(),
        "a byte other than a time field differs: {other:?}"
    );
}

/// (pts_time, dts_time) of the first packet of a stream (`v` or `a`).
pub fn first_times(path: &Path, stream: &str) -> Option<(f64, f64)> {
    let out = tool("ffprobe")
        .args([
            "-v",
            "error",
            "-select_streams",
            &format!("{stream}:0"),
            "-show_entries",
            "packet=pts_time,dts_time",
            "-of",
            "csv=p=0",
            "-read_intervals",
            "%+#1",
        ])
        .arg(path)
        .output()
        .expect("ffprobe must be installed");
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text.lines().find(|l| !l.trim().is_empty())?;
    let mut v = line.split(',');
    Some((v.next()?.parse().ok()?, v.next()?.parse().ok()?))
}

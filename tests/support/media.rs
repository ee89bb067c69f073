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

/// Start time in seconds as ffprobe reports it (HLS recordings keep the timestamps they were
/// served with).
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

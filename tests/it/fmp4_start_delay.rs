//! An fMP4 packager that holds a stream's start offset in the init section's edit list (an
//! empty edit, as ffmpeg writes with `-output_ts_offset`): liverec's files must still start at
//! timestamp 0. The stream is made here with ffmpeg, the tool the tests already depend on.

use std::path::Path;
use std::process::Command;

use liverec::media::fmp4;

fn start_time(path: &Path) -> f64 {
    let out = Command::new("ffprobe")
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
        .unwrap_or(f64::NAN)
}

/// Start time of each stream (video first, as ffmpeg muxed them).
fn stream_starts(path: &Path) -> Vec<f64> {
    let out = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-show_entries",
            "stream=start_time",
            "-of",
            "csv=p=0",
        ])
        .arg(path)
        .output()
        .expect("ffprobe must be installed");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect()
}

#[test]
fn an_edit_list_delay_is_removed_from_each_files_init_section() {
    let dir = tempfile::tempdir().unwrap();
    let src = format!(
        "{}/tests/fixtures/media/flv_640x360_20s.flv",
        env!("CARGO_MANIFEST_DIR")
    );
    let status = Command::new("ffmpeg")
        .args([
            "-hide_banner",
            "-loglevel",
            "error",
            "-y",
            "-i",
            &src,
            "-t",
            "6",
            "-c",
            "copy",
        ])
        .args([
            "-output_ts_offset",
            "3600",
            "-f",
            "hls",
            "-hls_time",
            "2",
            "-hls_segment_type",
            "fmp4",
        ])
        .args([
            "-hls_fmp4_init_filename",
            "init.mp4",
            "-hls_segment_filename",
        ])
        .arg(dir.path().join("seg_%03d.m4s"))
        .arg(dir.path().join("live.m3u8"))
        .status()
        .expect("ffmpeg must be installed");
    assert!(status.success());
    let init = std::fs::read(dir.path().join("init.mp4")).unwrap();
    let mut seg = std::fs::read(dir.path().join("seg_001.m4s")).unwrap();
    let tracks = fmp4::tracks(&init).unwrap();
    let fields = fmp4::scan(&seg, Some(&tracks)).unwrap();
    let offset = fmp4::earliest(&fields).unwrap();
    fmp4::rebase(&mut seg, &fields, offset);

    // With the packager's init section the rebased file still starts an hour in...
    let as_served = dir.path().join("as_served.mp4");
    std::fs::write(&as_served, [init.as_slice(), &seg].concat()).unwrap();
    assert!(
        start_time(&as_served) > 3000.0,
        "the fixture must hold its offset in the edit list"
    );
    // ...with liverec's copy it starts at 0, and decodes cleanly.
    let fixed = fmp4::without_start_delay(&init).expect("an empty edit to clear");
    assert_eq!(fixed.len(), init.len(), "no box changes size");
    let recorded = dir.path().join("recorded.mp4");
    std::fs::write(&recorded, [fixed.as_slice(), &seg].concat()).unwrap();
    let t = start_time(&recorded);
    assert!(t.abs() < 0.2, "start_time {t}");
    // A/V sync is the same: the streams moved together.
    let (before, after) = (stream_starts(&as_served), stream_starts(&recorded));
    assert_eq!(before.len(), 2);
    assert!(
        ((before[1] - before[0]) - (after[1] - after[0])).abs() < 0.002,
        "{before:?} -> {after:?}"
    );
    let errors = crate::support::media::decode_errors(&recorded);
    assert!(errors.trim().is_empty(), "{errors}");
    // An init section without a delay is left alone.
    assert!(fmp4::without_start_delay(&fixed).is_none());
    let plain = std::fs::read(format!(
        "{}/tests/fixtures/media/hls_fmp4/init.mp4",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    assert!(fmp4::without_start_delay(&plain).is_none());
}

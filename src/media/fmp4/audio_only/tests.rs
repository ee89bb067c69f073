use std::process::Command;

use super::*;

const INIT: &[u8] = include_bytes!("../../../../tests/fixtures/media/hls_fmp4/init.mp4");
const SEG_003: &[u8] = include_bytes!("../../../../tests/fixtures/media/hls_fmp4/seg_003.m4s");
const SEG_004: &[u8] = include_bytes!("../../../../tests/fixtures/media/hls_fmp4/seg_004.m4s");

/// ffprobe's `entries` of a file of these bytes, one line each.
fn probe(bytes: &[u8], entries: &str) -> Vec<String> {
    let f = tempfile::Builder::new().suffix(".mp4").tempfile().unwrap();
    std::fs::write(f.path(), bytes).unwrap();
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-show_entries", entries, "-of", "csv=p=0"])
        .arg(f.path())
        .output()
        .expect("ffprobe must be installed");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_string)
        .collect()
}

fn decode_errors(bytes: &[u8]) -> String {
    let f = tempfile::Builder::new().suffix(".mp4").tempfile().unwrap();
    std::fs::write(f.path(), bytes).unwrap();
    let out = Command::new("ffmpeg")
        .args(["-hide_banner", "-nostats", "-v", "error", "-i"])
        .arg(f.path())
        .args(["-f", "null", "-"])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn the_video_track_goes_and_the_audio_samples_stay_byte_for_byte() {
    let mut f = AudioOnly::default();
    let init = f.init(INIT).unwrap();
    assert_eq!(video_tracks(INIT).unwrap().len(), 1);
    assert!(video_tracks(&init).unwrap().is_empty());
    let mut file = init.clone();
    let mut whole = INIT.to_vec();
    for seg in [SEG_003, SEG_004] {
        let out = f.segment(seg).unwrap();
        assert!(out.len() < seg.len() / 2, "the video was most of it");
        file.extend(out);
        whole.extend_from_slice(seg);
    }
    assert_eq!(probe(&file, "stream=codec_type"), ["audio"]);
    assert_eq!(decode_errors(&file), "");
    // The same audio packets, at the same times, with the same bytes.
    let audio = |bytes: &[u8]| {
        let f = tempfile::Builder::new().suffix(".mp4").tempfile().unwrap();
        std::fs::write(f.path(), bytes).unwrap();
        let out = Command::new("ffprobe")
            .args([
                "-v",
                "error",
                "-select_streams",
                "a",
                "-show_data_hash",
                "CRC32",
            ])
            .args([
                "-show_entries",
                "packet=pts,dts,size,data_hash",
                "-of",
                "csv=p=0",
            ])
            .arg(f.path())
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let (got, want) = (audio(&file), audio(&whole));
    assert!(want.lines().count() > 50);
    assert_eq!(got, want);
    // The same init section gives the same bytes (the writer compares them).
    assert_eq!(f.init(INIT).unwrap(), init);
}

#[test]
fn what_cannot_be_placed_is_an_error_never_a_panic() {
    let f = AudioOnly {
        init: None,
        video: vec![1],
    };
    assert!(f.segment(b"garbage!").is_err());
    // A moof cut short of its mdat.
    let moof_at = SEG_003
        .windows(4)
        .position(|w| w == b"moof")
        .map(|p| p - 4)
        .unwrap();
    let size = u32::from_be_bytes(SEG_003[moof_at..moof_at + 4].try_into().unwrap()) as usize;
    assert!(f.segment(&SEG_003[..moof_at + size]).is_err());
    for n in (0..SEG_003.len()).step_by(97) {
        let _ = f.segment(&SEG_003[..n]);
        let mut bad = SEG_003.to_vec();
        bad[n] ^= 0xA5;
        let _ = f.segment(&bad);
    }
}

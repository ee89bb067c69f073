//! The real daemon records faulted streams served over HTTP (the shapes CDNs produce); every
//! output file must decode cleanly with ffmpeg, start at 0 with a keyframe, and walk as whole
//! tags with one header and one script tag.

use std::path::Path;
use std::time::Duration;

use crate::support::daemon::{Daemon, config, files, wait_events};
use crate::support::flv::{self, Tag};
use crate::support::media;
use crate::support::server::{Answer, StreamServer};

fn check(path: &Path) -> Vec<Tag> {
    let data = std::fs::read(path).unwrap();
    let tags = flv::walk(&data).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(
        tags.iter().filter(|t| t.kind == 18).count(),
        1,
        "{}",
        path.display()
    );
    let first_video = tags.iter().find(|t| t.is_video() && t.is_frame()).unwrap();
    assert!(
        first_video.is_keyframe() && first_video.ts < 100,
        "{}",
        path.display()
    );
    let errors = media::decode_errors(path);
    assert!(errors.trim().is_empty(), "{}: {errors}", path.display());
    let first = media::first_packets(path, "v", 1);
    assert!(
        first[0].1 && first[0].0 < 0.2,
        "{}: {first:?}",
        path.display()
    );
    tags
}

fn variants() -> Vec<(&'static str, Vec<u8>, usize)> {
    let base = flv::fixture("flv_640x360_20s.flv");
    let tags = flv::walk(&base).unwrap();
    let k5 = flv::keyframe_index(&tags, 5);
    let k3 = flv::keyframe_index(&tags, 3);
    let k4 = flv::keyframe_index(&tags, 4);
    // Timestamps jump one hour ahead half-way through.
    let mut jump = tags.clone();
    for t in &mut jump[k5..] {
        t.ts += 3_600_000;
    }
    // A GOP sent twice (the CDN's GOP cache after an upstream hiccup).
    let mut dup: Vec<Tag> = tags[..k4].to_vec();
    dup.extend_from_slice(&tags[k3..]);
    // HTML from a proxy between two tags.
    let at = tags[k5].offset;
    let mut garbage = base[..at].to_vec();
    garbage.extend_from_slice(b"<html><body>504 Gateway Time-out</body></html>\r\n");
    garbage.extend_from_slice(&base[at..]);
    // Expected file counts: a spliced stream or a new sequence header starts a new file.
    vec![
        ("concat", flv::fixture("flv_res_change_concat.flv"), 2),
        ("seqhdr", flv::fixture("flv_res_change_seqhdr.flv"), 2),
        ("jump", flv::encode_stream(&jump), 1),
        ("dup", flv::encode_stream(&dup), 1),
        ("garbage", garbage, 1),
        ("truncated", base[..base.len() * 2 / 3 + 11].to_vec(), 1),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faulted_streams_are_recorded_into_clean_files() {
    let server = StreamServer::start().await;
    let variants = variants();
    let mut rooms = String::new();
    for (name, data, _) in &variants {
        server.set(
            &format!("live/{name}.flv"),
            Answer::Paced {
                data: data.clone().into(),
                rate: 4 << 20,
            },
        );
        rooms.push_str(&format!(
            "[[rooms]]\nname = \"{name}\"\nurl = \"{}\"\n",
            server.url(&format!("live/{name}.flv"))
        ));
    }
    let dir = tempfile::tempdir().unwrap();
    let d = Daemon::start(dir.path(), "faults", &config(dir.path(), &rooms, ""));
    // Every room's session ended (each raises live_end once its files are closed).
    let ended = wait_events(
        dir.path(),
        "live_end",
        variants.len(),
        Duration::from_secs(40),
    )
    .await;
    assert!(ended, "{}", d.log_text());
    let rec = dir.path().join("rec");
    assert!(files(&rec, ".part").is_empty());
    for (name, data, expect_files) in &variants {
        let out = files(&rec.join(name), ".flv");
        assert_eq!(out.len(), *expect_files, "{name}: {out:?}");
        let mut got = Vec::new();
        for f in &out {
            check(f);
            got.extend(flv::frames_of(&std::fs::read(f).unwrap()));
        }
        let mut want = flv::frames_of(data);
        if *name == "dup" || *name == "garbage" {
            // The repeated GOP is recorded once; the garbage is skipped and nothing else.
            want = flv::frames_of(&flv::fixture("flv_640x360_20s.flv"));
        }
        assert_eq!(got.len(), want.len(), "{name}: frame count");
        assert!(got == want, "{name}: frames differ");
    }
    let log = d.log_text();
    assert!(
        log.contains("a new FLV header arrived mid-stream"),
        "the split reason is logged"
    );
    assert!(
        log.contains("decoder configuration changed"),
        "the split reason is logged"
    );
    assert!(log.contains("timestamp jump"), "the repair is logged");
    assert!(log.contains("skipped 48 bytes"), "the garbage is logged");
}

//! Parse + write throughput of the FLV pipeline on one core: the real fixture repeated (with
//! continuing timestamps) to 512 MiB in memory, pushed in 16 KiB chunks (about what a network
//! read yields) through the pipeline into a file, as a recording does.
//!
//! `cargo bench --bench pipeline` (set LIVEREC_BENCH_DIR to choose the disk; default: target/).

use std::sync::Arc;
use std::time::{Duration, Instant};

use liverec::config::filename_template;
use liverec::media::flv::{Item, Parser};
use liverec::segment::files::{Progress, SegmentFiles, SegmentSpec};
use liverec::writer::flv::{FlvPipeline, Limits};
use liverec::writer::pipeline::Pipeline;

fn long_stream(target: usize) -> Vec<u8> {
    let src = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/media/flv_640x360_20s.flv"
    ))
    .unwrap();
    let mut p = Parser::default();
    p.push(&src);
    let tags: Vec<_> = p
        .by_ref()
        .filter_map(|i| if let Item::Tag(t) = i { Some(t) } else { None })
        .collect();
    let span = tags.last().unwrap().timestamp + 40;
    let mut out = src[..13].to_vec();
    let mut round = 0;
    while out.len() < target {
        for t in &tags {
            if round > 0 && (t.kind as u8 == 18 || t.is_sequence_header()) {
                continue;
            }
            let h = liverec::media::flv::tag::encode_header(
                t.kind,
                t.body.len(),
                t.timestamp + round * span,
            );
            out.extend_from_slice(&h);
            out.extend_from_slice(&t.body);
            out.extend_from_slice(&((t.body.len() + 11) as u32).to_be_bytes());
        }
        round += 1;
    }
    out
}

/// (user, system) CPU seconds of this process so far.
fn cpu() -> (f64, f64) {
    // SAFETY: getrusage fills the struct we pass; RUSAGE_SELF is always valid.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut u) };
    let t = |tv: libc::timeval| tv.tv_sec as f64 + tv.tv_usec as f64 / 1e6;
    (t(u.ru_utime), t(u.ru_stime))
}

fn main() {
    let data = long_stream(512 << 20);
    let dir = std::env::var("LIVEREC_BENCH_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|_| {
            std::path::PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/target/bench-out"))
        });
    std::fs::create_dir_all(&dir).unwrap();
    let mut best = f64::MAX;
    let mut best_cpu = (f64::MAX, f64::MAX);
    for run in 0..3 {
        let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
        let spec = SegmentSpec {
            segment_duration: Duration::from_secs(3600),
            segment_size: 0,
            ..SegmentSpec::plain(
                dir.clone(),
                filename_template(&format!("bench_{run}_{{index}}")).unwrap(),
            )
        };
        let mut out = SegmentFiles::new(spec, tx, Arc::new(Progress::default()));
        let mut p = FlvPipeline::new(Limits {
            duration_ms: 3_600_000,
            size: 0,
        });
        let start = Instant::now();
        let c0 = cpu();
        out.new_connection();
        for c in data.chunks(16 * 1024) {
            p.push(c, &mut out).unwrap();
        }
        p.close(&mut out).unwrap();
        let secs = start.elapsed().as_secs_f64();
        let c1 = cpu();
        if secs < best {
            best_cpu = (c1.0 - c0.0, c1.1 - c0.1);
        }
        best = best.min(secs);
        for f in std::fs::read_dir(&dir).unwrap().flatten() {
            let _ = std::fs::remove_file(f.path());
        }
    }
    let mb = data.len() as f64 / 1e6;
    println!(
        "flv parse+write: {mb:.0} MB in {best:.3} s = {:.0} MB/s on one core (best of 3, fsync at close included)",
        mb / best
    );
    let gib = data.len() as f64 / (1u64 << 30) as f64;
    println!(
        "  CPU per GiB of that run: user {:.2} s, system {:.2} s",
        best_cpu.0 / gib,
        best_cpu.1 / gib
    );
}

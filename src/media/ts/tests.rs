use super::*;
use proptest::prelude::*;
use std::collections::HashSet;
use std::process::Command;

const SEG_000: &[u8] = include_bytes!("../../../tests/fixtures/media/hls_ts/seg_000.ts");
const SEG_003: &[u8] = include_bytes!("../../../tests/fixtures/media/hls_ts/seg_003.ts");

// --- a small TS writer for synthetic streams ---

fn with_crc(mut s: Vec<u8>) -> Vec<u8> {
    let crc = crc32_mpeg(&s);
    s.extend_from_slice(&crc.to_be_bytes());
    s
}

/// A PSI packet: pointer field 0, the section, 0xFF stuffing.
fn psi_packet(pid: u16, section: &[u8]) -> Vec<u8> {
    let mut p = vec![SYNC, 0x40 | (pid >> 8) as u8, pid as u8, 0x10, 0];
    p.extend_from_slice(section);
    p.resize(PACKET, 0xFF);
    p
}

fn pat(pmt_pid: u16) -> Vec<u8> {
    let mut s = vec![0x00, 0xB0, 13, 0, 1, 0xC1, 0, 0];
    s.extend_from_slice(&[0, 1, 0xE0 | (pmt_pid >> 8) as u8, pmt_pid as u8]);
    psi_packet(0, &with_crc(s))
}

fn pmt(pmt_pid: u16, pcr_pid: u16, streams: &[(u16, u8)]) -> Vec<u8> {
    let len = 9 + 5 * streams.len() + 4;
    let mut s = vec![0x02, 0xB0, len as u8, 0, 1, 0xC1, 0, 0];
    s.extend_from_slice(&[0xE0 | (pcr_pid >> 8) as u8, pcr_pid as u8, 0xF0, 0]);
    for &(pid, ty) in streams {
        s.extend_from_slice(&[ty, 0xE0 | (pid >> 8) as u8, pid as u8, 0xF0, 0]);
    }
    psi_packet(pmt_pid, &with_crc(s))
}

fn pts_bytes(prefix: u8, v: u64) -> [u8; 5] {
    let mut b = [prefix << 4 | 1, 0, 1, 0, 1];
    encode_pts(&mut b, v);
    b
}

/// A PES packet on `pid` with PTS (and DTS), optionally a PCR, payload stuffed to 188.
fn pes_packet(pid: u16, pcr: Option<u64>, pts: u64, dts: Option<u64>) -> Vec<u8> {
    let mut p = vec![SYNC, 0x40 | (pid >> 8) as u8, pid as u8];
    if let Some(pcr) = pcr {
        p.push(0x30);
        p.extend_from_slice(&[7, 0x10]);
        let mut b = [0, 0, 0, 0, 0x7E];
        encode_pcr_base(&mut b, pcr);
        p.extend_from_slice(&b);
        p.push(0x2A); // extension low bits
    } else {
        p.push(0x10);
    }
    let flags = if dts.is_some() { 0xC0 } else { 0x80 };
    let hlen = if dts.is_some() { 10 } else { 5 };
    p.extend_from_slice(&[0, 0, 1, 0xE0, 0, 0, 0x80, flags, hlen]);
    p.extend_from_slice(&pts_bytes(if dts.is_some() { 3 } else { 2 }, pts));
    if let Some(d) = dts {
        p.extend_from_slice(&pts_bytes(1, d));
    }
    p.resize(PACKET, 0xAB);
    p
}

fn values(data: &[u8], kind: ClockKind) -> Vec<u64> {
    let mut st = TsState::new();
    let s = scan(data, &mut st);
    s.clocks
        .iter()
        .filter(|c| c.kind == kind)
        .map(|c| c.value)
        .collect()
}

/// Scans and rebases as the first segment of a file; returns the bytes and the offset.
fn rebased(data: &[u8]) -> (Vec<u8>, u64, TsScan) {
    let mut st = TsState::new();
    let s = scan(data, &mut st);
    let off = earliest(&s.clocks).expect("clocks");
    let mut out = data.to_vec();
    rebase(&mut out, &s.clocks, off);
    (out, off, s)
}

// --- ffprobe ---

#[derive(Debug, PartialEq)]
struct Pkt {
    stream: u32,
    pts: i64,
    dts: i64,
    duration: String,
    size: String,
    flags: String,
}

fn probe_packets(bytes: &[u8]) -> Vec<Pkt> {
    let f = tempfile::Builder::new().suffix(".ts").tempfile().unwrap();
    std::fs::write(f.path(), bytes).unwrap();
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-show_entries"])
        .arg("packet=stream_index,pts,dts,duration,size,flags")
        .args(["-of", "csv=p=0"])
        .arg(f.path())
        .output()
        .expect("ffprobe must be installed");
    assert!(out.status.success());
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let v: Vec<&str> = l.split(',').collect();
            Pkt {
                stream: v[0].parse().unwrap(),
                pts: v[1].parse().unwrap(),
                dts: v[2].parse().unwrap(),
                duration: v[3].into(),
                size: v[4].into(),
                flags: v[5].into(),
            }
        })
        .collect()
}

/// Every packet of `after` is the one of `before` moved back by `off`: same stream, size,
/// flags and duration. Video timestamps are exact; audio packets inside a PES (several AAC
/// frames share one PES header) get timestamps ffmpeg interpolates, rounded from the
/// absolute time, so they may move by one tick.
fn assert_shifted(before: &[Pkt], after: &[Pkt], off: u64) {
    assert_eq!(before.len(), after.len());
    assert!(before.len() > 100);
    let off = off as i64;
    for (b, a) in before.iter().zip(after) {
        let (dp, dd) = (a.pts - (b.pts - off), a.dts - (b.dts - off));
        let slack = if b.stream == 0 { 0 } else { 1 };
        assert!(dp.abs() <= slack && dd.abs() <= slack, "{b:?} -> {a:?}");
        assert_eq!(
            (a.stream, &a.size, &a.flags, &a.duration),
            (b.stream, &b.size, &b.flags, &b.duration)
        );
    }
}

fn probe(bytes: &[u8], entries: &str) -> String {
    let f = tempfile::Builder::new().suffix(".ts").tempfile().unwrap();
    std::fs::write(f.path(), bytes).unwrap();
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-show_entries", entries, "-of", "csv=p=0"])
        .arg(f.path())
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn decode_errors(bytes: &[u8]) -> String {
    let f = tempfile::Builder::new().suffix(".ts").tempfile().unwrap();
    std::fs::write(f.path(), bytes).unwrap();
    let out = Command::new("ffmpeg")
        .args(["-hide_banner", "-nostats", "-v", "error", "-i"])
        .arg(f.path())
        .args(["-f", "null", "-"])
        .output()
        .unwrap();
    let mut s = String::from_utf8_lossy(&out.stderr).into_owned();
    if !out.status.success() {
        s.push_str("exit failure");
    }
    s
}

#[test]
fn the_fixture_segment_is_read() {
    let mut st = TsState::new();
    let s = scan(SEG_003, &mut st);
    assert_eq!(s.packets, SEG_003.len() / PACKET);
    assert_eq!(s.skipped, 0);
    assert_eq!(s.problem(SEG_003.len()), None);
    let map = s.first_map.expect("PAT and PMT");
    assert_eq!(map.programs.len(), 1);
    let p = &map.programs[0];
    assert_eq!(p.streams, [(0x100, 0x1B), (0x101, 0x0F)], "H.264 and AAC");
    assert_eq!(p.pcr_pid, 0x100);
    assert_eq!(st.program_map().as_ref(), Some(&map));
    // The first clock is a PCR, and it is the earliest one.
    assert_eq!(s.clocks[0].kind, ClockKind::Pcr);
    assert_eq!(earliest(&s.clocks), Some(s.clocks[0].value));
    // ffprobe agrees on the first video PTS/DTS.
    let v: Vec<&Clock> = s.clocks.iter().filter(|c| c.pid == 0x100).collect();
    let pts = v.iter().find(|c| c.kind == ClockKind::Pts).unwrap().value;
    let dts = v.iter().find(|c| c.kind == ClockKind::Dts).unwrap().value;
    assert_eq!((pts, dts), (672_030, 666_000));
}

#[test]
fn a_mid_stream_segment_rebased_starts_at_the_preroll_with_the_same_packets() {
    let (out, off, s) = rebased(SEG_003);
    // Only timestamp bytes changed.
    let at: HashSet<usize> = s.clocks.iter().flat_map(|c| c.at).collect();
    for (i, (a, b)) in SEG_003.iter().zip(&out).enumerate() {
        assert!(a == b || at.contains(&i), "byte {i} changed");
    }
    assert_eq!(out.len(), SEG_003.len());
    let before = probe_packets(SEG_003);
    let after = probe_packets(&out);
    assert_shifted(&before, &after, off);
    // Every PTS of a PES header is exactly one packet's PTS after rebasing.
    for c in s.clocks.iter().filter(|c| c.kind == ClockKind::Pts) {
        let stream = u32::from(c.pid != 0x100);
        let want = (c.value - off) as i64;
        assert!(
            after.iter().any(|p| p.stream == stream && p.pts == want),
            "{c:?}"
        );
    }
    let start: f64 = probe(&out, "format=start_time").parse().unwrap();
    assert!(start > 0.0 && start <= 1.5, "start_time {start}");
    let orig: f64 = probe(SEG_003, "format=start_time").parse().unwrap();
    assert!(orig > 7.0, "{orig}");
    assert_eq!(decode_errors(&out), "");
}

#[test]
fn the_first_segment_of_a_stream_moves_by_its_first_pcr() {
    // ffmpeg starts its PCR at 0.7 s and its first PTS at 1.44 s: the rebased file starts
    // 0.74 s in, the distance between them.
    let (out, off, _) = rebased(SEG_000);
    assert_eq!(off, 63_000);
    let start: f64 = probe(&out, "format=start_time").parse().unwrap();
    assert!((start - 0.744).abs() < 0.001, "start_time {start}");
}

#[test]
fn later_segments_of_a_file_keep_the_files_offset() {
    // seg_003 opens the file, seg_004 follows: one offset for both, continuous timestamps.
    let seg4 = include_bytes!("../../../tests/fixtures/media/hls_ts/seg_004.ts");
    let mut st = TsState::new();
    let s3 = scan(SEG_003, &mut st);
    let s4 = scan(seg4, &mut st);
    assert_eq!(s4.first_map, s3.first_map, "same programs");
    let off = earliest(&s3.clocks).unwrap();
    let mut file = SEG_003.to_vec();
    rebase(&mut file, &s3.clocks, off);
    let mut b = seg4.to_vec();
    rebase(&mut b, &s4.clocks, off);
    file.extend_from_slice(&b);
    let mut orig = SEG_003.to_vec();
    orig.extend_from_slice(seg4);
    let before = probe_packets(&orig);
    let after = probe_packets(&file);
    assert_eq!(before.len(), after.len());
    assert_shifted(&before, &after, off);
    assert_eq!(decode_errors(&file), "");
}

#[test]
fn timestamps_crossing_the_33_bit_wrap_stay_continuous() {
    let v = 0x100;
    let start = WRAP - 90_000; // one second before the wrap
    let mut data = pat(0x1000);
    data.extend(pmt(0x1000, v, &[(v, 0x1B)]));
    let mut want = Vec::new();
    for i in 0..5u64 {
        let pcr = (start + i * 45_000) & MASK;
        let dts = (start + 63_000 + i * 45_000) & MASK;
        let pts = (dts + 6_000) & MASK;
        data.extend(pes_packet(v, Some(pcr), pts, Some(dts)));
        want.push((i * 45_000, 63_000 + i * 45_000, 69_000 + i * 45_000));
    }
    // Values on both sides of the wrap.
    let pcrs = values(&data, ClockKind::Pcr);
    assert!(pcrs[0] > WRAP - 100_000 && pcrs[4] < 100_000, "{pcrs:?}");
    let (out, off, _) = rebased(&data);
    assert_eq!(off, start);
    let got: Vec<(u64, u64, u64)> = (0..5)
        .map(|i| {
            (
                values(&out, ClockKind::Pcr)[i],
                values(&out, ClockKind::Dts)[i],
                values(&out, ClockKind::Pts)[i],
            )
        })
        .collect();
    assert_eq!(got, want);
}

#[test]
fn the_earliest_clock_counts_across_the_wrap() {
    // A PTS before the first PCR (a stream that starts with a PES) sets the offset.
    let v = 0x100;
    let mut data = pat(0x1000);
    data.extend(pmt(0x1000, v, &[(v, 0x1B)]));
    data.extend(pes_packet(v, None, 5, Some(WRAP - 10)));
    data.extend(pes_packet(v, Some(WRAP - 5), 100, Some(50)));
    let (out, off, _) = rebased(&data);
    assert_eq!(off, WRAP - 10);
    assert_eq!(values(&out, ClockKind::Dts), [0, 60]);
    assert_eq!(values(&out, ClockKind::Pts), [15, 110]);
    assert_eq!(values(&out, ClockKind::Pcr), [5]);
    assert_eq!(earliest(&[]), None);
}

#[test]
fn marker_bits_prefixes_and_the_pcr_extension_are_kept() {
    let v = 0x100;
    let mut data = pat(0x1000);
    data.extend(pmt(0x1000, v, &[(v, 0x1B)]));
    data.extend(pes_packet(
        v,
        Some(0x1_2345_6789),
        0x1_2346_0000,
        Some(0x1_2345_F000),
    ));
    let (out, off, s) = rebased(&data);
    assert_eq!(off, 0x1_2345_6789);
    let pcr = s.clocks.iter().find(|c| c.kind == ClockKind::Pcr).unwrap();
    let pts = s.clocks.iter().find(|c| c.kind == ClockKind::Pts).unwrap();
    let dts = s.clocks.iter().find(|c| c.kind == ClockKind::Dts).unwrap();
    // PCR: base 0, then reserved 111111, extension 0x2A (bit 8 in the fifth byte).
    let p = pcr.at[0];
    assert_eq!(&out[p..p + 6], &[0, 0, 0, 0, 0x7E, 0x2A]);
    // PTS prefix 0011, DTS prefix 0001, every marker bit set.
    for (c, prefix) in [(pts, 0x30), (dts, 0x10)] {
        let b = &out[c.at[0]..c.at[0] + 5];
        assert_eq!(b[0] & 0xF0, prefix);
        assert_eq!((b[0] & 1, b[2] & 1, b[4] & 1), (1, 1, 1));
    }
    assert_eq!(
        values(&out, ClockKind::Pts),
        [0x1_2346_0000 - 0x1_2345_6789]
    );
    assert_eq!(
        values(&out, ClockKind::Dts),
        [0x1_2345_F000 - 0x1_2345_6789]
    );
    // Round trips of the bit layouts.
    for v in [0, 1, 0x1_0000_0000, MASK, 0x0_AAAA_5555] {
        let mut b = [0x21, 0, 1, 0, 1];
        encode_pts(&mut b, v);
        assert_eq!(decode_pts(&b), v);
        assert_eq!((b[0] & 0xF1, b[2] & 1, b[4] & 1), (0x21, 1, 1));
        let mut b = [0, 0, 0, 0, 0x7F];
        encode_pcr_base(&mut b, v);
        assert_eq!(decode_pcr_base(&b), v);
        assert_eq!(b[4] & 0x7F, 0x7F);
    }
}

#[test]
fn a_field_without_marker_bits_is_not_a_timestamp() {
    let v = 0x100;
    let mut data = pat(0x1000);
    data.extend(pmt(0x1000, v, &[(v, 0x1B)]));
    let mut p = pes_packet(v, None, 1000, None);
    p[4 + 9 + 4] &= 0xFE; // last marker bit of the PTS
    data.extend(p);
    assert!(values(&data, ClockKind::Pts).is_empty());
}

#[test]
fn a_pes_header_split_over_two_packets_is_followed() {
    let v = 0x100;
    let mut data = pat(0x1000);
    data.extend(pmt(0x1000, v, &[(v, 0x1B)]));
    let whole = pes_packet(v, None, 900_000, Some(897_000));
    // First packet: an adaptation field of stuffing leaves 12 payload bytes (the PES header
    // is 19): 00 00 01 E0 00 00 80 C0 0A + 3 PTS bytes; the rest follows on the same PID.
    let mut a = vec![SYNC, 0x41, 0x00, 0x30, 171, 0x00];
    a.resize(4 + 1 + 171, 0xFF);
    a.extend_from_slice(&whole[4..16]);
    assert_eq!(a.len(), PACKET);
    let mut b = vec![SYNC, 0x01, 0x00, 0x11];
    b.extend_from_slice(&whole[16..]);
    b.resize(PACKET, 0xAB);
    // An audio packet in between, on another PID.
    let audio = pes_packet(0x101, None, 880_000, None);
    data.extend(a);
    data.extend(audio);
    data.extend(b);
    let mut st = TsState::new();
    let s = scan(&data, &mut st);
    let kinds: Vec<(ClockKind, u64)> = s.clocks.iter().map(|c| (c.kind, c.value)).collect();
    assert_eq!(
        kinds,
        [(ClockKind::Pts, 900_000), (ClockKind::Dts, 897_000)],
        "PID 0x101 is not in the PMT"
    );
    let pts = s.clocks[0];
    assert!(pts.at[4] - pts.at[0] > PACKET, "split: {:?}", pts.at);
    let mut out = data.clone();
    rebase(&mut out, &s.clocks, 890_000);
    assert_eq!(values(&out, ClockKind::Pts), [10_000]);
    assert_eq!(values(&out, ClockKind::Dts), [7_000]);
}

#[test]
fn headers_pending_on_many_pids_are_bounded() {
    // Without a PMT every PID may carry PES: 4000 PIDs each start a header that never ends.
    let mut data = Vec::new();
    for pid in 0x20..0x20 + 4000u16 {
        let mut p = vec![SYNC, 0x40 | (pid >> 8) as u8, pid as u8, 0x30, 179, 0x00];
        p.resize(4 + 1 + 179, 0xFF);
        p.extend_from_slice(&[0, 0, 1, 0xE0]);
        data.extend(p);
    }
    let mut st = TsState::new();
    let s = scan(&data, &mut st);
    assert_eq!(s.packets, 4000);
    assert!(s.clocks.is_empty());
    assert!(st.heads.len() <= MAX_PENDING);
}

#[test]
fn a_pmt_change_is_seen() {
    let mut st = TsState::new();
    let mut a = pat(0x1000);
    a.extend(pmt(0x1000, 0x100, &[(0x100, 0x1B), (0x101, 0x0F)]));
    a.extend(pes_packet(0x100, Some(0), 10, Some(5)));
    let first = scan(&a, &mut st).first_map.unwrap();
    // The same tables again: the same map.
    assert_eq!(scan(&a, &mut st).first_map.as_ref(), Some(&first));
    // HEVC instead of H.264 on the same PID.
    let mut b = pat(0x1000);
    b.extend(pmt(0x1000, 0x100, &[(0x100, 0x24), (0x101, 0x0F)]));
    let second = scan(&b, &mut st).first_map.unwrap();
    assert_ne!(second, first);
    assert!(
        second.to_string().contains("PID 0x0100 type 0x24"),
        "{second}"
    );
    // Another PID for the audio.
    let mut c = pat(0x1000);
    c.extend(pmt(0x1000, 0x100, &[(0x100, 0x24), (0x102, 0x0F)]));
    let third = scan(&c, &mut st).first_map.unwrap();
    assert_ne!(third, second);
    // Another PMT PID with the same streams is another map too.
    let mut d = pat(0x1001);
    d.extend(pmt(0x1001, 0x100, &[(0x100, 0x24), (0x102, 0x0F)]));
    let fourth = scan(&d, &mut st).first_map.unwrap();
    assert_ne!(fourth, third);
    assert_eq!(fourth.programs[0].streams, third.programs[0].streams);
    // A PMT with a bad CRC is ignored; a segment without tables has no map of its own.
    let mut e = pat(0x1001);
    let mut bad = pmt(0x1001, 0x100, &[(0x100, 0x1B)]);
    bad[20] ^= 0xFF;
    e.extend(bad);
    assert_eq!(scan(&e, &mut st).first_map, None);
    assert_eq!(st.program_map(), Some(fourth));
    assert_eq!(
        scan(&pes_packet(0x100, None, 1, None), &mut st).first_map,
        None
    );
}

#[test]
fn pes_pids_are_guessed_until_a_pmt_is_known() {
    // A segment without PAT/PMT (its tables were in an EXT-X-MAP): PES are still found.
    let data = pes_packet(0x100, Some(1000), 3000, Some(2000));
    assert_eq!(values(&data, ClockKind::Pts), [3000]);
    // Not on PSI/SI PIDs, and not without a start code.
    let mut si = pes_packet(0x11, None, 3000, None);
    si[1] = 0x40;
    assert!(values(&si, ClockKind::Pts).is_empty());
}

#[test]
fn misaligned_input_resyncs_on_the_sync_byte() {
    let mut st = TsState::new();
    let whole = scan(SEG_003, &mut st);
    // Garbage before the first packet.
    let mut shifted = vec![0x47, 1, 2, 3, 0x47, 5, 6];
    shifted.extend_from_slice(SEG_003);
    let s = scan(&shifted, &mut TsState::new());
    assert_eq!(s.skipped, 7);
    assert_eq!(s.packets, whole.packets);
    assert_eq!(s.clocks.len(), whole.clocks.len());
    assert!(
        s.clocks
            .iter()
            .zip(&whole.clocks)
            .all(|(a, b)| a.value == b.value && a.at[0] == b.at[0] + 7)
    );
    // 100 bytes cut out of the middle: the packet they belonged to is lost, the rest kept.
    let mut cut = SEG_003[..50 * PACKET + 20].to_vec();
    cut.extend_from_slice(&SEG_003[50 * PACKET + 120..]);
    let s = scan(&cut, &mut TsState::new());
    assert_eq!(s.packets, whole.packets - 1);
    assert_eq!(s.skipped, PACKET - 100);
    assert_eq!(s.problem(cut.len()), None);
    // A trailing partial packet is skipped.
    let s = scan(&SEG_003[..SEG_003.len() - 50], &mut TsState::new());
    assert_eq!(s.skipped, PACKET - 50);
    // Not TS at all.
    let junk: Vec<u8> = (0..100_000u32).map(|i| (i * 7919 % 251) as u8).collect();
    let s = scan(&junk, &mut TsState::new());
    assert!(s.problem(junk.len()).is_some(), "{s:?}");
    assert!(scan(&[], &mut TsState::new()).problem(0).is_some());
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..4096)) {
        let mut st = TsState::new();
        let s = scan(&data, &mut st);
        let mut out = data.clone();
        rebase(&mut out, &s.clocks, earliest(&s.clocks).unwrap_or(0));
        prop_assert_eq!(out.len(), data.len());
    }

    #[test]
    fn damaged_real_segments_never_panic(
        cut in 0..SEG_003.len(),
        drop in 0usize..400,
        flips in proptest::collection::vec((0..SEG_003.len(), any::<u8>()), 0..64),
        offset in any::<u64>(),
    ) {
        let mut data = SEG_003[..cut].to_vec();
        data.extend_from_slice(&SEG_003[(cut + drop).min(SEG_003.len())..]);
        for (i, b) in flips {
            if let Some(x) = data.get_mut(i) {
                *x ^= b;
            }
        }
        let mut st = TsState::new();
        let s = scan(&data, &mut st);
        let mut out = data.clone();
        rebase(&mut out, &s.clocks, offset);
        // Only the clock bytes may differ.
        let at: HashSet<usize> = s.clocks.iter().flat_map(|c| c.at).collect();
        for (i, (a, b)) in data.iter().zip(&out).enumerate() {
            prop_assert!(a == b || at.contains(&i));
        }
        // And rebasing back by the opposite offset restores the input.
        let s2 = scan(&out, &mut TsState::new());
        let mut back = out.clone();
        rebase(&mut back, &s2.clocks, offset.wrapping_neg() & MASK);
        prop_assert!(back == data);
    }
}

#[test]
fn audio_only_drops_the_video_stream_and_rewrites_the_pmt() {
    let mut f = AudioOnly::default();
    let out = f.filter(SEG_003);
    assert_eq!(out.len() % PACKET, 0);
    assert!(out.len() < SEG_003.len() / 2, "the video was most of it");
    // The PMT names only the audio, which now carries the program's clock reference.
    let mut st = TsState::new();
    let s = scan(&out, &mut st);
    let map = s.first_map.expect("PAT and PMT");
    assert_eq!(map.programs[0].streams, [(0x101, 0x0F)]);
    assert_eq!(map.programs[0].pcr_pid, 0x101);
    // Its CRC is right (the reader takes only intact sections), and players agree.
    let kinds = probe(&out, "stream=codec_type");
    assert!(
        kinds.lines().all(|l| l.is_empty() || l == "audio"),
        "{kinds}"
    );
    assert!(probe(SEG_003, "stream=codec_type").contains("video"));
    assert_eq!(decode_errors(&out), "");
    // Every audio packet is kept, byte for byte.
    let audio = |d: &[u8]| -> Vec<Vec<u8>> {
        d.chunks(PACKET)
            .filter(|p| pid13(p[1], p[2]) == 0x101)
            .map(<[u8]>::to_vec)
            .collect()
    };
    assert_eq!(audio(&out), audio(SEG_003));
    // A later segment without PAT/PMT is filtered by what the first said.
    let video_only = pes_packet(0x100, None, 1000, None);
    assert!(f.filter(&video_only).is_empty());
}

#[test]
fn audio_only_keeps_streams_without_video_and_bytes_it_cannot_read() {
    let mut f = AudioOnly::default();
    let mut data = pat(0x1000);
    data.extend(pmt(0x1000, 0x101, &[(0x101, 0x0F)]));
    data.extend(pes_packet(0x101, Some(0), 0, None));
    assert_eq!(f.filter(&data), data, "nothing to drop");
    let odd = [SYNC, 1, 2, 3];
    assert_eq!(f.filter(&odd), odd);
    let mut two = pat(0x1000);
    two.extend(pmt(
        0x1000,
        0x100,
        &[(0x100, 0x24), (0x101, 0x0F), (0x102, 0x06)],
    ));
    two.extend(pes_packet(0x100, Some(0), 0, None));
    two.extend(pes_packet(0x102, None, 0, None));
    let out = AudioOnly::default().filter(&two);
    let mut st = TsState::new();
    let map = scan(&out, &mut st).first_map.unwrap();
    assert_eq!(map.programs[0].streams, [(0x101, 0x0F), (0x102, 0x06)]);
    assert_eq!(out.len(), 3 * PACKET, "the HEVC packet went");
}

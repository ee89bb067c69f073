use super::*;
use proptest::prelude::*;
use std::collections::HashSet;
use std::process::Command;

const INIT: &[u8] = include_bytes!("../../../tests/fixtures/media/hls_fmp4/init.mp4");
const SEG_003: &[u8] = include_bytes!("../../../tests/fixtures/media/hls_fmp4/seg_003.m4s");
const SEG_004: &[u8] = include_bytes!("../../../tests/fixtures/media/hls_fmp4/seg_004.m4s");

// --- a small box writer ---

fn bx(kind: &[u8; 4], payload: &[u8]) -> Vec<u8> {
    let mut b = ((payload.len() + 8) as u32).to_be_bytes().to_vec();
    b.extend_from_slice(kind);
    b.extend_from_slice(payload);
    b
}

fn full(kind: &[u8; 4], version: u8, payload: &[u8]) -> Vec<u8> {
    let mut p = vec![version, 0, 0, 0];
    p.extend_from_slice(payload);
    bx(kind, &p)
}

fn cat(parts: &[Vec<u8>]) -> Vec<u8> {
    parts.concat()
}

/// An init section with tracks (id, timescale); `tkhd`/`mdhd` version 1 for odd ids.
fn init(tracks: &[(u32, u32)]) -> Vec<u8> {
    let mut moov = vec![full(b"mvhd", 0, &[0; 96])];
    let mut trex = Vec::new();
    for &(id, ts) in tracks {
        let v1 = id % 2 == 1;
        let times = if v1 { 16 } else { 8 };
        let mut tkhd = vec![0; times];
        tkhd.extend_from_slice(&id.to_be_bytes());
        tkhd.extend_from_slice(&[0; 60]);
        let mut mdhd = vec![0; times];
        mdhd.extend_from_slice(&ts.to_be_bytes());
        mdhd.extend_from_slice(&[0; 8]);
        let v = u8::from(v1);
        let mdia = bx(b"mdia", &full(b"mdhd", v, &mdhd));
        moov.push(bx(b"trak", &cat(&[full(b"tkhd", v, &tkhd), mdia])));
        let mut t = id.to_be_bytes().to_vec();
        t.extend_from_slice(&[0; 16]);
        trex.push(full(b"trex", 0, &t));
    }
    moov.push(bx(b"mvex", &cat(&trex)));
    cat(&[bx(b"ftyp", b"iso6\0\0\0\0iso6"), bx(b"moov", &cat(&moov))])
}

fn tfdt(v1: bool, t: u64) -> Vec<u8> {
    if v1 {
        full(b"tfdt", 1, &t.to_be_bytes())
    } else {
        full(b"tfdt", 0, &(t as u32).to_be_bytes())
    }
}

/// A traf of `track` with a tfdt (version 1 when `v1`), and a trun stub.
fn traf(track: u32, t: Option<(bool, u64)>) -> Vec<u8> {
    let mut parts = vec![full(b"tfhd", 0, &track.to_be_bytes())];
    if let Some((v1, t)) = t {
        parts.push(tfdt(v1, t));
    }
    parts.push(full(b"trun", 0, &[0, 0, 0, 0]));
    bx(b"traf", &cat(&parts))
}

fn moof(trafs: &[Vec<u8>]) -> Vec<u8> {
    let mut parts = vec![full(b"mfhd", 0, &1u32.to_be_bytes())];
    parts.extend_from_slice(trafs);
    bx(b"moof", &cat(&parts))
}

fn values(data: &[u8], tracks: &Tracks) -> Vec<(FieldKind, u64)> {
    scan(data, Some(tracks))
        .unwrap()
        .iter()
        .map(|f| (f.kind, f.value))
        .collect()
}

// --- ffprobe ---

fn temp_mp4(bytes: &[u8]) -> tempfile::NamedTempFile {
    let f = tempfile::Builder::new().suffix(".mp4").tempfile().unwrap();
    std::fs::write(f.path(), bytes).unwrap();
    f
}

/// (stream, pts, dts, duration, size, flags) per packet.
fn packets(bytes: &[u8]) -> Vec<(u32, i64, i64, String, String, String)> {
    let f = temp_mp4(bytes);
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-show_entries"])
        .arg("packet=stream_index,pts,dts,duration,size,flags")
        .args(["-of", "csv=p=0"])
        .arg(f.path())
        .output()
        .expect("ffprobe must be installed");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let v: Vec<&str> = l.split(',').collect();
            (
                v[0].parse().unwrap(),
                v[1].parse().unwrap(),
                v[2].parse().unwrap(),
                v[3].into(),
                v[4].into(),
                v[5].into(),
            )
        })
        .collect()
}

fn start_time(bytes: &[u8]) -> f64 {
    let f = temp_mp4(bytes);
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-show_entries", "format=start_time"])
        .args(["-of", "csv=p=0"])
        .arg(f.path())
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
}

fn decode_errors(bytes: &[u8]) -> String {
    let f = temp_mp4(bytes);
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
fn the_fixture_init_section_gives_each_tracks_timescale() {
    let t = tracks(INIT).unwrap();
    assert_eq!(t.tracks, [(1, 15360), (2, 44100)]);
    assert_eq!(t.timescale(2), Some(44100));
    assert_eq!(t.timescale(3), None);
}

#[test]
fn a_mid_stream_fragment_rebased_starts_at_0_and_decodes() {
    let t = tracks(INIT).unwrap();
    let fields = scan(SEG_003, Some(&t)).unwrap();
    // Two sidx (one per track, ffmpeg's way) and one tfdt per traf.
    let kinds: Vec<FieldKind> = fields.iter().map(|f| f.kind).collect();
    assert_eq!(
        kinds,
        [
            FieldKind::Sidx,
            FieldKind::Sidx,
            FieldKind::Tfdt(1),
            FieldKind::Tfdt(2)
        ]
    );
    // Video at 6.000 s, audio at 5.967 s: the audio is the earliest.
    assert_eq!((fields[2].value, fields[3].value), (92_160, 263_149));
    let off = earliest(&fields).unwrap();
    assert_eq!(
        off,
        Offset {
            value: 263_149,
            timescale: 44100
        }
    );
    assert_eq!(off.ticks(15360), 91_655); // 91 655.4, rounded
    let mut seg = SEG_003.to_vec();
    rebase(&mut seg, &fields, off);
    // Only the time fields changed.
    let at: HashSet<usize> = fields
        .iter()
        .flat_map(|f| f.at..f.at + if f.wide { 8 } else { 4 })
        .collect();
    for (i, (a, b)) in SEG_003.iter().zip(&seg).enumerate() {
        assert!(a == b || at.contains(&i), "byte {i} changed");
    }
    let after = scan(&seg, Some(&t)).unwrap();
    assert_eq!(after[2].value, 92_160 - 91_655);
    assert_eq!(after[3].value, 0);
    let orig = cat(&[INIT.to_vec(), SEG_003.to_vec()]);
    let file = cat(&[INIT.to_vec(), seg]);
    assert!(start_time(&orig) > 5.9);
    let start = start_time(&file);
    assert!((0.0..=0.1).contains(&start), "start_time {start}");
    assert_eq!(decode_errors(&file), "");
    // The same packets, moved back by the offset in each track's timescale.
    let before = packets(&orig);
    let rebased = packets(&file);
    assert_eq!(before.len(), rebased.len());
    assert!(before.len() > 100);
    for (b, a) in before.iter().zip(&rebased) {
        let shift = off.ticks(if b.0 == 0 { 15360 } else { 44100 }) as i64;
        assert_eq!(a.0, b.0);
        assert_eq!((a.1, a.2), (b.1 - shift, b.2 - shift), "{b:?} -> {a:?}");
        assert_eq!((&a.3, &a.4, &a.5), (&b.3, &b.4, &b.5));
    }
}

#[test]
fn the_next_fragments_keep_the_files_offset() {
    let t = tracks(INIT).unwrap();
    let f3 = scan(SEG_003, Some(&t)).unwrap();
    let f4 = scan(SEG_004, Some(&t)).unwrap();
    let off = earliest(&f3).unwrap();
    let (mut a, mut b) = (SEG_003.to_vec(), SEG_004.to_vec());
    rebase(&mut a, &f3, off);
    rebase(&mut b, &f4, off);
    let file = cat(&[INIT.to_vec(), a, b]);
    assert_eq!(decode_errors(&file), "");
    let orig = cat(&[INIT.to_vec(), SEG_003.to_vec(), SEG_004.to_vec()]);
    let (pb, pa) = (packets(&orig), packets(&file));
    assert_eq!(pb.len(), pa.len());
    for (b, a) in pb.iter().zip(&pa) {
        let shift = off.ticks(if b.0 == 0 { 15360 } else { 44100 }) as i64;
        assert_eq!((a.1, a.2), (b.1 - shift, b.2 - shift));
    }
}

#[test]
fn tfdt_versions_0_and_1_and_several_trafs() {
    let t = tracks(&init(&[(1, 90_000), (2, 48_000), (3, 1000)])).unwrap();
    assert_eq!(t.tracks, [(1, 90_000), (2, 48_000), (3, 1000)]);
    let seg = cat(&[
        moof(&[
            traf(1, Some((false, 900_000))),      // 10.0 s, 32-bit
            traf(2, Some((true, 5_000_000_000))), // 104166.67 s, 64-bit
            traf(3, Some((true, 9_500))),         // 9.5 s: the earliest
            traf(1, None),                        // no tfdt: nothing to do
        ]),
        bx(b"mdat", &[0; 32]),
        moof(&[traf(1, Some((false, 990_000)))]),
        bx(b"mdat", &[]),
    ]);
    let fields = scan(&seg, Some(&t)).unwrap();
    assert_eq!(fields.len(), 4);
    assert_eq!(
        fields.iter().map(|f| f.wide).collect::<Vec<_>>(),
        [false, true, true, false]
    );
    let off = earliest(&fields).unwrap();
    assert_eq!(off.seconds(), 9.5);
    let mut out = seg.clone();
    rebase(&mut out, &fields, off);
    assert_eq!(
        values(&out, &t),
        [
            (FieldKind::Tfdt(1), 900_000 - 855_000),
            (FieldKind::Tfdt(2), 5_000_000_000 - 456_000),
            (FieldKind::Tfdt(3), 0),
            (FieldKind::Tfdt(1), 990_000 - 855_000),
        ]
    );
    assert_eq!(out.len(), seg.len());
}

#[test]
fn offsets_convert_with_rounding_and_never_go_negative() {
    let off = Offset {
        value: 1001,
        timescale: 30_000,
    };
    assert_eq!(off.ticks(90_000), 3003);
    assert_eq!(off.ticks(1000), 33); // 33.37
    assert_eq!(off.ticks(48_000), 1602); // 1601.6
    assert_eq!(Offset::ZERO.ticks(90_000), 0);
    let huge = Offset {
        value: u64::MAX,
        timescale: 1,
    };
    assert_eq!(huge.ticks(90_000), u64::MAX);
    // A later fragment before the file's start is clamped at 0, not wrapped.
    let t = tracks(&init(&[(1, 1000)])).unwrap();
    let seg = moof(&[traf(1, Some((false, 400)))]);
    let fields = scan(&seg, Some(&t)).unwrap();
    let mut out = seg.clone();
    rebase(
        &mut out,
        &fields,
        Offset {
            value: 1,
            timescale: 1,
        },
    );
    assert_eq!(values(&out, &t), [(FieldKind::Tfdt(1), 0)]);
}

#[test]
fn sidx_prft_and_emsg_move_with_the_fragments() {
    let t = tracks(&init(&[(1, 90_000)])).unwrap();
    let mut sidx = 1u32.to_be_bytes().to_vec(); // reference_ID
    sidx.extend_from_slice(&1000u32.to_be_bytes()); // timescale
    sidx.extend_from_slice(&20_000u64.to_be_bytes()); // earliest_presentation_time
    sidx.extend_from_slice(&0u64.to_be_bytes()); // first_offset
    sidx.extend_from_slice(&[0, 0, 0, 0]);
    let mut prft = 1u32.to_be_bytes().to_vec();
    prft.extend_from_slice(&0xDEAD_BEEF_0000_0001u64.to_be_bytes());
    prft.extend_from_slice(&1_800_000u32.to_be_bytes());
    let mut emsg = 10u32.to_be_bytes().to_vec();
    emsg.extend_from_slice(&200u64.to_be_bytes());
    emsg.extend_from_slice(&[0; 8]);
    emsg.extend_from_slice(b"urn:x\0\0");
    let seg = cat(&[
        bx(b"styp", b"msdh\0\0\0\0"),
        full(b"sidx", 1, &sidx),
        full(b"prft", 0, &prft),
        full(b"emsg", 1, &emsg),
        full(b"emsg", 0, &[0; 16]),
        moof(&[traf(1, Some((true, 1_800_000)))]),
        bx(b"mdat", &[1, 2, 3]),
    ]);
    let fields = scan(&seg, Some(&t)).unwrap();
    let off = earliest(&fields).unwrap();
    assert_eq!(off.seconds(), 20.0);
    let mut out = seg.clone();
    rebase(&mut out, &fields, off);
    assert_eq!(
        values(&out, &t),
        [
            (FieldKind::Sidx, 0),
            (FieldKind::Prft, 0),
            (FieldKind::Emsg, 0),
            (FieldKind::Tfdt(1), 0)
        ]
    );
    // The NTP time of the prft is kept.
    let p = seg.windows(4).position(|w| w == b"prft").unwrap() + 8;
    assert_eq!(out[p..p + 8], seg[p..p + 8]);
}

#[test]
fn a_self_initialising_segment_uses_its_own_moov() {
    let seg = cat(&[
        init(&[(1, 1000)]),
        moof(&[traf(1, Some((false, 5000)))]),
        bx(b"mdat", &[]),
    ]);
    let fields = scan(&seg, None).unwrap();
    assert_eq!(fields[0].timescale, 1000);
    assert!(scan(&moof(&[traf(1, Some((false, 1)))]), None).is_err());
}

#[test]
fn hostile_boxes_are_errors_not_panics_or_allocations() {
    let t = tracks(&init(&[(1, 1000)])).unwrap();
    let good = moof(&[traf(1, Some((false, 5)))]);
    // A box that declares more than there is (32-bit, and a 64-bit largesize of 2^63).
    let mut over = good.clone();
    over[3] = 0xFF;
    assert!(scan(&over, Some(&t)).is_err());
    let mut large = 1u32.to_be_bytes().to_vec();
    large.extend_from_slice(b"mdat");
    large.extend_from_slice(&(1u64 << 63).to_be_bytes());
    assert!(scan(&cat(&[good.clone(), large.clone()]), Some(&t)).is_err());
    // A largesize smaller than its own header, and a truncated largesize.
    let mut small = 1u32.to_be_bytes().to_vec();
    small.extend_from_slice(b"mdat");
    small.extend_from_slice(&8u64.to_be_bytes());
    assert!(scan(&cat(&[good.clone(), small]), Some(&t)).is_err());
    assert!(scan(&cat(&[good.clone(), large[..12].to_vec()]), Some(&t)).is_err());
    // A valid largesize, and a size-0 box running to the end.
    let mut ok = 1u32.to_be_bytes().to_vec();
    ok.extend_from_slice(b"mdat");
    ok.extend_from_slice(&20u64.to_be_bytes());
    ok.extend_from_slice(&[9; 4]);
    let mut to_end = 0u32.to_be_bytes().to_vec();
    to_end.extend_from_slice(b"mdat");
    to_end.extend_from_slice(&[7; 100]);
    assert_eq!(
        scan(&cat(&[good.clone(), ok, to_end]), Some(&t))
            .unwrap()
            .len(),
        1
    );
    // Sizes below the header, stray bytes, a tfdt too short for its version, a traf
    // without tfhd, a track the init does not know, no moof at all.
    let mut tiny = good.clone();
    tiny[..4].copy_from_slice(&4u32.to_be_bytes());
    assert!(scan(&tiny, Some(&t)).is_err());
    assert!(scan(&cat(&[good.clone(), vec![0, 0, 0]]), Some(&t)).is_err());
    let short = bx(
        b"moof",
        &bx(
            b"traf",
            &cat(&[
                full(b"tfhd", 0, &1u32.to_be_bytes()),
                full(b"tfdt", 1, &[0; 4]),
            ]),
        ),
    );
    assert!(scan(&short, Some(&t)).is_err());
    let no_tfhd = bx(b"moof", &bx(b"traf", &tfdt(false, 1)));
    assert!(scan(&no_tfhd, Some(&t)).is_err());
    let e = scan(&moof(&[traf(7, Some((false, 1)))]), Some(&t)).unwrap_err();
    assert!(e.to_string().contains("track 7"), "{e}");
    assert!(scan(&bx(b"mdat", &[0; 10]), Some(&t)).is_err());
    assert!(scan(&[], Some(&t)).is_err());
    assert!(tracks(&bx(b"moov", &[])).is_err());
    assert!(tracks(b"garbage!").is_err());
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let t = tracks(INIT).unwrap();
        let _ = tracks(&data);
        if let Some(fixed) = without_start_delay(&data) {
            prop_assert_eq!(fixed.len(), data.len());
        }
        if let Ok(fields) = scan(&data, Some(&t)) {
            let mut out = data.clone();
            rebase(&mut out, &fields, earliest(&fields).unwrap_or(Offset::ZERO));
        }
    }

    #[test]
    fn damaged_real_fragments_never_panic(
        flips in proptest::collection::vec((0usize..2000, any::<u8>()), 0..16),
        cut in 0usize..2000,
    ) {
        let t = tracks(INIT).unwrap();
        // Damage the boxes (the first 2000 bytes: styp, sidx, moof), and cut the mdat.
        let mut data = SEG_003[..SEG_003.len() - cut].to_vec();
        for (i, b) in flips {
            data[i] ^= b;
        }
        let mut init = INIT.to_vec();
        if let Some(x) = init.get_mut(cut % INIT.len()) {
            *x ^= 0x5A;
        }
        let _ = tracks(&init);
        if let Some(fixed) = without_start_delay(&init) {
            prop_assert_eq!(fixed.len(), init.len());
        }
        if let Ok(fields) = scan(&data, Some(&t)) {
            let mut out = data.clone();
            rebase(&mut out, &fields, earliest(&fields).unwrap_or(Offset::ZERO));
            prop_assert_eq!(out.len(), data.len());
        }
    }
}

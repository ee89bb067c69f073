use super::*;
use proptest::prelude::*;

#[test]
fn round_trips_under_the_cap() {
    let data = b"hello hello hello".repeat(100);
    assert_eq!(inflate(Codec::Zlib, &zlib(&data), 1 << 20).unwrap(), data);
    assert_eq!(inflate(Codec::Gzip, &gzip(&data), 1 << 20).unwrap(), data);
    assert_eq!(
        inflate(Codec::Brotli, &brotli_stored(&data), 1 << 20).unwrap(),
        data
    );
}

#[test]
fn the_stored_meta_block_header_matches_the_server_bytes() {
    // BAC's real-server example: a 114-byte inner packet behind `8b 38 80` (DANMAKU.md §A.2).
    assert_eq!(brotli_stored(&[0u8; 114])[..3], [0x8b, 0x38, 0x80]);
    // The §F.3 frame: a 570-byte inner packet behind `0b a3 81`... of a 830-byte body.
    assert_eq!(
        brotli_stored(&[0u8; 0x35b - 16 - 4])[..3],
        [0x0b, 0xa3, 0x81]
    );
}

#[test]
fn exactly_at_the_cap_passes_and_one_past_fails() {
    let data = vec![7u8; 1000];
    assert_eq!(
        inflate(Codec::Zlib, &zlib(&data), 1000).unwrap().len(),
        1000
    );
    assert_eq!(
        inflate(Codec::Zlib, &zlib(&data), 999),
        Err(InflateError::TooLarge {
            codec: Codec::Zlib,
            limit: 999
        })
    );
}

#[test]
fn a_bomb_stops_at_the_cap() {
    // 64 MiB of zeros compress to about 64 KiB.
    let bomb = zlib(&vec![0u8; 64 << 20]);
    assert!(bomb.len() < 100_000);
    assert!(matches!(
        inflate(Codec::Zlib, &bomb, 8 << 20),
        Err(InflateError::TooLarge { .. })
    ));
    let bomb = gzip(&vec![0u8; 64 << 20]);
    assert!(matches!(
        inflate(Codec::Gzip, &bomb, 8 << 20),
        Err(InflateError::TooLarge { .. })
    ));
}

#[test]
fn garbage_is_corrupt_not_a_panic() {
    for codec in [Codec::Zlib, Codec::Gzip, Codec::Brotli] {
        assert!(inflate(codec, b"\xffnot compressed at all", 1 << 20).is_err());
    }
}

proptest! {
    #[test]
    fn never_panics_on_random_input(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        for codec in [Codec::Zlib, Codec::Gzip, Codec::Brotli] {
            let _ = inflate(codec, &bytes, 1 << 16);
        }
    }
}

//! Properties of the FLV parser on a real file and on random bytes. The random-input cases are
//! the bounded-time fuzz run that CI executes on every build (the `fuzz/` target runs the same
//! harness under libFuzzer for as long as one likes, on nightly).

use liverec::media::flv::{Item, Parser};
use proptest::prelude::*;

fn fixture() -> Vec<u8> {
    std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/media/flv_640x360_20s.flv"
    ))
    .unwrap()
}

fn parse_with_cuts(data: &[u8], cuts: &[usize]) -> Vec<Item> {
    let mut p = Parser::default();
    let mut items = Vec::new();
    let mut at = 0;
    let mut cuts: Vec<usize> = cuts.iter().map(|c| c % (data.len() + 1)).collect();
    cuts.sort_unstable();
    cuts.push(data.len());
    for c in cuts {
        if c > at {
            p.push(&data[at..c]);
            at = c;
        }
        items.extend(&mut p);
    }
    items.extend(p.finish());
    items
}

#[test]
fn the_fixture_parses_into_every_tag() {
    let data = fixture();
    let items = parse_with_cuts(&data, &[]);
    let tags = items.iter().filter(|i| matches!(i, Item::Tag(_))).count();
    // 600 video + 863 audio frames, metadata, two sequence headers.
    assert_eq!(tags, 600 + 863 + 3);
    assert!(!items.iter().any(|i| matches!(i, Item::Skipped { .. })));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn any_chunking_of_a_real_file_yields_the_same_items(cuts in proptest::collection::vec(any::<usize>(), 0..200)) {
        let data = fixture();
        let whole = parse_with_cuts(&data, &[]);
        prop_assert_eq!(parse_with_cuts(&data, &cuts), whole);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic_or_grow_without_bound(data in proptest::collection::vec(any::<u8>(), 0..20_000), chunk in 1usize..5000) {
        let mut p = Parser::new(1 << 16);
        for c in data.chunks(chunk) {
            p.push(c);
            for _ in &mut p {}
            // Never more than one tag (the cap) plus what one push added is held.
            prop_assert!(p.pending() <= (1 << 16) + 15 + chunk);
        }
        let _ = p.finish();
    }

    #[test]
    fn a_damaged_real_file_never_panics(flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 0..64), chunk in 1usize..100_000) {
        let mut data = fixture();
        let n = data.len();
        for (at, b) in flips {
            data[at % n] = b;
        }
        let mut p = Parser::default();
        let mut count = 0usize;
        for c in data.chunks(chunk) {
            p.push(c);
            count += (&mut p).count();
        }
        prop_assert!(count > 0);
    }
}

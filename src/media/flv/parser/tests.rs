use super::super::tag::{encode_header, file_header};
use super::*;

fn tag(kind: TagKind, ts: i32, body: &[u8]) -> Vec<u8> {
    let mut v = encode_header(kind, body.len(), ts).to_vec();
    v.extend_from_slice(body);
    v.extend_from_slice(&((body.len() + TAG_HEADER) as u32).to_be_bytes());
    v
}

fn sample() -> Vec<u8> {
    let mut s = file_header(true, true).to_vec();
    s.extend(tag(TagKind::Script, 0, b"\x02\x00\x0aonMetaData\x05"));
    s.extend(tag(TagKind::Video, 0, &[0x17, 0, 0, 0, 0, 1, 2, 3]));
    s.extend(tag(TagKind::Audio, 0, &[0xaf, 0, 0x12, 0x10]));
    for i in 0..20 {
        s.extend(tag(
            TagKind::Video,
            i * 33,
            &[if i % 10 == 0 { 0x17 } else { 0x27 }, 1, 0, 0, 0, i as u8],
        ));
        s.extend(tag(TagKind::Audio, i * 23, &[0xaf, 1, i as u8, 7]));
    }
    s
}

fn parse_all(data: &[u8], chunk: usize) -> Vec<Item> {
    let mut p = Parser::default();
    let mut out = Vec::new();
    for c in data.chunks(chunk.max(1)) {
        p.push(c);
        out.extend(&mut p);
    }
    out.extend(p.finish());
    out
}

#[test]
fn parses_a_stream_in_any_chunking() {
    let s = sample();
    let whole = parse_all(&s, s.len());
    assert_eq!(whole.len(), 1 + 3 + 40);
    assert_eq!(
        whole[0],
        Item::Header {
            has_audio: true,
            has_video: true
        }
    );
    for n in [1, 2, 3, 7, 11, 15, 64] {
        assert_eq!(parse_all(&s, n), whole, "chunk size {n}");
    }
}

#[test]
fn a_torn_last_tag_is_reported_not_yielded() {
    let s = sample();
    let items = parse_all(&s[..s.len() - 3], 100);
    assert_eq!(
        items.iter().filter(|i| matches!(i, Item::Tag(_))).count(),
        42
    );
    // The last audio tag is 11 + 4 + 4 = 19 bytes; 16 of them arrived.
    assert!(
        matches!(items.last(), Some(Item::Skipped { bytes: 16, .. })),
        "{:?}",
        items.last()
    );
}

#[test]
fn garbage_between_tags_is_skipped_and_reported() {
    let s = sample();
    // After the script tag and the video header.
    let cut = 13
        + tag(TagKind::Script, 0, b"\x02\x00\x0aonMetaData\x05").len()
        + tag(TagKind::Video, 0, &[0x17, 0, 0, 0, 0, 1, 2, 3]).len();
    let mut g = s[..cut].to_vec();
    g.extend_from_slice(b"\x09\x00\x00\x05garbage that looks a bit like a tag \xff\x00");
    g.extend_from_slice(&s[cut..]);
    let items = parse_all(&g, 5);
    let skipped: usize = items
        .iter()
        .map(|i| {
            if let Item::Skipped { bytes, .. } = i {
                *bytes
            } else {
                0
            }
        })
        .sum();
    assert_eq!(skipped, 42);
    assert_eq!(
        items.iter().filter(|i| matches!(i, Item::Tag(_))).count(),
        43,
        "no real tag is lost"
    );
}

#[test]
fn a_second_header_mid_stream_is_reported() {
    let mut s = sample();
    s.extend(sample());
    let items = parse_all(&s, 9);
    let headers = items
        .iter()
        .filter(|i| matches!(i, Item::Header { .. }))
        .count();
    assert_eq!(headers, 2);
    assert_eq!(
        items.iter().filter(|i| matches!(i, Item::Tag(_))).count(),
        86
    );
}

#[test]
fn giant_tag_sizes_are_garbage_not_allocations() {
    let mut s = file_header(true, true).to_vec();
    s.extend_from_slice(&[9, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0]);
    s.extend(tag(TagKind::Audio, 5, &[0xaf, 1, 1]));
    let mut p = Parser::new(1 << 20);
    p.push(&s);
    let items: Vec<_> = p.by_ref().collect();
    assert!(
        matches!(items[1], Item::Skipped { bytes: 11, .. }),
        "{items:?}"
    );
    assert!(matches!(&items[2], Item::Tag(t) if t.timestamp == 5));
    assert!(p.pending() == 0);
}

#[test]
fn a_wrong_previous_tag_size_is_forgiven_when_a_tag_follows() {
    let mut s = file_header(false, true).to_vec();
    let mut t = tag(TagKind::Video, 0, &[0x17, 1, 0, 0, 0, 1]);
    let n = t.len();
    t[n - 4..].copy_from_slice(&[0, 0, 0, 0]);
    s.extend(t);
    s.extend(tag(TagKind::Video, 33, &[0x27, 1, 0, 0, 0, 2]));
    let items = parse_all(&s, 4);
    assert_eq!(
        items.iter().filter(|i| matches!(i, Item::Tag(_))).count(),
        2,
        "{items:?}"
    );
}

#[test]
fn a_stream_without_header_still_parses() {
    let s = sample();
    let items = parse_all(&s[13..], 7);
    assert_eq!(
        items.iter().filter(|i| matches!(i, Item::Tag(_))).count(),
        43
    );
}

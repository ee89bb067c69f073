use super::*;

fn drain(lines: &mut LineBuffer) -> Vec<String> {
    std::iter::from_fn(|| lines.next_line())
        .map(|l| String::from_utf8(l).unwrap())
        .collect()
}

#[test]
fn lines_split_across_chunks() {
    let mut lines = LineBuffer::new(64);
    lines.push(b"{\"a\":1}\n{\"b\"").unwrap();
    assert_eq!(drain(&mut lines), ["{\"a\":1}"]);
    lines.push(b":2}\n\n").unwrap();
    assert_eq!(drain(&mut lines), ["{\"b\":2}"]);
    lines.push(b"{\"c\":3}").unwrap();
    assert!(drain(&mut lines).is_empty());
    lines.finish();
    assert_eq!(drain(&mut lines), ["{\"c\":3}"]);
}

#[test]
fn an_overlong_line_is_refused_and_memory_stays_bounded() {
    let mut lines = LineBuffer::new(8);
    lines.push(b"12345").unwrap();
    assert_eq!(lines.push(b"6789"), Err(8));
    let mut lines = LineBuffer::new(8);
    assert_eq!(lines.push(b"ok\n0123456789"), Err(8));
    let mut lines = LineBuffer::new(8);
    // Many short lines are fine however long the chunk.
    lines.push(b"a\nb\nc\nd\ne\nf\n").unwrap();
    assert_eq!(drain(&mut lines).len(), 6);
    for _ in 0..1000 {
        lines.push(b"1234567\n").unwrap();
        assert_eq!(drain(&mut lines), ["1234567"]);
    }
    assert!(lines.buf.capacity() < 64, "consumed lines are dropped");
}

#[test]
fn the_real_stream_fixture_splits_into_its_frames() {
    let path = format!(
        "{}/tests/fixtures/etcd/watch_stream.ndjson",
        env!("CARGO_MANIFEST_DIR")
    );
    let bytes = std::fs::read(path).unwrap();
    let mut lines = LineBuffer::new(4096);
    // Feed it in awkward pieces.
    for piece in bytes.chunks(37) {
        lines.push(piece).unwrap();
    }
    lines.finish();
    let frames: Vec<_> = drain(&mut lines)
        .iter()
        .map(|l| wire::decode_watch_frame(l.as_bytes()).unwrap())
        .collect();
    assert_eq!(frames.len(), 7);
    assert_eq!(frames[0], WatchFrame::Created { revision: 1 });
}

#[test]
fn backoff_doubles_up_to_the_cap_with_jitter() {
    let mut b = Backoff::new(Duration::from_secs(1));
    let delays: Vec<_> = (0..6).map(|_| b.next_delay()).collect();
    assert!(delays[0] >= Duration::from_millis(150) && delays[0] <= Duration::from_millis(250));
    assert!(delays[5] >= Duration::from_millis(750) && delays[5] <= Duration::from_millis(1250));
    b.reset();
    assert!(b.next_delay() <= Duration::from_millis(250));
}

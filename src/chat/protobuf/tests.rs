use super::*;
use proptest::prelude::*;

fn fields(buf: &[u8]) -> Result<Vec<(u32, Value<'_>)>, ProtoError> {
    Reader::new(buf).collect()
}

#[test]
fn reads_every_wire_type() {
    let mut buf = Writer::new().varint(1, 300).bytes(2, b"hi").finish();
    buf.extend_from_slice(&[0x19, 1, 0, 0, 0, 0, 0, 0, 0]); // field 3, fixed64 = 1
    buf.extend_from_slice(&[0x25, 2, 0, 0, 0]); // field 4, fixed32 = 2
    assert_eq!(
        fields(&buf).unwrap(),
        vec![
            (1, Value::Varint(300)),
            (2, Value::Bytes(b"hi")),
            (3, Value::Fixed64(1)),
            (4, Value::Fixed32(2)),
        ]
    );
}

#[test]
fn the_largest_varint_and_a_negative_int32() {
    let buf = Writer::new()
        .varint(1, u64::MAX)
        .varint(2, -3i64 as u64)
        .finish();
    let f = fields(&buf).unwrap();
    assert_eq!(f[0].1.as_u64(), Some(u64::MAX));
    assert_eq!(f[1].1.as_i64(), Some(-3));
}

#[test]
fn rejects_what_is_not_protobuf() {
    // 11-byte varint.
    assert!(matches!(
        fields(&[
            0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f
        ]),
        Err(ProtoError::VarintTooLong { .. })
    ));
    // Truncated varint (DANMAKU.md §F.3 fault list).
    assert_eq!(fields(&[0x08, 0x80]), Err(ProtoError::Truncated { at: 2 }));
    // Length past the end.
    assert!(matches!(
        fields(&[0x12, 0x05, b'a']),
        Err(ProtoError::Truncated { .. })
    ));
    // A length near u64::MAX must not overflow the bounds check.
    assert!(
        fields(&[
            0x12, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01
        ])
        .is_err()
    );
    // Group start.
    assert!(matches!(
        fields(&[0x0b]),
        Err(ProtoError::BadWireType { wire_type: 3, .. })
    ));
    // Field 0.
    assert!(matches!(
        fields(&[0x00, 0x01]),
        Err(ProtoError::BadFieldNumber { .. })
    ));
}

#[test]
fn stops_after_the_first_error() {
    let mut r = Reader::new(&[0x0b, 0x08, 0x01]);
    assert!(r.next().unwrap().is_err());
    assert!(r.next().is_none());
}

proptest! {
    #[test]
    fn never_panics_on_random_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        let _ = fields(&bytes);
    }

    #[test]
    fn varints_round_trip(v in any::<u64>(), field in 1u32..(1 << 29)) {
        let buf = Writer::new().varint(field, v).finish();
        prop_assert_eq!(fields(&buf).unwrap(), vec![(field, Value::Varint(v))]);
    }
}

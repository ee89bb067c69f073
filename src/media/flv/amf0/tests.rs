use super::*;

#[test]
fn round_trips() {
    let v = vec![
        Value::String("onMetaData".into()),
        Value::EcmaArray(vec![
            ("duration".into(), Value::Number(12.5)),
            ("stereo".into(), Value::Bool(true)),
            ("encoder".into(), Value::String("Lavf".into())),
            (
                "keyframes".into(),
                Value::Object(vec![(
                    "times".into(),
                    Value::StrictArray(vec![Value::Number(0.0), Value::Number(2.0)]),
                )]),
            ),
            ("n".into(), Value::Null),
        ]),
    ];
    let mut buf = Vec::new();
    for x in &v {
        encode(x, &mut buf);
    }
    assert_eq!(decode(&buf).unwrap(), v);
    assert_eq!(v[1].get("duration").and_then(Value::as_number), Some(12.5));
}

#[test]
fn hostile_input_is_an_error_not_an_allocation() {
    // A strict array claiming 4 billion elements.
    assert!(decode(&[10, 0xff, 0xff, 0xff, 0xff, 0]).is_err());
    // Deep nesting.
    let deep: Vec<u8> = std::iter::repeat_n([3u8, 0, 1, b'a'], 100)
        .flatten()
        .collect();
    assert!(decode(&deep).is_err());
    assert!(decode(&[2, 0, 10, b'x']).is_err());
    assert!(decode(&[42]).is_err());
}

#[test]
fn decodes_the_fixture_metadata() {
    let data = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/media/flv_640x360_20s.flv"
    ))
    .unwrap();
    // The script tag starts at 13; its body at 24 and is 268 bytes.
    let v = decode(&data[24..24 + 268]).unwrap();
    assert_eq!(v[0].as_str(), Some("onMetaData"));
    assert_eq!(v[1].get("width").and_then(Value::as_number), Some(640.0));
    assert_eq!(v[1].get("framerate").and_then(Value::as_number), Some(30.0));
}

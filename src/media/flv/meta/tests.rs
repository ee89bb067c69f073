use super::*;

#[test]
fn the_length_depends_only_on_capacity() {
    let mut m = Metadata::default();
    let empty = m.encode(100).len();
    m.duration = 3600.5;
    m.filesize = 1e9;
    m.keyframes = (0..60).map(|i| (i as f64 * 2.0, i as f64 * 1e6)).collect();
    assert_eq!(m.encode(100).len(), empty);
    m.keyframes = (0..500).map(|i| (i as f64, i as f64)).collect();
    assert_eq!(
        m.encode(100).len(),
        empty,
        "extra keyframes are dropped, not grown into"
    );
}

#[test]
fn decodes_its_own_layout_and_nothing_else() {
    let mut m = Metadata {
        width: 640.0,
        height: 360.0,
        ..Default::default()
    };
    m.keyframes = vec![(0.0, 400.0), (2.0, 9000.0)];
    let (back, cap) = Metadata::decode_ours(&m.encode(50)).unwrap();
    assert_eq!(cap, 50);
    assert_eq!((back.width, back.height), (640.0, 360.0));
    let mut foreign = Vec::new();
    amf0::encode(&Value::String("onMetaData".into()), &mut foreign);
    amf0::encode(
        &Value::EcmaArray(vec![("width".into(), Value::Number(1.0))]),
        &mut foreign,
    );
    assert!(Metadata::decode_ours(&foreign).is_none());
}

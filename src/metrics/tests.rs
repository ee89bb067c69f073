use super::*;

#[test]
fn renders_prometheus_text() {
    count(
        "liverec_test_total",
        "A test counter.",
        &[("room", "a\"b")],
        2,
    );
    count(
        "liverec_test_total",
        "A test counter.",
        &[("room", "a\"b")],
        1,
    );
    let mut w = Writer::new();
    w.gauge("liverec_up", "Whether liverec runs.", 1.0);
    w.counters();
    let text = w.finish();
    assert!(
        text.contains("# TYPE liverec_up gauge\nliverec_up 1\n"),
        "{text}"
    );
    assert!(
        text.contains("liverec_test_total{room=\"a\\\"b\"} 3"),
        "{text}"
    );
}

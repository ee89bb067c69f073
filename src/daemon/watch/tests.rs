use super::*;

#[tokio::test]
async fn blank_means_empty_or_whitespace_only() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("c.toml");
    for (text, blank) in [
        ("", true),
        (" \n\t\r\n", true),
        ("# a comment\n", false),
        ("poll_interval = \"5s\"\n", false),
    ] {
        std::fs::write(&f, text).unwrap();
        assert_eq!(is_blank(&f).await, blank, "{text:?}");
    }
    assert!(!is_blank(&dir.path().join("missing.toml")).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_save_is_skipped_and_the_next_save_reloads() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("recorder.toml");
    std::fs::write(&f, "poll_interval = \"5s\"\n").unwrap();
    let (tx, mut rx) = mpsc::channel(8);
    let _w = watch(&f, tx).expect("the folder can be watched");
    // Truncated by a writer that has not written yet.
    std::fs::write(&f, "").unwrap();
    let got = tokio::time::timeout(SETTLE * 5, rx.recv()).await;
    assert!(got.is_err(), "an empty file was reloaded");
    // The writer finishes: one reload.
    std::fs::write(&f, "poll_interval = \"10s\"\n").unwrap();
    let got = tokio::time::timeout(Duration::from_secs(10), rx.recv()).await;
    assert!(
        matches!(
            got,
            Ok(Some(DaemonCmd::Reload {
                source: "config file changed",
                ..
            }))
        ),
        "{got:?}"
    );
}

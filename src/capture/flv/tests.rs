use super::*;

#[test]
fn an_end_before_media_says_what_came() {
    let three = Duration::from_secs(3);
    assert_eq!(
        no_media(b"", Early::Silent(three)),
        "connected, but no bytes for 3s"
    );
    assert_eq!(
        no_media(b"FLV\x01\x05\0\0\0\x09\0\0\0\0", Early::Silent(three)),
        "connected, but no media for 3s after the FLV header"
    );
    assert_eq!(
        no_media(b"", Early::Closed),
        "the stream server closed the connection before the first byte"
    );
    assert_eq!(
        no_media(b"FL", Early::Closed),
        "the stream server closed the connection after the FLV header, before any media"
    );
    let html = no_media(b"<html>", Early::Closed);
    assert!(
        html.starts_with("the stream is not FLV: starts with"),
        "{html}"
    );
}

/// A stream server on 127.0.0.1:0 whose one answer is HTTP 200 with `body` and then,
/// when `hang`, nothing more (the connection stays open).
async fn server(body: &'static [u8], hang: bool) -> String {
    use axum::response::IntoResponse;
    let app = axum::Router::new().fallback(move || async move {
        let first = futures_util::stream::iter(
            (!body.is_empty()).then(|| Ok::<_, std::io::Error>(bytes::Bytes::from(body))),
        );
        let rest = futures_util::stream::poll_fn(move |_| {
            if hang {
                std::task::Poll::Pending
            } else {
                std::task::Poll::Ready(None)
            }
        });
        axum::body::Body::from_stream(first.chain(rest)).into_response()
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    format!("http://{addr}/live.flv")
}

/// Pulls `url` with a short stall timeout; the end, and how many messages the writer got.
async fn pull(url: &str) -> (PullEnd, usize) {
    let source = StreamSource {
        below: None,
        url: url.into(),
        format: StreamFormat::Flv,
        quality: "source".into(),
        headers: Default::default(),
    };
    let (tx, mut rx) = mpsc::channel(8);
    let end = pull_flv(
        &reqwest::Client::new(),
        &source,
        &tx,
        Duration::from_millis(300),
        &CancellationToken::new(),
    )
    .await;
    drop(tx);
    let mut messages = 0;
    while rx.recv().await.is_some() {
        messages += 1;
    }
    (end, messages)
}

const FLV_HEAD: &[u8] = b"FLV\x01\x05\0\0\0\x09\0\0\0\0";

#[tokio::test]
async fn a_source_that_fails_before_its_first_media_byte_is_refused_and_writes_nothing() {
    for (body, hang, want) in [
        (&b""[..], true, "connected, but no bytes for 300ms"),
        (
            FLV_HEAD,
            true,
            "connected, but no media for 300ms after the FLV header",
        ),
        (
            &b""[..],
            false,
            "the stream server closed the connection before the first byte",
        ),
        (
            FLV_HEAD,
            false,
            "the stream server closed the connection after the FLV header, before any media",
        ),
    ] {
        let url = server(body, hang).await;
        let (end, messages) = pull(&url).await;
        assert_eq!(end, PullEnd::Refused(want.into()), "{body:?} hang={hang}");
        assert_eq!(messages, 0, "the writer saw nothing of it");
    }
}

#[tokio::test]
async fn one_tag_after_the_header_is_media() {
    // The header and the start of a script tag, then silence: the writer has the stream.
    const BODY: &[u8] = b"FLV\x01\x05\0\0\0\x09\0\0\0\0\x12";
    let url = server(BODY, true).await;
    let (end, messages) = pull(&url).await;
    assert_eq!(end, PullEnd::Stalled(Duration::from_millis(300)));
    // Connect, the bytes, Disconnect.
    assert_eq!(messages, 3);
}

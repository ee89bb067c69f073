use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::Request;
use axum::response::IntoResponse;
use bytes::Bytes;
use reqwest::StatusCode;
use reqwest::header::HeaderValue;

use super::*;

pub(crate) const MEDIA: &str =
    "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:7\n#EXTINF:2,\n7.ts\n";

/// One answer of the test server: status, content type, body (`None`: a body that never comes).
pub(crate) type Answer = (u16, &'static str, Option<&'static str>);

/// A server on 127.0.0.1:0 answering `routes` (path -> answer, 404 otherwise); it records each
/// request's path and whether it carried the test header. (The direct platform's tests use it
/// too.)
pub(crate) async fn serve(
    routes: Vec<(&'static str, Answer)>,
) -> (String, Arc<Mutex<Vec<(String, bool)>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    let routes: HashMap<&'static str, Answer> = routes.into_iter().collect();
    let app = axum::Router::new().fallback(move |req: Request| {
        let path = req.uri().path().to_string();
        log.lock()
            .unwrap()
            .push((path.clone(), req.headers().contains_key("x-test")));
        let answer = routes.get(path.as_str()).copied();
        async move {
            match answer {
                Some((status, content_type, body)) => {
                    let body = match body {
                        Some(b) => axum::body::Body::from(Bytes::from_static(b.as_bytes())),
                        None => axum::body::Body::from_stream(futures_util::stream::pending::<
                            Result<Bytes, std::io::Error>,
                        >()),
                    };
                    (
                        StatusCode::from_u16(status).unwrap(),
                        [(reqwest::header::CONTENT_TYPE, content_type)],
                        body,
                    )
                        .into_response()
                }
                None => StatusCode::NOT_FOUND.into_response(),
            }
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://{addr}"), seen)
}

pub(crate) const M3U8: &str = "application/vnd.apple.mpegurl";

pub(crate) fn master() -> &'static str {
    "#EXTM3U\n\
     #EXT-X-STREAM-INF:BANDWIDTH=300000,RESOLUTION=640x360\nlow/index.m3u8\n\
     #EXT-X-STREAM-INF:BANDWIDTH=1200000,RESOLUTION=1280x720\nhigh/index.m3u8\n"
}

async fn open(url: &str, quality: &[&str]) -> Result<Opened, PlaylistError> {
    let quality: Vec<String> = quality.iter().map(|q| q.to_string()).collect();
    open_media_playlist(
        &reqwest::Client::new(),
        url,
        &quality,
        Duration::from_secs(2),
        |_| {
            let mut h = HeaderMap::new();
            h.insert("x-test", HeaderValue::from_static("1"));
            h
        },
    )
    .await
}

#[tokio::test]
async fn a_media_playlist_opens_as_itself() {
    let (base, seen) = serve(vec![("/live/a.m3u8", (200, M3U8, Some(MEDIA)))]).await;
    let o = open(&format!("{base}/live/a.m3u8"), &[]).await.unwrap();
    assert_eq!(o.url.as_str(), format!("{base}/live/a.m3u8"));
    assert_eq!(o.playlist.media_sequence, 7);
    assert!(o.variant.is_none());
    assert_eq!(*seen.lock().unwrap(), [("/live/a.m3u8".to_string(), true)]);
}

#[tokio::test]
async fn a_master_playlist_leads_to_the_variant_the_quality_picks() {
    let (base, seen) = serve(vec![
        ("/live/master.m3u8", (200, M3U8, Some(master()))),
        ("/live/low/index.m3u8", (200, M3U8, Some(MEDIA))),
        ("/live/high/index.m3u8", (200, M3U8, Some(MEDIA))),
    ])
    .await;
    let url = format!("{base}/live/master.m3u8");
    for (quality, want, bandwidth) in [
        (&[][..], "/live/high/index.m3u8", 1_200_000),
        (&["360p"][..], "/live/low/index.m3u8", 300_000),
        (&["worst"][..], "/live/low/index.m3u8", 300_000),
    ] {
        seen.lock().unwrap().clear();
        let o = open(&url, quality).await.unwrap();
        assert_eq!(o.url.path(), want, "{quality:?}");
        let (v, of) = o.variant.unwrap();
        assert_eq!((v.bandwidth, of), (bandwidth, 2), "{quality:?}");
        // Both requests carry the headers given for their URL.
        assert_eq!(
            *seen.lock().unwrap(),
            [
                ("/live/master.m3u8".to_string(), true),
                (want.to_string(), true)
            ]
        );
    }
}

#[tokio::test]
async fn each_way_to_fail_has_its_own_error() {
    let (base, _) = serve(vec![
        ("/nested.m3u8", (200, M3U8, Some(master()))),
        ("/low/index.m3u8", (200, M3U8, Some(master()))),
        ("/high/index.m3u8", (200, M3U8, Some(master()))),
        ("/empty.m3u8", (200, M3U8, Some(""))),
        (
            "/html.m3u8",
            (200, "text/plain", Some("<html>sign in</html>")),
        ),
        (
            "/bad.m3u8",
            (200, M3U8, Some("#EXTM3U\n#EXT-X-TARGETDURATION:x\n")),
        ),
        ("/forbidden.m3u8", (403, "text/plain", Some("no"))),
        ("/hangs.m3u8", (200, M3U8, None)),
    ])
    .await;
    let err = |path: &'static str| {
        let url = format!("{base}{path}");
        async move { open(&url, &[]).await.unwrap_err() }
    };
    assert_eq!(err("/nested.m3u8").await, PlaylistError::NestedMaster);
    assert_eq!(err("/empty.m3u8").await, PlaylistError::Empty);
    assert_eq!(err("/gone.m3u8").await, PlaylistError::Status(404));
    assert_eq!(err("/forbidden.m3u8").await, PlaylistError::Status(403));
    let html = err("/html.m3u8").await;
    assert!(
        matches!(&html, PlaylistError::Invalid(t)
            if t.contains("not an HLS playlist") && t.contains("(text/plain)") && t.contains("<html>")),
        "{html}"
    );
    let bad = err("/bad.m3u8").await;
    assert!(
        matches!(&bad, PlaylistError::Invalid(t) if t.starts_with("bad HLS playlist")),
        "{bad}"
    );
    let hangs = err("/hangs.m3u8").await;
    assert_eq!(
        hangs,
        PlaylistError::Network("no answer within 2s".into()),
        "the timeout covers the body too"
    );
    // Nobody listening: a port that was just free.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let refused = open(&format!("http://{closed}/a.m3u8"), &[])
        .await
        .unwrap_err();
    assert!(
        matches!(refused, PlaylistError::Unreachable(_)),
        "{refused:?}"
    );
    let no_url = open("not a url", &[]).await.unwrap_err();
    assert!(
        matches!(&no_url, PlaylistError::Invalid(t) if t.starts_with("bad playlist URL")),
        "{no_url}"
    );
}

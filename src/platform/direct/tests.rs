use super::*;
use crate::platform::playlist::tests::{M3U8, MEDIA, master, serve};

fn spec(url: String, quality: &[&str]) -> RoomSpec {
    RoomSpec {
        key: RoomKey::new(PlatformKind::Direct, crate::platform::direct_id(&url)),
        url,
        quality: quality.iter().map(|q| q.to_string()).collect(),
        formats: Vec::new(),
        codecs: Vec::new(),
        cookie: None,
    }
}

const ENDED: &str = "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2,\n0.ts\n#EXT-X-ENDLIST\n";
const VOD: &str = "#EXTM3U\n#EXT-X-PLAYLIST-TYPE:VOD\n#EXT-X-TARGETDURATION:2\n#EXTINF:2,\n0.ts\n";

#[tokio::test]
async fn an_hls_room_is_judged_by_the_media_playlist_the_recording_would_open() {
    let (base, seen) = serve(vec![
        ("/live.m3u8", (200, M3U8, Some(MEDIA))),
        ("/ended.m3u8", (200, M3U8, Some(ENDED))),
        ("/vod.m3u8", (200, M3U8, Some(VOD))),
        ("/empty.m3u8", (200, M3U8, Some(""))),
        ("/forbidden.m3u8", (403, "text/plain", Some("no"))),
        ("/broken.m3u8", (503, "text/plain", Some("later"))),
        ("/html.m3u8", (200, "text/html", Some("<!DOCTYPE html>"))),
        // A master whose best variant has ended, and whose worst is live.
        ("/master.m3u8", (200, M3U8, Some(master()))),
        ("/high/index.m3u8", (200, M3U8, Some(ENDED))),
        ("/low/index.m3u8", (200, M3U8, Some(MEDIA))),
    ])
    .await;
    let direct = Direct::new(reqwest::Client::new());
    let status = |path: &str, quality: &'static [&'static str]| {
        let room = spec(format!("{base}{path}"), quality);
        let direct = &direct;
        async move { direct.status(&room).await }
    };
    let live = |s: Result<RoomStatus, PlatformError>| s.unwrap().live;
    assert!(live(status("/live.m3u8", &[]).await));
    assert!(!live(status("/ended.m3u8", &[]).await));
    assert!(!live(status("/vod.m3u8", &[]).await));
    assert!(!live(status("/empty.m3u8", &[]).await));
    assert!(!live(status("/gone.m3u8", &[]).await));
    assert!(
        !live(status("/master.m3u8", &[]).await),
        "the best variant ended"
    );
    assert!(live(status("/master.m3u8", &["worst"]).await));
    assert!(
        seen.lock().unwrap().iter().all(|(_, carried)| !carried),
        "a direct room sends no extra headers"
    );
    assert_eq!(
        status("/forbidden.m3u8", &[]).await,
        Err(PlatformError::Unsupported(
            "the server refused access (HTTP 403)".into()
        ))
    );
    assert_eq!(
        status("/broken.m3u8", &[]).await,
        Err(PlatformError::Network(
            "the playlist server answered HTTP 503".into()
        ))
    );
    let html = status("/html.m3u8", &[]).await;
    assert!(
        matches!(&html, Err(PlatformError::Malformed(t))
            if t.contains("(text/html) but the body is not an HLS playlist")),
        "{html:?}"
    );
    // Nobody listening: no stream there.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    assert!(!live(
        status_of(&direct, format!("http://{closed}/a.m3u8")).await
    ));
}

async fn status_of(direct: &Direct, url: String) -> Result<RoomStatus, PlatformError> {
    direct.status(&spec(url, &[])).await
}

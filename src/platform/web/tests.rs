use super::*;

#[test]
fn cookies_are_merged_and_sensitive() {
    let user = Secret::new("SESSDATA=abc; buvid3=X;");
    let v = cookie_header(Some(&user), &[("buvid3", "Y"), ("ttwid", "T")])
        .unwrap()
        .unwrap();
    assert!(v.is_sensitive());
    assert_eq!(v.to_str().unwrap(), "SESSDATA=abc; buvid3=X; ttwid=T");
    assert_eq!(cookie_header(None, &[]).unwrap(), None);
    assert_eq!(
        cookie_header(Some(&Secret::new("  ")), &[("a", "1")])
            .unwrap()
            .unwrap()
            .to_str()
            .unwrap(),
        "a=1"
    );
    let bad = Secret::new("a=1\nb=2");
    let e = cookie_header(Some(&bad), &[]).unwrap_err();
    assert!(!e.to_string().contains("a=1"), "never echo the cookie: {e}");
    // A configuration problem, not a room that cannot be recorded.
    assert!(matches!(e, PlatformError::Config(_)), "{e}");
}

/// A local server with a few bad answers.
async fn bad_server() -> String {
    use axum::response::IntoResponse;
    use axum::routing::get;
    let app = axum::Router::new()
        .route(
            "/huge",
            get(|| async { vec![b' '; 30 << 20].into_response() }),
        )
        .route(
            "/loop",
            get(|| async { (StatusCode::FOUND, [(header::LOCATION, "/loop")]).into_response() }),
        )
        .route(
            "/blocked",
            get(|| async {
                (
                    StatusCode::PRECONDITION_FAILED,
                    [(header::RETRY_AFTER, "5")],
                )
                    .into_response()
            }),
        )
        .route("/ok", get(|| async { r#"{"code":0}"# }))
        .route(
            "/s.example/hop/{n}",
            get(
                |axum::extract::Path(n): axum::extract::Path<u32>| async move {
                    (
                        StatusCode::FOUND,
                        [(header::LOCATION, format!("https://s.example/hop/{}", n + 1))],
                    )
                        .into_response()
                },
            ),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    format!("http://{addr}")
}

fn api() -> Api {
    Api::new(
        "test",
        crate::http::client().unwrap(),
        Limiter::new("test", super::super::limiter::Budget::DEFAULT),
    )
}

#[tokio::test]
async fn bodies_are_capped_and_redirect_loops_end() {
    let base = bad_server().await;
    let api = api();
    let ok = |b: &[u8]| Ok(b.len());
    let e = api
        .json(&format!("{base}/huge"), HeaderMap::new(), "huge", ok)
        .await
        .unwrap_err();
    assert!(
        matches!(&e, PlatformError::Malformed(m) if m.contains("larger than")),
        "{e}"
    );
    let e = api
        .json(&format!("{base}/loop"), HeaderMap::new(), "loop", ok)
        .await
        .unwrap_err();
    assert!(
        matches!(&e, PlatformError::Network(m) if m.contains("redirect")),
        "{e}"
    );
    assert_eq!(
        api.json(&format!("{base}/ok"), HeaderMap::new(), "ok", ok)
            .await
            .unwrap(),
        10
    );
}

#[tokio::test]
async fn http_412_pauses_the_platform_for_retry_after() {
    let base = bad_server().await;
    let api = api();
    let ok = |b: &[u8]| Ok(b.len());
    let e = api
        .json(&format!("{base}/blocked"), HeaderMap::new(), "info", ok)
        .await
        .unwrap_err();
    assert!(
        matches!(&e, PlatformError::Blocked(m) if m.contains("HTTP 412")),
        "{e}"
    );
    // Paused: the next call fails without reaching the server.
    let e = api
        .json(&format!("{base}/ok"), HeaderMap::new(), "ok", ok)
        .await
        .unwrap_err();
    assert!(
        matches!(&e, PlatformError::Blocked(m) if m.contains("backing off until")),
        "{e}"
    );
}

#[tokio::test]
async fn share_links_stop_after_a_few_hops() {
    let base = bad_server().await;
    let api = api();
    let via = mirror(&base);
    let e = api
        .follow_share("https://s.example/hop/0", &via, |_| Hop::<()>::Follow)
        .await
        .unwrap_err();
    assert!(
        matches!(&e, PlatformError::Malformed(m) if m.contains("more than")),
        "{e}"
    );
    let got = api
        .follow_share("https://s.example/hop/0", &via, |u| {
            if u.path() == "/hop/2" {
                Hop::Done(u.to_string())
            } else {
                Hop::Follow
            }
        })
        .await
        .unwrap();
    assert_eq!(got, "https://s.example/hop/2");
}

#[test]
fn block_statuses() {
    for code in [412, 429, 444] {
        assert!(
            is_block_status(StatusCode::from_u16(code).unwrap()),
            "{code}"
        );
    }
    for code in [200, 302, 403, 404, 500] {
        assert!(
            !is_block_status(StatusCode::from_u16(code).unwrap()),
            "{code}"
        );
    }
}

#[test]
fn retry_after_seconds() {
    let mut h = HeaderMap::new();
    assert_eq!(retry_after(&h), None);
    h.insert(header::RETRY_AFTER, HeaderValue::from_static("3"));
    assert_eq!(retry_after(&h), Some(Duration::from_secs(3)));
    h.insert(
        header::RETRY_AFTER,
        HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"),
    );
    assert_eq!(retry_after(&h), None);
}

/// Hosts with `base` as the mirror of a platform whose public API is elsewhere.
fn mirror(base: &str) -> Hosts {
    let cfg = PlatformConfig {
        api_base: Some(base.to_string()),
        ..PlatformConfig::default()
    };
    Hosts::new(&cfg, "https://api.example")
}

#[test]
fn a_mirror_takes_every_host_and_none_leaves_each_its_own() {
    let own = Hosts::new(&PlatformConfig::default(), "https://api.example");
    let m = mirror("http://127.0.0.1:9/");
    assert_eq!(own.api, "https://api.example");
    assert_eq!(m.api, "http://127.0.0.1:9");
    assert_eq!(own.other_api("https://nav.example"), "https://nav.example");
    assert_eq!(m.other_api("https://nav.example"), "http://127.0.0.1:9");
    assert_eq!(own.page("s.example", "/a"), "https://s.example/a");
    assert_eq!(m.page("s.example", "/a"), "http://127.0.0.1:9/s.example/a");
    let hop = url::Url::parse("http://s.example:8080/x/AbC?b=1&c=2").unwrap();
    assert_eq!(own.route(&hop), "http://s.example:8080/x/AbC?b=1&c=2");
    assert_eq!(m.route(&hop), "http://127.0.0.1:9/s.example/x/AbC?b=1&c=2");
    // The public base, however written, is no mirror.
    assert_eq!(
        Hosts::new(
            &PlatformConfig {
                api_base: Some("HTTPS://api.example:443/".into()),
                ..PlatformConfig::default()
            },
            "https://api.example"
        ),
        own
    );
}

use axum::http::{HeaderMap, HeaderName, HeaderValue};

use super::*;

fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (k, v) in pairs {
        h.insert(
            HeaderName::from_bytes(k.as_bytes()).unwrap(),
            HeaderValue::from_str(v).unwrap(),
        );
    }
    h
}

#[test]
fn scripts_without_origin_pass_with_or_without_a_token() {
    let h = headers(&[("host", "127.0.0.1:8787")]);
    assert_eq!(check(&h, false, true), Ok(()));
    assert_eq!(check(&h, true, true), Ok(()));
    assert_eq!(check(&HeaderMap::new(), false, true), Ok(()), "HTTP/1.0");
}

#[test]
fn the_status_page_posting_to_its_own_address_passes() {
    for (host, origin) in [
        ("127.0.0.1:8787", "http://127.0.0.1:8787"),
        ("[::1]:8787", "http://[::1]:8787"),
        ("localhost:8787", "http://LOCALHOST:8787"),
    ] {
        let h = headers(&[
            ("host", host),
            ("origin", origin),
            ("sec-fetch-site", "same-origin"),
        ]);
        assert_eq!(check(&h, false, true), Ok(()), "{host}");
    }
    // Behind a TLS proxy that passes the name on: the origin is https, Host the name.
    let h = headers(&[
        ("host", "rec.example.org"),
        ("origin", "https://rec.example.org"),
    ]);
    assert_eq!(check(&h, true, true), Ok(()));
    // A proxy that rewrites Host and says where the request went.
    for forwarded in ["rec.example.org", "rec.example.org, 10.0.0.5:8080"] {
        let h = headers(&[
            ("host", "127.0.0.1:8787"),
            ("x-forwarded-host", forwarded),
            ("origin", "https://rec.example.org"),
        ]);
        assert_eq!(check(&h, true, true), Ok(()), "{forwarded}");
    }
    let h = headers(&[
        ("host", "127.0.0.1:8787"),
        ("x-forwarded-host", ""),
        ("origin", "https://rec.example.org"),
    ]);
    assert!(check(&h, true, true).is_err());
}

#[test]
fn a_foreign_page_is_refused_even_with_a_token_set() {
    let h = headers(&[
        ("host", "127.0.0.1:8787"),
        ("origin", "https://evil.example"),
    ]);
    let e = check(&h, true, true).unwrap_err();
    assert!(matches!(e, Refusal::ForeignOrigin { .. }));
    assert!(e.to_string().contains("evil.example"), "{e}");
    // Another port of the same host is another origin.
    let h = headers(&[
        ("host", "127.0.0.1:8787"),
        ("origin", "http://127.0.0.1:9999"),
    ]);
    assert!(check(&h, false, true).is_err());
    // Sandboxed frames and file:// pages send "null".
    let h = headers(&[("host", "127.0.0.1:8787"), ("origin", "null")]);
    assert!(check(&h, false, true).is_err());
    // A form or an image from another site: no Origin on a GET, but the fetch metadata says it.
    let h = headers(&[("host", "127.0.0.1:8787"), ("sec-fetch-site", "cross-site")]);
    assert_eq!(check(&h, true, true), Err(Refusal::CrossSite));
}

#[test]
fn without_a_token_a_rebound_name_is_refused_on_tcp_only() {
    let h = headers(&[("host", "attacker.example:8787")]);
    let e = check(&h, false, true).unwrap_err();
    assert!(e.to_string().contains("set [control] token"), "{e}");
    // Its own page, same origin as far as the browser knows: still refused.
    let h = headers(&[
        ("host", "attacker.example:8787"),
        ("origin", "http://attacker.example:8787"),
    ]);
    assert!(matches!(
        check(&h, false, true),
        Err(Refusal::NamedHost { .. })
    ));
    // With a token the name is fine (the page cannot have it); on a socket, too.
    assert_eq!(check(&h, true, true), Ok(()));
    assert_eq!(check(&h, false, false), Ok(()));
    for ok in [
        "localhost",
        "localhost.",
        "rec.localhost:80",
        "10.0.0.2:8787",
        "[fe80::1]",
    ] {
        assert_eq!(
            check(&headers(&[("host", ok)]), false, true),
            Ok(()),
            "{ok}"
        );
    }
    for bad in [
        "liverec",
        "127.0.0.1.nip.io",
        "[::1",
        "localhost.evil.example",
    ] {
        assert!(
            check(&headers(&[("host", bad)]), false, true).is_err(),
            "{bad}"
        );
    }
}

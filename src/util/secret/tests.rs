use super::*;

#[test]
fn secrets_do_not_print() {
    let s = Secret::new("SESSDATA=abc");
    assert_eq!(format!("{s} {s:?}"), "[redacted] [redacted]");
    assert_eq!(s.expose(), "SESSDATA=abc");
}

#[test]
fn urls_lose_their_query_and_credentials() {
    assert_eq!(
        redact_url("https://u:p@cdn.example/live/a.flv?expires=1&sign=abc"),
        "https://cdn.example/live/a.flv?…"
    );
    assert_eq!(
        redact_url("http://127.0.0.1:80/a.flv"),
        "http://127.0.0.1/a.flv"
    );
    assert_eq!(redact_url("not a url?token=x"), "not a url?…");
}

#[test]
fn webhook_urls_keep_only_their_host() {
    assert_eq!(
        redact_endpoint("https://discord.com/api/webhooks/123/tok3n?wait=true"),
        "https://discord.com/…"
    );
    assert_eq!(
        redact_endpoint("http://u:p@127.0.0.1:9000/"),
        "http://127.0.0.1:9000"
    );
    assert_eq!(redact_endpoint("hooks.slack.com/T0/B0/x"), "(not a URL)");
}

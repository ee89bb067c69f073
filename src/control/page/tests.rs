use super::*;

#[test]
fn the_page_loads_nothing_from_elsewhere_and_runs_no_inline_script() {
    for (name, text) in [("index.html", INDEX), ("page.css", CSS), ("page.js", JS)] {
        // The one URL that is a name, not a place: SVG's namespace.
        let text = text.replace("http://www.w3.org/2000/svg", "");
        for bad in [
            "http://",
            "https://",
            "//cdn",
            "@import",
            "innerHTML",
            "eval(",
        ] {
            assert!(!text.contains(bad), "{name} contains {bad:?}");
        }
    }
    // One script, by relative URL; no inline handlers.
    assert_eq!(INDEX.matches("<script").count(), 1);
    assert!(INDEX.contains(r#"<script src="page.js" defer></script>"#));
    let handler = INDEX.match_indices(" on").any(|(i, _)| {
        let rest = &INDEX[i + 3..];
        let word = rest.len()
            - rest
                .trim_start_matches(|c: char| c.is_ascii_lowercase())
                .len();
        word > 0 && rest[word..].starts_with('=')
    });
    assert!(!handler, "an inline event handler");
    assert!(
        !INDEX.contains("style="),
        "inline styles are blocked by the CSP"
    );
    // The page asks only the API, by relative URL (it may sit behind a proxy's sub-path).
    assert!(!JS.contains("'/api"), "absolute API path");
}

use super::*;

const F: &[&str] = &["name", "title"];
const T: &[&str] = &["start"];

#[test]
fn renders_fields_and_escaped_braces() {
    let t = Template::parse("{name}/{start:%Y}_{title}{{x}}", F, T).unwrap();
    let out = t.render(|n, f| format!("<{n}:{}>", f.unwrap_or("-")));
    assert_eq!(out, "<name:->/<start:%Y>_<title:->{x}");
}

#[test]
fn time_fields_default_their_format() {
    let t = Template::parse("{start}", F, T).unwrap();
    assert_eq!(t.render(|_, f| f.unwrap().to_string()), DEFAULT_TIME_FORMAT);
}

#[test]
fn errors_are_specific() {
    assert!(
        Template::parse("{nme}", F, T)
            .unwrap_err()
            .contains("unknown placeholder {nme}")
    );
    assert!(
        Template::parse("{name:%Y}", F, T)
            .unwrap_err()
            .contains("takes no format")
    );
    assert!(
        Template::parse("{start:%Q}", F, T)
            .unwrap_err()
            .contains("not a valid time format")
    );
    assert!(
        Template::parse("{name", F, T)
            .unwrap_err()
            .contains("unclosed")
    );
    assert!(
        Template::parse("a}b", F, T)
            .unwrap_err()
            .contains("unmatched")
    );
}

#[test]
fn unicode_inside_braces_is_skipped_correctly() {
    let t = Template::parse("{start:%Y年}x", F, T).unwrap();
    assert_eq!(t.render(|_, _| "Y".into()), "Yx");
}

#[test]
fn format_time_never_panics() {
    let t = chrono::Local::now();
    assert_eq!(format_time(&t, "%Y").len(), 4);
}

use chrono::NaiveDate;

use super::*;

fn at(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> chrono::NaiveDateTime {
    NaiveDate::from_ymd_opt(y, mo, d)
        .and_then(|d| d.and_hms_opt(h, mi, 0))
        .unwrap()
}

fn windows(list: &[&str]) -> Windows {
    Windows::parse(&list.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap()
}

fn error(list: &[&str]) -> String {
    Windows::parse(&list.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap_err()
}

// 2026-12-05 is a Saturday.
#[test]
fn a_window_across_midnight_holds_both_sides_and_names_its_edges() {
    let w = windows(&["18:00-02:00"]);
    let inside = w.at(at(2026, 12, 5, 23, 30));
    assert!(inside.inside);
    assert_eq!(inside.next_edge, Some(at(2026, 12, 6, 2, 0)));
    let after_midnight = w.at(at(2026, 12, 6, 1, 59));
    assert!(after_midnight.inside);
    assert_eq!(after_midnight.next_edge, Some(at(2026, 12, 6, 2, 0)));
    let outside = w.at(at(2026, 12, 6, 2, 0));
    assert!(!outside.inside, "the end is not inside");
    assert_eq!(outside.next_edge, Some(at(2026, 12, 6, 18, 0)));
    assert!(w.at(at(2026, 12, 6, 18, 0)).inside, "the start is inside");
}

#[test]
fn weekdays_name_the_day_a_window_starts_and_the_week_wraps() {
    let w = windows(&["sat 10:00-14:00", "sun 23:00-01:00"]);
    // Friday noon: next is Saturday 10:00.
    let fri = w.at(at(2026, 12, 4, 12, 0));
    assert!(!fri.inside);
    assert_eq!(fri.next_edge, Some(at(2026, 12, 5, 10, 0)));
    assert!(w.at(at(2026, 12, 5, 13, 0)).inside);
    assert!(!w.at(at(2026, 12, 6, 13, 0)).inside, "not on Sunday");
    // Sunday's window runs into Monday, across the week's end.
    let monday = w.at(at(2026, 12, 7, 0, 30));
    assert!(monday.inside);
    assert_eq!(monday.next_edge, Some(at(2026, 12, 7, 1, 0)));
    // From Monday 01:00 the next start is Saturday.
    assert_eq!(
        w.at(at(2026, 12, 7, 1, 0)).next_edge,
        Some(at(2026, 12, 12, 10, 0))
    );
}

#[test]
fn ranges_lists_and_touching_windows() {
    let w = windows(&["mon-fri 09:00-12:00", "12:00-13:00", "sat,sun 00:00-24:00"]);
    // Weekday: 09:00-12:00 and 12:00-13:00 are one window, ending at 13:00.
    let tue = w.at(at(2026, 12, 8, 11, 0));
    assert!(tue.inside);
    assert_eq!(tue.next_edge, Some(at(2026, 12, 8, 13, 0)));
    // The weekend is one window from Saturday 00:00 to Monday 00:00 (the 12:00-13:00 of the
    // days inside it are swallowed).
    let sat = w.at(at(2026, 12, 5, 3, 0));
    assert!(sat.inside);
    assert_eq!(sat.next_edge, Some(at(2026, 12, 7, 0, 0)));
    // A range across the week's end.
    let fm = windows(&["fri-mon 20:00-21:00"]);
    assert!(fm.at(at(2026, 12, 7, 20, 30)).inside, "Monday");
    assert!(!fm.at(at(2026, 12, 8, 20, 30)).inside, "Tuesday");
}

#[test]
fn no_windows_and_a_whole_week_are_always_inside_without_an_edge() {
    let none = windows(&[]);
    let a = none.at(at(2026, 12, 5, 1, 0));
    assert!(a.inside && a.next_edge.is_none());
    let all = windows(&["00:00-24:00"]);
    let a = all.at(at(2026, 12, 5, 1, 0));
    assert!(a.inside && a.next_edge.is_none());
}

#[test]
fn seconds_may_be_written() {
    let w = windows(&["10:00:30-10:01"]);
    assert!(!w.at(at(2026, 12, 5, 10, 0)).inside);
    let t = at(2026, 12, 5, 10, 0) + chrono::Duration::seconds(30);
    assert!(w.at(t).inside);
}

#[test]
fn bad_windows_say_which_entry_and_why() {
    assert_eq!(
        error(&["18:00-02:00", "25:00-02:00"]),
        "record_window[1] = \"25:00-02:00\": hour 25 is out of range"
    );
    assert_eq!(
        error(&["18:60-02:00"]),
        "record_window[0] = \"18:60-02:00\": minute 60 is out of range"
    );
    assert_eq!(
        error(&["caturday 10:00-11:00"]),
        "record_window[0] = \"caturday 10:00-11:00\": \"caturday\" is not a day (mon, tue, wed, thu, fri, sat, sun)"
    );
    assert!(error(&["18:00"]).contains("expected \"HH:MM-HH:MM\""));
    assert!(error(&["6pm-2am"]).contains("is not a time"));
    assert!(error(&["24:00-02:00"]).contains("hour 24 is out of range"));
}

#[test]
fn titles_pass_include_and_exclude() {
    let rules = RecordRules {
        title_include: Some(Pattern::parse("(?i)live").unwrap()),
        title_exclude: Some(Pattern::parse("replay|重播").unwrap()),
        ..RecordRules::default()
    };
    assert!(rules.title_passes("LIVE tonight").is_ok());
    assert_eq!(
        rules.title_passes("chatting").unwrap_err().to_string(),
        "title \"chatting\" does not match title_include /(?i)live/"
    );
    assert_eq!(
        rules.title_passes("live 重播").unwrap_err().to_string(),
        "title \"live 重播\" matches title_exclude /replay|重播/"
    );
    assert!(rules.title_passes("").is_ok(), "an unknown title passes");
    assert_eq!(
        Pattern::parse("(unclosed").unwrap_err(),
        "not a regular expression: unclosed group"
    );
    assert!(
        Pattern::parse(&"a{1000}{1000}".repeat(2)).is_err(),
        "bounded size"
    );
}

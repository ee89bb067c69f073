use super::*;

#[test]
fn unknown_names_are_logged_once_and_bounded() {
    let mut names = UnknownNames::default();
    assert!(names.note("WATCHED_CHANGE"));
    assert!(!names.note("WATCHED_CHANGE"));
    for i in 0..200 {
        names.note(&format!("X{i}"));
    }
    assert_eq!(names.total(), 202);
    assert!(names.seen.len() <= UnknownNames::REMEMBERED);
}

#[test]
fn short_name_cuts_on_a_char_boundary() {
    assert_eq!(short_name("弹幕弹幕", 4), "弹");
    assert_eq!(short_name("abc", 10), "abc");
}

#[test]
fn uid_zero_is_masked() {
    assert!(
        User {
            uid: 0,
            name: "t***".into()
        }
        .is_masked()
    );
    assert!(
        !User {
            uid: 1,
            name: "t".into()
        }
        .is_masked()
    );
}

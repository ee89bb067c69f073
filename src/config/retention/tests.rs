use std::path::Path;

use super::*;
use crate::config::parse;

fn problems(text: &str) -> Vec<String> {
    match parse(text, Path::new("/etc/liverec/r.toml")) {
        Ok(_) => Vec::new(),
        Err(e) => e.lines().collect(),
    }
}

fn retention(text: &str) -> Option<RetentionConfig> {
    parse(text, Path::new("/etc/liverec/r.toml"))
        .unwrap_or_else(|e| panic!("{e}"))
        .retention
}

#[test]
fn retention_is_off_without_its_section_and_reads_every_key_with_it() {
    assert_eq!(retention(""), None);
    let r = retention(
        "[retention]\nkeep_for = \"7d\"\nmin_free_space_target = \"10%\"\nrequire_hooks_done = false\ndelete_chat = false\nrooms = [\"alice\"]\ninterval = \"5m\"\n",
    )
    .unwrap();
    assert_eq!(r.keep_for, Some(Duration::from_secs(7 * 86400)));
    assert_eq!(r.min_free_space_target, Some(SpaceTarget::Percent(10.0)));
    assert!(!r.require_hooks_done && !r.delete_chat);
    assert_eq!(r.rooms, ["alice"]);
    assert_eq!(r.interval, Duration::from_secs(300));
    let d = retention("[retention]\nmin_free_space_target = \"50GiB\"\n").unwrap();
    assert_eq!(d.min_free_space_target, Some(SpaceTarget::Bytes(50 << 30)));
    assert!(d.require_hooks_done && d.delete_chat && d.rooms.is_empty());
    assert_eq!(d.interval, Duration::from_secs(60));
    assert_eq!(SpaceTarget::Percent(10.0).bytes(1000), 100);
    assert_eq!(SpaceTarget::Bytes(7).bytes(1000), 7);
}

#[test]
fn bad_retention_values_are_refused_with_their_key() {
    let p = problems("[retention]\nrequire_hooks_done = true\n");
    assert!(
        p.iter()
            .any(|l| l.contains("retention: needs keep_for or min_free_space_target")),
        "{p:?}"
    );
    for (line, says) in [
        (
            "keep_for = \"0s\"",
            "retention.keep_for: must be more than 0s",
        ),
        (
            "keep_for = \"1week\"",
            "retention.keep_for: \"1week\" is not a duration",
        ),
        (
            "min_free_space_target = \"100%\"",
            "must be a share between 0% and 100%",
        ),
        ("min_free_space_target = \"0B\"", "must be more than 0B"),
        ("min_free_space_target = \"lots\"", "is not a size"),
        (
            "interval = \"0s\"",
            "retention.interval: must be at least 1s",
        ),
        (
            "kep_for = \"1d\"",
            "retention.kep_for: unknown key (did you mean \"keep_for\"?)",
        ),
    ] {
        let p = problems(
            &format!("[retention]\nkeep_for = \"1d\"\n{line}\n")
                .replace("keep_for = \"1d\"\nkeep_for", "keep_for"),
        );
        assert!(p.iter().any(|l| l.contains(says)), "{line}: {p:?}");
    }
}

#[test]
fn check_warns_of_a_retention_that_could_never_act() {
    let c = parse(
        "min_free_space = \"10GiB\"\n[retention]\nmin_free_space_target = \"5GiB\"\n",
        Path::new("/etc/liverec/r.toml"),
    )
    .unwrap();
    let w: Vec<String> = c
        .warnings
        .iter()
        .map(|p| format!("{}: {}", p.key, p.reason))
        .collect();
    assert!(
        w.iter()
            .any(|l| l
                .starts_with("retention.min_free_space_target: 5GiB is not above min_free_space")),
        "{w:?}"
    );
    assert!(
        w.iter().any(|l| l.starts_with(
            "retention.require_hooks_done: no hook or webhook takes segment_complete"
        )),
        "{w:?}"
    );
}

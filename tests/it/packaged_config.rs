//! The config the Debian package installs as /etc/liverec/recorder.toml: `liverec check` (the
//! unit's ExecStartPre) fails on it until the user replaces its placeholder room, pointing at
//! that line, and passes once they have, with the package's paths.

use std::process::Command;

const PACKAGED: &str = include_str!("../../packaging/recorder.toml");

fn check(dir: &std::path::Path, text: &str) -> (i32, String, String) {
    let path = dir.join("recorder.toml");
    std::fs::write(&path, text).unwrap();
    let out = Command::new(crate::support::daemon::bin())
        .args(["check", "-c"])
        .arg(&path)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn the_packaged_config_fails_on_its_placeholder_and_passes_with_a_room() {
    let dir = tempfile::tempdir().unwrap();
    let placeholder_line = PACKAGED
        .lines()
        .position(|l| l.contains("REPLACE-WITH-YOUR-ROOM-URL"))
        .expect("a placeholder room")
        + 1;

    let (code, _, err) = check(dir.path(), PACKAGED);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains(&format!(":{placeholder_line}: rooms[0].url:")),
        "{err}"
    );
    assert!(
        err.contains("has 1 problem(s)"),
        "only the placeholder: {err}"
    );

    let edited = PACKAGED.replace(
        "REPLACE-WITH-YOUR-ROOM-URL",
        "https://live.bilibili.com/21452505",
    );
    let (code, out, err) = check(dir.path(), &edited);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("valid, 1 room(s)"), "{out}");
    // Everything the service writes is under /var/lib/liverec (its only writable path).
    for (key, path) in [
        ("output_dir", "/var/lib/liverec/recordings"),
        ("state_dir", "/var/lib/liverec/state"),
        ("lock_dir", "/var/lib/liverec/state/locks"),
    ] {
        assert!(
            out.lines()
                .any(|l| l.split_whitespace().collect::<Vec<_>>() == [key, path]),
            "{key} is not {path}: {out}"
        );
    }
}

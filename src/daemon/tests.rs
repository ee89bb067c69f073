use super::*;
use std::path::Path;

fn cfg(text: &str) -> Config {
    config::parse(text, Path::new("/etc/liverec/recorder.toml")).expect("valid config")
}

#[test]
fn a_reload_cannot_take_the_token_from_a_public_api() {
    let public = cfg("[control]\nlisten = \"0.0.0.0:8787\"\ntoken = \"s3cret\"\n");
    // The new file moves the API to loopback and drops the token; the move only happens at
    // a restart, so until then the API would be public without a token.
    let new = cfg("[control]\nlisten = \"127.0.0.1:8787\"\n");
    let why = restart_keys(&public, &new).expect_err("must be refused");
    assert_eq!(why.key, "control.token");
    let line = ConfigErrors::new(&new.file, vec![why]).to_string();
    assert!(
        line.starts_with("/etc/liverec/recorder.toml: control.token: required while"),
        "{line}"
    );
    assert!(line.contains("0.0.0.0:8787"), "{line}");

    let kept = cfg("[control]\nlisten = \"127.0.0.1:8787\"\ntoken = \"other\"\n");
    assert_eq!(
        restart_keys(&public, &kept),
        Ok(vec!["control.listen".into()])
    );
    // On loopback, a token may come and go.
    let local = cfg("[control]\nlisten = \"127.0.0.1:8787\"\ntoken = \"s3cret\"\n");
    assert_eq!(restart_keys(&local, &new), Ok(vec![]));
}

#[test]
fn keys_that_need_a_restart_are_named() {
    let old = cfg("");
    let new = cfg("output_dir = \"/srv/rec\"\nmax_recordings = 3\n");
    assert_eq!(
        restart_keys(&old, &new),
        Ok(vec![
            "output_dir".into(),
            "state_dir".into(),
            "lock_dir".into(),
            "max_recordings".into()
        ])
    );
    let ua = cfg("[platforms.douyin]\nuser_agent = \"Mozilla/5.0 Chrome/150.0.0.0\"\n");
    assert_eq!(
        restart_keys(&old, &ua),
        Ok(vec!["platforms.*.user_agent".into()])
    );
    // The budget is the limiter's, made once: a change waits for a restart. Spelling out
    // the default changes nothing.
    let slower = cfg("[platforms.douyin]\nrequests_per_second = 0.5\n");
    assert_eq!(
        restart_keys(&old, &slower),
        Ok(vec!["platforms.*.requests_per_second".into()])
    );
    let same = cfg("[platforms.bilibili]\nrequests_per_second = 4.0\nburst = 4\n");
    assert_eq!(restart_keys(&old, &same), Ok(vec![]));
    // Keys that apply on reload are not named.
    let live =
        cfg("min_free_space = \"1GiB\"\nshutdown_timeout = \"1m\"\npoll_interval = \"5s\"\n");
    assert_eq!(restart_keys(&old, &live), Ok(vec![]));
}

#[test]
fn a_reload_keeps_the_running_value_of_every_restart_only_key() {
    use crate::config::keys::{Applies, KEYS};
    let old = cfg("");
    let pw = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(pw.path(), "hunter2\n").unwrap();
    let pw_path = pw.path().display().to_string();
    let new = cfg(
        &"output_dir = \"/srv/rec\"\nmax_recordings = 3\nshutdown_timeout = \"1m\"\n\
         [control]\nlisten = \"127.0.0.1:9999\"\ntoken = \"t\"\n\
         [cluster]\nbackend = \"etcd\"\nendpoints = [\"http://10.0.0.1:2379\"]\nname = \"home\"\n\
         instance = \"nas-9\"\nlease_ttl = \"5s\"\nweight = 2.0\non_lease_loss = \"stop\"\n\
         handover_overlap = \"10s\"\nuser = \"u\"\npassword_file = \"PASSWORD_FILE\"\n\
         [platforms.douyin]\napi_base = \"http://mirror.example\"\n\
         user_agent = \"Mozilla/5.0 Chrome/150.0.0.0\"\nrequests_per_second = 0.5\nburst = 1\n"
            .replace("PASSWORD_FILE", &pw_path),
    );
    // The new file changes every key of the table that applies only at a restart.
    let all: Vec<String> = KEYS
        .iter()
        .filter(|k| k.applies() == Applies::Restart)
        .map(|k| k.path())
        .collect();
    assert_eq!(restart_keys(&old, &new), Ok(all.clone()));
    // After the reload the daemon still runs the old values, so the next reload names them
    // again; what applies on reload is taken.
    let running = running_after(&old, new.clone());
    assert_eq!(restart_keys(&running, &new), Ok(all));
    assert_eq!(running.control.token, new.control.token);
    assert_eq!(running.shutdown_timeout, Duration::from_secs(60));
    assert_eq!(running.rooms.len(), new.rooms.len());
}

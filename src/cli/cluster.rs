//! `liverec cluster status` (members, weights, owners, throttles, read from etcd with the
//! config's `[cluster]`) and `liverec cluster drain` (asks the local daemon, through its
//! control API, to take nothing new and exit once its sessions end: for upgrades).

use std::path::Path;
use std::process::ExitCode;

use crate::config::Backend;
use crate::control::client;

pub(crate) fn status(path: &Path, json: bool) -> ExitCode {
    let config = match super::load_or_report(path) {
        Ok(c) => c,
        Err(code) => return code,
    };
    if config.cluster.backend == Backend::Local {
        eprintln!(
            "liverec: {} has no [cluster] backend = \"etcd\": instances coordinate through lock_dir ({})",
            path.display(),
            config.lock_dir.display()
        );
        return ExitCode::FAILURE;
    }
    let rt = match super::runtime() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("liverec: {e}");
            return ExitCode::FAILURE;
        }
    };
    let settings = crate::daemon::cluster::settings(&config.cluster);
    match rt.block_on(crate::cluster::report::read(&settings)) {
        Ok(view) => {
            let now = std::time::SystemTime::now();
            if json {
                println!("{}", crate::cluster::report::json(&view, now));
            } else {
                print!(
                    "{}",
                    crate::cluster::report::text(&settings.name, &view, now)
                );
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("liverec: {e}");
            ExitCode::FAILURE
        }
    }
}

pub(crate) fn drain(path: &Path) -> ExitCode {
    let (config, rt) = match super::config_and_runtime(path) {
        Ok(both) => both,
        Err(code) => return code,
    };
    let listen = client::address(&config);
    match rt.block_on(client::request(
        &listen,
        config.control.token.as_ref(),
        "POST",
        "/api/cluster/drain",
    )) {
        Ok((200, body)) => {
            let v: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
            println!("{}", v["summary"].as_str().unwrap_or(body.trim()));
            ExitCode::SUCCESS
        }
        Ok((code, body)) => {
            eprintln!(
                "liverec: the daemon at {listen} answered {code}: {}",
                body.trim()
            );
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("liverec: {e}");
            ExitCode::FAILURE
        }
    }
}

//! `liverec repair FILE...`: the same routine the daemon runs on leftovers at start-up.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::recovery::repair::repair_file;

pub(crate) fn run(files: &[PathBuf]) -> ExitCode {
    let mut failed = 0;
    for f in files {
        match repair_file(f) {
            Ok(out) if out.is_empty() => println!("{}: nothing recoverable; removed", f.display()),
            Ok(out) => {
                for r in out {
                    let how = if r.remuxed {
                        "re-muxed into"
                    } else {
                        "repaired:"
                    };
                    println!(
                        "{}: {how} {} ({} bytes)",
                        f.display(),
                        r.path.display(),
                        r.bytes
                    );
                }
            }
            Err(e) => {
                eprintln!("{}: {e}", f.display());
                failed += 1;
            }
        }
    }
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

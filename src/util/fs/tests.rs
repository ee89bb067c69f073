use std::fs::File;

use fs2::FileExt;

use super::is_contended;

#[test]
fn a_lock_held_elsewhere_is_contention_and_other_errors_are_not() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x.lock");
    let holder = File::create(&path).unwrap();
    holder.try_lock_exclusive().unwrap();
    // flock locks belong to an open file description: a second open in this process is as much
    // another holder as another process is. (fs2's calls, as in the code that uses the check:
    // std's own `try_lock*` return another error type.)
    let other = File::open(&path).unwrap();
    let e = other.try_lock_exclusive().unwrap_err();
    assert!(is_contended(&e), "{e:?}");
    let e = FileExt::try_lock_shared(&other).unwrap_err();
    assert!(is_contended(&e), "{e:?}");
    FileExt::unlock(&holder).unwrap();
    FileExt::try_lock_shared(&other).unwrap();
    for e in [
        std::io::Error::from(std::io::ErrorKind::NotFound),
        std::io::Error::from(std::io::ErrorKind::Unsupported),
        // What a filesystem without lock support (some NFS setups) answers.
        std::io::Error::from_raw_os_error(libc::ENOLCK),
    ] {
        assert!(!is_contended(&e), "{e:?}");
    }
}

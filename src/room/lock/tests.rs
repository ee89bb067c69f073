use super::*;
use crate::platform::PlatformKind;

#[test]
fn one_holder_at_a_time_even_within_a_process() {
    let dir = tempfile::tempdir().unwrap();
    let key = RoomKey::new(PlatformKind::Bilibili, "1");
    let Acquire::Held(lock) = RoomLock::try_acquire(dir.path(), &key, "s1").unwrap() else {
        panic!("first acquire must succeed");
    };
    lock.set_part(Some(Path::new("/rec/a.flv.part")));
    match RoomLock::try_acquire(dir.path(), &key, "s2").unwrap() {
        Acquire::Busy(h) => {
            assert_eq!(h.pid, std::process::id().to_string());
            assert_eq!(h.session, "s1");
            assert_eq!(h.part.as_deref(), Some(Path::new("/rec/a.flv.part")));
        }
        Acquire::Held(_) => panic!("second acquire must see the lock busy"),
    }
    let path = lock_path(dir.path(), &key);
    assert!(is_held(&path).unwrap());
    assert_eq!(parts_named_in(dir.path()).len(), 1);
    drop(lock);
    assert!(!is_held(&path).unwrap());
    assert!(matches!(
        RoomLock::try_acquire(dir.path(), &key, "s3").unwrap(),
        Acquire::Held(_)
    ));
}

#[test]
fn an_unwritable_lock_dir_is_an_error_naming_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("not-a-dir");
    std::fs::write(&file, b"x").unwrap();
    let key = RoomKey::new(PlatformKind::Douyin, "9");
    let err = match RoomLock::try_acquire(&file, &key, "s") {
        Err(e) => e,
        Ok(_) => panic!("must fail"),
    };
    assert!(err.to_string().contains("not-a-dir"), "{err}");
}

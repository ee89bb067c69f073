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

#[test]
fn a_lock_file_name_reads_back_as_its_room_key() {
    let dir = Path::new("/var/lib/liverec/locks");
    for key in [
        "bilibili:21452505",
        "douyin:742345678901",
        "douyin:a.b",
        "douyin:a_b",
        "douyin:a-b",
        "direct:0512036feba4f343",
    ] {
        let k = RoomKey::parse(key).unwrap();
        let path = lock_path(dir, &k);
        assert_eq!(path.parent(), Some(dir), "{key}: one name in lock_dir");
        assert_eq!(key_of_lock(&path).as_deref(), Some(key), "{path:?}");
    }
    // Two rooms, two files: a dot is not folded into an underscore.
    let name = |k: &str| lock_path(dir, &RoomKey::parse(k).unwrap());
    assert_ne!(name("douyin:a.b"), name("douyin:a_b"));
    // What could leave the folder or hide the file is replaced, and reads back replaced.
    let odd = name("douyin:ab/../c");
    assert_eq!(odd, dir.join("douyin-ab_.._c.lock"));
    assert_eq!(key_of_lock(&odd).as_deref(), Some("douyin:ab_.._c"));
    assert_eq!(key_of_lock(Path::new("/x/nodash.lock")), None);
}

use super::*;
use crate::platform::{PlatformKind, RoomKey};
use crate::room::lock::{Acquire, RoomLock};
use crate::segment::part::PartFile;

#[test]
fn leftovers_are_renamed_and_live_files_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("rec");
    let state = out.join(".liverec");
    let locks = state.join("locks");
    std::fs::create_dir_all(out.join("a")).unwrap();
    std::fs::create_dir_all(&locks).unwrap();
    // A crash leftover, named by a dead holder's lock file (not FLV: kept as is).
    std::fs::write(out.join("a/old.bin.part"), b"some-data").unwrap();
    std::fs::write(
        locks.join("bilibili-7.lock"),
        format!(
            "host=h\npid=1\nsession=s\npart={}\n",
            out.join("a/old.bin.part").display()
        ),
    )
    .unwrap();
    // Its final name is taken already: recovery must not overwrite it.
    std::fs::write(out.join("a/old.bin"), b"keep").unwrap();
    // A file being written right now by a live writer.
    let mut live = PartFile::create(&out.join("a/live"), "flv").unwrap();
    live.write_unit(&[b"x"]).unwrap();
    live.flush().unwrap();
    // An empty, old leftover.
    std::fs::write(out.join("a/empty.ts.part"), b"").unwrap();
    let old = SystemTime::now() - Duration::from_secs(120);
    std::fs::File::options()
        .write(true)
        .open(out.join("a/empty.ts.part"))
        .unwrap()
        .set_modified(old)
        .unwrap();
    // Something in the state folder is never touched.
    std::fs::write(state.join("x.flv.part"), b"x").unwrap();

    let outcomes = recover_all(&out, &state, &locks, &mut |_, _, _| {});
    assert_eq!(outcomes.len(), 3, "{outcomes:?}");
    let recovered: Vec<_> = outcomes
        .iter()
        .filter_map(|o| match o {
            Outcome::Recovered(r) => Some(r),
            _ => None,
        })
        .collect();
    assert_eq!(recovered.len(), 1);
    assert_eq!(recovered[0].files[0].path, out.join("a/old_1.bin"));
    assert_eq!(recovered[0].room.as_deref(), Some("bilibili:7"));
    assert_eq!(std::fs::read(out.join("a/old.bin")).unwrap(), b"keep");
    assert!(
        outcomes
            .iter()
            .any(|o| matches!(o, Outcome::InUse(p) if p == live.part_path()))
    );
    assert!(
        outcomes
            .iter()
            .any(|o| matches!(o, Outcome::RemovedEmpty(_)))
    );
    assert!(live.part_path().exists());
    assert!(state.join("x.flv.part").exists());
}

#[test]
fn a_part_whose_room_lock_is_held_is_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("rec");
    let locks = dir.path().join("locks");
    std::fs::create_dir_all(&out).unwrap();
    let part = out.join("r.ts.part");
    std::fs::write(&part, [0x47u8; 188]).unwrap();
    let key = RoomKey::new(PlatformKind::Douyin, "5");
    let Acquire::Held(l) = RoomLock::try_acquire(&locks, &key, "s").unwrap() else {
        panic!()
    };
    l.set_part(Some(&part));
    let outcomes = recover_all(&out, &dir.path().join("state"), &locks, &mut |_, _, _| {});
    assert!(matches!(&outcomes[..], [Outcome::InUse(_)]), "{outcomes:?}");
    drop(l);
    let outcomes = recover_all(&out, &dir.path().join("state"), &locks, &mut |_, _, _| {});
    assert!(
        matches!(&outcomes[..], [Outcome::Recovered(r)] if r.room.as_deref() == Some("douyin:5")),
        "{outcomes:?}"
    );
}

//! Tests of the spool discipline on a real file system.

use super::archive::Placed;
use super::*;
use rustix::fs::FileType;
use std::os::unix::fs::{symlink, PermissionsExt};

fn spool() -> (tempfile::TempDir, SpoolDir) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = SpoolDir::create(tmp.path().join("requests"), 0o750).expect("create");
    (tmp, dir)
}

fn name(s: &str) -> SpoolName {
    SpoolName::parse(s).expect("valid name")
}

#[test]
fn publish_is_whole_and_leaves_no_temporary() {
    let (_t, dir) = spool();
    dir.publish(&name("a.json"), b"{\"x\":1}", Publish::NoReplace)
        .expect("publish");
    assert_eq!(
        dir.read("a.json", MAX_SPOOL_FILE).expect("read"),
        b"{\"x\":1}"
    );
    assert_eq!(dir.entries().expect("list"), vec![OsString::from("a.json")]);
    let mode = std::fs::metadata(dir.path())
        .expect("stat")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o750);
}

#[test]
fn no_replace_keeps_the_first_record() {
    let (_t, dir) = spool();
    dir.publish(&name("a.json"), b"first", Publish::NoReplace)
        .expect("publish");
    let again = dir.publish(&name("a.json"), b"second", Publish::NoReplace);
    assert!(matches!(again, Err(SpoolError::AlreadyExists { .. })));
    assert_eq!(dir.read("a.json", 100).expect("read"), b"first");
    assert_eq!(
        dir.entries().expect("list").len(),
        1,
        "temporary file left behind"
    );
    dir.publish(&name("a.json"), b"third", Publish::Replace)
        .expect("replace");
    assert_eq!(dir.read("a.json", 100).expect("read"), b"third");
}

#[test]
fn stale_temporary_from_a_crash_is_replaced() {
    let (_t, dir) = spool();
    std::fs::write(dir.join(".a.json.tmp"), b"half").expect("stale tmp");
    dir.publish(&name("a.json"), b"whole", Publish::NoReplace)
        .expect("publish");
    assert_eq!(dir.read("a.json", 100).expect("read"), b"whole");
    assert!(!dir.exists(".a.json.tmp").expect("stat"));
}

#[test]
fn read_refuses_symlinks_fifos_dirs_hardlinks_and_oversize() {
    let (t, dir) = spool();
    let secret = t.path().join("secret");
    std::fs::write(&secret, b"{}").expect("secret");
    symlink(&secret, dir.join("link.json")).expect("symlink");
    assert!(matches!(
        dir.read("link.json", 100),
        Err(ReadError::Symlink { .. })
    ));
    rustix::fs::mknodat(
        dir.fd(),
        "fifo.json",
        FileType::Fifo,
        Mode::from_raw_mode(0o600),
        0,
    )
    .expect("fifo");
    assert!(matches!(
        dir.read("fifo.json", 100),
        Err(ReadError::NotRegular { kind: "FIFO", .. })
    ));
    std::fs::create_dir(dir.join("d.json")).expect("dir");
    assert!(matches!(
        dir.read("d.json", 100),
        Err(ReadError::NotRegular { .. })
    ));
    std::fs::hard_link(&secret, dir.join("hard.json")).expect("hard link");
    assert!(matches!(
        dir.read("hard.json", 100),
        Err(ReadError::HardLinked { links: 2, .. })
    ));
    std::fs::write(dir.join("big.json"), vec![b' '; 101]).expect("big");
    assert!(matches!(
        dir.read("big.json", 100),
        Err(ReadError::TooLarge { .. })
    ));
    assert!(dir
        .read("missing.json", 100)
        .is_err_and(|e| e.is_not_found()));
}

#[test]
fn open_refuses_a_symlinked_directory() {
    let (t, dir) = spool();
    let link = t.path().join("evil");
    symlink(dir.path(), &link).expect("symlink");
    assert!(matches!(
        SpoolDir::open(&link),
        Err(SpoolError::NotADirectory { .. })
    ));
}

#[test]
fn scan_separates_spool_files_from_temporaries_and_hostile_names() {
    let (_t, dir) = spool();
    for f in [
        "b.json",
        "a.json",
        ".a.json.tmp",
        "notes.txt",
        "evil name.json",
    ] {
        std::fs::write(dir.join(f), b"{}").expect("write");
    }
    let scan = dir.scan().expect("scan");
    assert_eq!(scan.files, vec![name("a.json"), name("b.json")]);
    assert_eq!(scan.unusable, vec![OsString::from("evil name.json")]);
}

#[test]
fn move_to_claims_exactly_once() {
    let (_t, dir) = spool();
    let claimed = dir.subdir(".claimed", Some(0o750)).expect("subdir");
    dir.publish(&name("a.json"), b"{}", Publish::NoReplace)
        .expect("publish");
    assert!(dir
        .move_to("a.json", &claimed, "a.json")
        .expect("first claim"));
    assert!(!dir
        .move_to("a.json", &claimed, "a.json")
        .expect("second claim"));
    assert!(claimed.exists("a.json").expect("stat"));
    assert!(claimed.remove("a.json").expect("remove"));
    assert!(!claimed.remove("a.json").expect("remove again"));
}

#[test]
fn heartbeat_touch_moves_mtime() {
    let (_t, dir) = spool();
    dir.publish(&name("h.json"), b"{}", Publish::Replace)
        .expect("publish");
    let old = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1000);
    std::fs::File::options()
        .write(true)
        .open(dir.join("h.json"))
        .and_then(|f| f.set_modified(old))
        .expect("set old mtime");
    assert_eq!(dir.modified("h.json").expect("stat"), Some(old));
    dir.touch("h.json").expect("touch");
    assert!(dir
        .modified("h.json")
        .expect("stat")
        .is_some_and(|t| t > old));
    assert_eq!(dir.modified("none").expect("stat"), None);
}

#[test]
fn check_trusted_applies_the_one_rule_on_the_open_directory() {
    let (_t, dir) = spool();
    assert!(dir.check_trusted().is_ok());
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o770)).expect("chmod");
    assert!(dir.check_trusted().is_ok(), "group bits are allowed");
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).expect("chmod");
    let err = dir.check_trusted().expect_err("o+w");
    let msg = err.to_string();
    assert!(matches!(
        err,
        SpoolError::Untrusted(Untrusted::WorldWritable { mode: 0o777, .. })
    ));
    assert!(
        msg.contains("world-writable") && msg.contains("chmod o-w"),
        "{msg}"
    );
    assert!(msg.contains(&dir.path().display().to_string()), "{msg}");
}

#[test]
fn check_trusted_refuses_a_directory_owned_by_another_user() {
    let test = "check_trusted_refuses_a_directory_owned_by_another_user";
    if !system_tests::peers::require(test, &[system_tests::peers::root()]) {
        return;
    }
    let (_t, dir) = spool();
    std::os::unix::fs::chown(dir.path(), Some(65534), Some(65534)).expect("chown");
    let msg = dir.check_trusted().expect_err("foreign").to_string();
    assert!(msg.contains("owned by uid 65534"), "{msg}");
}

/// Only a regular file with one link may still be written: anything else must be looked at now.
#[test]
fn being_written_is_a_plain_file_with_one_link() {
    let (_t, dir) = spool();
    std::fs::write(dir.join("plain.json"), b"{").expect("write");
    assert!(dir.being_written("plain.json"));
    std::fs::hard_link(dir.join("plain.json"), dir.join("link.json")).expect("link");
    assert!(!dir.being_written("link.json"));
    assert!(!dir.being_written("plain.json"), "two links now");
    symlink("/etc/passwd", dir.join("sym.json")).expect("symlink");
    assert!(!dir.being_written("sym.json"));
    rustix::fs::mkfifoat(
        dir.fd(),
        "fifo.json",
        rustix::fs::Mode::from_raw_mode(0o600),
    )
    .expect("mkfifo");
    assert!(!dir.being_written("fifo.json"));
    std::fs::create_dir(dir.join("d.json")).expect("mkdir");
    assert!(!dir.being_written("d.json"));
    assert!(!dir.being_written("gone.json"));
}

fn events(inotify: &mut inotify::Inotify) -> Vec<(inotify::EventMask, Option<OsString>)> {
    let mut buf = [0u8; 4096];
    let read = inotify.read_events(&mut buf).expect("events pending");
    read.map(|e| (e.mask, e.name.map(OsStr::to_owned)))
        .collect()
}

#[test]
fn watch_reports_publication_and_creation_with_the_shared_mask() {
    use inotify::{EventMask, WatchMask};
    assert!(watch_mask().contains(WatchMask::DONT_FOLLOW | WatchMask::ONLYDIR));
    let (_t, dir) = spool();
    let mut inotify = dir.watch().expect("watch");
    dir.publish(&name("a.json"), b"{}", Publish::NoReplace)
        .expect("publish");
    let seen = events(&mut inotify);
    let a = Some(OsString::from("a.json"));
    assert!(seen.contains(&(EventMask::MOVED_TO, a)), "{seen:?}");
    symlink("/nowhere", dir.join("s.json")).expect("symlink");
    let seen = events(&mut inotify);
    assert!(
        seen.contains(&(EventMask::CREATE, Some("s.json".into()))),
        "{seen:?}"
    );
}

#[test]
fn watch_never_follows_a_symlink_to_a_directory() {
    let (t, dir) = spool();
    let link = t.path().join("link");
    symlink(dir.path(), &link).expect("symlink");
    let inotify = inotify::Inotify::init().expect("init");
    let err = inotify
        .watches()
        .add(&link, watch_mask())
        .expect_err("symlink");
    assert_eq!(
        err.raw_os_error(),
        Some(rustix::io::Errno::NOTDIR.raw_os_error())
    );
}

#[test]
fn watch_refuses_a_directory_swapped_in_after_opening() {
    let (t, dir) = spool();
    std::fs::rename(dir.path(), t.path().join("old")).expect("move away");
    std::fs::create_dir(dir.path()).expect("impostor");
    let err = dir.watch().expect_err("swapped");
    assert!(err.to_string().contains("was replaced"), "{err}");
}

/// A response directory with a record and its `.unfenced` archive.
fn with_archive() -> (tempfile::TempDir, SpoolDir, SpoolDir) {
    let (t, dir) = spool();
    let archive = dir.subdir(".unfenced", Some(0o750)).expect("archive");
    (t, dir, archive)
}

fn links(dir: &SpoolDir, name: &str) -> u64 {
    std::os::unix::fs::MetadataExt::nlink(&std::fs::metadata(dir.join(name)).expect("stat"))
}

/// Archiving unlinks the name from the source (a watcher sees IN_DELETE, which nnf-sos acts on;
/// a rename out would raise only IN_MOVED_FROM) and keeps the same content, one link, in the
/// archive.
#[test]
fn archive_unlinks_the_record_and_keeps_it_whole() {
    let (_t, dir, archive) = with_archive();
    dir.publish(&name("a.json"), b"record", Publish::NoReplace)
        .expect("publish");
    let mut inotify = inotify::Inotify::init().expect("inotify");
    inotify
        .watches()
        .add(
            dir.path(),
            inotify::WatchMask::DELETE | inotify::WatchMask::MOVED_FROM,
        )
        .expect("watch");
    let kept = dir.archive("a.json", &archive, MAX_SPOOL_FILE, 10);
    assert_eq!(kept.expect("archive"), Archived::Kept("a.json".into()));
    assert!(!dir.exists("a.json").expect("stat"));
    assert_eq!(archive.read("a.json", 100).expect("kept"), b"record");
    assert_eq!(links(&archive, "a.json"), 1);
    let seen = events(&mut inotify);
    assert!(
        seen.iter()
            .any(|(m, n)| m.contains(inotify::EventMask::DELETE)
                && n.as_deref() == Some(OsStr::new("a.json"))),
        "{seen:?}"
    );
    assert!(
        !seen
            .iter()
            .any(|(m, _)| m.contains(inotify::EventMask::MOVED_FROM)),
        "{seen:?}"
    );
}

/// A name already in the archive (the node was unfenced before) gets the first free
/// `<name>.<n>`; the older entries stay untouched. Past the bound, a typed error names the path.
#[test]
fn archive_takes_a_fresh_name_when_its_own_is_taken() {
    let (_t, dir, archive) = with_archive();
    for old in ["a.json", "a.json.1"] {
        std::fs::write(archive.join(old), b"old").expect("old");
    }
    dir.publish(&name("a.json"), b"new", Publish::NoReplace)
        .expect("publish");
    let kept = dir.archive("a.json", &archive, MAX_SPOOL_FILE, 10);
    assert_eq!(kept.expect("archive"), Archived::Kept("a.json.2".into()));
    assert_eq!(archive.read("a.json.2", 100).expect("kept"), b"new");
    assert_eq!(archive.read("a.json", 100).expect("old"), b"old");
    dir.publish(&name("a.json"), b"newer", Publish::NoReplace)
        .expect("publish");
    let full = dir.archive("a.json", &archive, MAX_SPOOL_FILE, 2);
    match full {
        Err(SpoolError::AlreadyExists { path }) => {
            assert!(path.ends_with(".unfenced/a.json.2"), "{path:?}")
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(dir.read("a.json", 100).expect("left in place"), b"newer");
}

/// A file someone else archived or removed first is reported gone, and nothing is added to the
/// archive.
#[test]
fn archive_of_a_missing_file_is_already_gone() {
    let (_t, dir, archive) = with_archive();
    let gone = dir.archive("a.json", &archive, MAX_SPOOL_FILE, 10);
    assert_eq!(gone.expect("archive"), Archived::AlreadyGone);
    assert!(archive.entries().expect("list").is_empty());
}

/// The race lost after linking: our entry is in the archive, but the unlink finds the file gone
/// (the other archiver unlinked it). Ours is a duplicate of theirs and is removed again.
#[test]
fn the_archiver_that_loses_the_unlink_removes_its_own_entry() {
    let (_t, dir, archive) = with_archive();
    std::fs::write(archive.join("a.json"), b"theirs").expect("theirs");
    std::fs::write(archive.join("a.json.1"), b"ours").expect("ours");
    assert!(!dir
        .unlink_or_undo("a.json", &archive, "a.json.1")
        .expect("undo"));
    assert_eq!(
        archive.entries().expect("list"),
        vec![OsString::from("a.json")]
    );
}

/// Where the file system refuses a link (EXDEV, EPERM), the copy fallback writes the record
/// whole under a free name, with no temporary left, and the archive still ends with the unlink.
#[test]
fn the_copy_fallback_writes_the_record_whole_under_a_free_name() {
    let (_t, dir, archive) = with_archive();
    std::fs::write(archive.join("a.json"), b"old").expect("old");
    dir.publish(&name("a.json"), b"record", Publish::NoReplace)
        .expect("publish");
    match dir.copy_into("a.json", &archive, MAX_SPOOL_FILE, 10) {
        Ok(Placed::At(to)) => assert_eq!(to, "a.json.1"),
        Ok(Placed::Gone) => panic!("the file is there"),
        Err(e) => panic!("{e}"),
    }
    assert_eq!(archive.read("a.json.1", 100).expect("copy"), b"record");
    let mut left = archive.entries().expect("list");
    left.sort();
    assert_eq!(left, [OsString::from("a.json"), OsString::from("a.json.1")]);
    assert_eq!(links(&dir, "a.json"), 1, "a copy, not a link");
    let too_big = dir.copy_into("a.json", &archive, 3, 10);
    assert!(
        matches!(too_big, Err(SpoolError::Read(ReadError::TooLarge { .. }))),
        "bounded: {too_big:?}"
    );
    let gone = dir.copy_into("b.json", &archive, MAX_SPOOL_FILE, 10);
    assert!(matches!(gone, Ok(Placed::Gone)));
}

/// An unlink the source directory refuses leaves the record where it was and the archive
/// without our entry (a record with two links would be refused by every reader). Provoked with
/// a directory under the name (EISDIR), which refuses root too.
#[test]
fn a_refused_unlink_undoes_the_archive_entry() {
    let (_t, dir, archive) = with_archive();
    std::fs::write(archive.join("a.json"), b"ours").expect("ours");
    std::fs::create_dir(dir.join("sub")).expect("sub");
    let refused = dir.unlink_or_undo("sub", &archive, "a.json");
    match refused {
        Err(SpoolError::Remove { path, .. }) => assert!(path.ends_with("sub"), "{path:?}"),
        other => panic!("{other:?}"),
    }
    assert!(archive.entries().expect("list").is_empty());
    assert!(dir.exists("sub").expect("stat"));
}

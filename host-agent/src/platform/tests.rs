use std::io::Write as _;

use super::*;

fn write(path: &Path, bytes: &[u8]) {
    let mut file = File::create(path).unwrap();
    file.write_all(bytes).unwrap();
}

#[test]
fn a_file_keeps_its_identity_across_a_rename_and_differs_from_its_successor() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("app.log");
    write(&log, b"one\n");
    let id = |p: &Path| file_id(p, &std::fs::metadata(p).unwrap()).unwrap();
    let before = id(&log);
    let rotated = dir.path().join("app.log.1");
    std::fs::rename(&log, &rotated).unwrap();
    write(&log, b"two\n");
    assert_eq!(id(&rotated), before, "the renamed file is the same file");
    assert_ne!(id(&log), before, "the new file is another file");
}

#[test]
fn a_file_read_through_a_shared_open_may_be_renamed_and_deleted_meanwhile() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("app.log");
    write(&log, b"first line\n");
    let reader = open_shared(&log).unwrap();
    let rotated = dir.path().join("app.log.1");
    std::fs::rename(&log, &rotated).expect("a reader does not stop a rotation");
    let mut buf = [0u8; 5];
    read_exact_at(&reader, &mut buf, 6).unwrap();
    assert_eq!(&buf, b"line\n");
    std::fs::remove_file(&rotated).expect("nor the removal of an old file");
}

#[test]
fn a_positional_read_past_the_end_is_an_error_not_a_short_buffer() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("segment");
    write(&path, b"0123456789");
    let file = File::open(&path).unwrap();
    let mut buf = [0u8; 4];
    read_exact_at(&file, &mut buf, 3).unwrap();
    assert_eq!(&buf, b"3456");
    let err = read_exact_at(&file, &mut buf, 8).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
}

#[test]
fn a_pointer_names_its_target_and_is_replaced_whole() {
    let dir = tempfile::tempdir().unwrap();
    let link = dir.path().join("current");
    let tmp = dir.path().join("current.tmp");
    assert_eq!(pointed(&link), None);
    point(&tmp, &link, Path::new("versions/1.2.0")).unwrap();
    assert_eq!(pointed(&link), Some("versions/1.2.0".into()));
    point(&tmp, &link, Path::new("versions/1.3.0")).unwrap();
    assert_eq!(pointed(&link), Some("versions/1.3.0".into()));
    assert!(!tmp.exists(), "the temporary name is gone after the rename");
}

#[test]
fn the_free_space_of_a_real_folder_is_known_and_of_a_missing_one_an_error() {
    let dir = tempfile::tempdir().unwrap();
    assert!(free_space(dir.path()).unwrap() > 0);
    assert!(free_space(&dir.path().join("missing")).is_err());
}

#[test]
fn private_files_and_folders_are_the_owners_alone_where_modes_exist() {
    let dir = tempfile::tempdir().unwrap();
    let nested = dir.path().join("a/b");
    create_private_dir(&nested).unwrap();
    let file = nested.join("secret");
    private_options()
        .write(true)
        .create_new(true)
        .open(&file)
        .unwrap();
    let meta = std::fs::metadata(&file).unwrap();
    assert!(private_to_owner(&meta));
    match mode(&meta) {
        Some(mode) => {
            assert_eq!(mode, 0o600);
            assert_eq!(mode_of(&nested), Some(0o700));
            set_mode(&file, 0o644).unwrap();
            assert!(!private_to_owner(&std::fs::metadata(&file).unwrap()));
        }
        None => assert_eq!(SYSTEM, "windows", "only Windows has no modes"),
    }
}

fn mode_of(path: &Path) -> Option<u32> {
    mode(&std::fs::metadata(path).unwrap())
}

//! Shared helpers for the integration tests.

use std::path::PathBuf;

/// The third-party conformance material (`../shared/conformance` next to the repository).
/// It is not copied into the repository; a missing folder fails the test, it does not skip.
pub(crate) fn conformance_dir(sub: &str) -> PathBuf {
    let base = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/conformance"
    ));
    let dir = base.join(sub);
    assert!(
        dir.is_dir(),
        "conformance material missing: {} does not exist. These tests read the RFC 4475 / \
         RFC 5118 / PROTOS files from ../shared/conformance beside the repository root; \
         put the shared folder there (see shared/conformance/README.md).",
        dir.display()
    );
    dir
}

/// Every file of a folder, sorted by name, as (name without extension, bytes).
pub(crate) fn read_all(sub: &str) -> Vec<(String, Vec<u8>)> {
    let dir = conformance_dir(sub);
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .map(|entry| {
            let path = entry.expect("directory entry").path();
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .expect("file name")
                .trim_end_matches(".dat")
                .to_owned();
            let bytes = std::fs::read(&path)
                .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
            (name, bytes)
        })
        .collect();
    out.sort();
    out
}

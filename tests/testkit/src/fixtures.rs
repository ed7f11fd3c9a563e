//! The shared mail fixtures: raw `.eml` files in `tests/fixtures/mail`.

use std::path::{Path, PathBuf};

/// The workspace root (the folder holding the top-level `Cargo.toml`).
pub fn workspace_root() -> PathBuf {
    // This crate lives in `<root>/tests/testkit`.
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("tests/testkit has two ancestors")
        .to_path_buf()
}

/// Every `*.eml` file in `dir`, sorted by file name, as (file name, raw bytes).
///
/// Panics when the folder cannot be read: fixtures missing is a broken checkout, not a test
/// outcome.
pub fn fixtures(dir: impl AsRef<Path>) -> Vec<(String, Vec<u8>)> {
    let dir = dir.as_ref();
    let entries = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read fixtures folder {}: {e}", dir.display()));
    let mut mails: Vec<(String, Vec<u8>)> = entries
        .map(|entry| entry.expect("fixtures folder entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "eml"))
        .map(|path| {
            let name = path
                .file_name()
                .expect("a file name")
                .to_string_lossy()
                .into_owned();
            let raw = std::fs::read(&path)
                .unwrap_or_else(|e| panic!("cannot read fixture {}: {e}", path.display()));
            (name, raw)
        })
        .collect();
    mails.sort_by(|a, b| a.0.cmp(&b.0));
    mails
}

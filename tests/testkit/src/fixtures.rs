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

/// `count` generated messages of mixed sizes, the same for the same `seed`: most of a few KB,
/// one in ten of 20 to 100 KB, one in a hundred of about 1 MB divided by `count / 100 + 1` (so a
/// large mailbox stays quick to seed). Bodies hold lines that start with "." (dot-stuffing),
/// long lines, and a unique `Message-ID`, all with CRLF line endings.
pub fn generated_mailbox(count: usize, seed: u64) -> Vec<Vec<u8>> {
    let mut state = seed ^ 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        // xorshift64*: deterministic and dependency-free.
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        state.wrapping_mul(0x2545_F491_4F6C_DD1D)
    };
    (0..count)
        .map(|i| {
            let roll = next() % 100;
            let size = match roll {
                0 => 1_000_000 / (count / 100 + 1),
                1..=10 => 20_000 + (next() % 80_000) as usize,
                _ => 500 + (next() % 5_000) as usize,
            };
            let mut raw = format!(
                "From: Sender {i} <sender{i}@example.org>\r\n\
                 To: alice@example.org\r\n\
                 Subject: Generated message {i}\r\n\
                 Date: Mon, 1 Jan 2024 00:00:00 +0000\r\n\
                 Message-ID: <gen-{seed}-{i}@postino.test>\r\n\r\n"
            )
            .into_bytes();
            let mut line = 0u64;
            while raw.len() < size {
                let kind = next() % 20;
                let text = match kind {
                    0 => ".a line that starts with a dot".to_string(),
                    1 => ".".to_string(),
                    2 => "x".repeat(900),
                    3 => String::new(),
                    _ => format!("line {line} of message {i}: {:016x}", next()),
                };
                raw.extend_from_slice(text.as_bytes());
                raw.extend_from_slice(b"\r\n");
                line += 1;
            }
            raw
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_mailbox_is_deterministic_mixed_and_crlf() {
        let a = generated_mailbox(300, 1);
        assert_eq!(a, generated_mailbox(300, 1));
        assert_ne!(a, generated_mailbox(300, 2));
        let sizes: Vec<usize> = a.iter().map(Vec::len).collect();
        assert!(sizes.iter().any(|&s| s < 6_000) && sizes.iter().any(|&s| s > 20_000));
        for raw in &a {
            assert!(raw.ends_with(b"\r\n"));
            assert!(!raw.windows(2).any(|w| w[1] == b'\n' && w[0] != b'\r'));
        }
        assert!(a.iter().any(|raw| raw.windows(3).any(|w| w == b"\n.\r")));
    }
}

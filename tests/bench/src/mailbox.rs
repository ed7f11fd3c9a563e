//! A generated mailbox: seeded, so every run and every contender sees the same bytes.

/// xorshift64*.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }

    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// The size profile, written into the report.
pub const PROFILE: &str = "90% 2-20 KB (median near 10 KB), 9% 20-200 KB, 1% 1-4 MB; \
    text lines of 20-76 characters, some starting with '.'";

fn size(rng: &mut Rng) -> usize {
    match rng.below(100) {
        0 => 1_000_000 + rng.below(3_000_000) as usize,
        1..=9 => 20_000 + rng.below(180_000) as usize,
        _ => 2_000 + rng.below(18_000) as usize,
    }
}

const WORDS: &[&str] = &[
    "post", "mail", "letter", "inbox", "server", "relay", "offline", "browser", "message",
    "account", "download", "ledger", "the", "a", "of", "and", "to", "in", "with", "for",
];

/// `n` messages with CRLF line endings.
pub fn generate(n: usize, seed: u64) -> Vec<Vec<u8>> {
    let mut rng = Rng::new(seed);
    (0..n)
        .map(|i| {
            let target = size(&mut rng);
            let mut m = format!(
                "From: Sender {s} <sender{s}@example.org>\r\nTo: bench@example.net\r\n\
                 Subject: Benchmark message {i}\r\nDate: Tue, 1 Jul 2025 10:{:02}:{:02} +0000\r\n\
                 Message-ID: <bench-{i}-{seed}@example.org>\r\nMIME-Version: 1.0\r\n\
                 Content-Type: text/plain; charset=utf-8\r\n\r\n",
                i / 60 % 60,
                i % 60,
                s = i % 97
            )
            .into_bytes();
            while m.len() < target {
                if rng.below(40) == 0 {
                    m.push(b'.');
                }
                let mut line = 0;
                let width = 20 + rng.below(56) as usize;
                while line < width {
                    let w = WORDS[rng.below(WORDS.len() as u64) as usize];
                    m.extend_from_slice(w.as_bytes());
                    m.push(b' ');
                    line += w.len() + 1;
                }
                m.extend_from_slice(b"\r\n");
            }
            m
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_mailbox() {
        assert_eq!(generate(20, 7), generate(20, 7));
        assert_ne!(generate(20, 7), generate(20, 8));
    }
}

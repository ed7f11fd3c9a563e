//! The response decoder against arbitrary server bytes: the first bytes choose the chunking and
//! the order of calls, the rest is what the server sent. It must never panic, and a body it
//! hands out never exceeds the limit it was given.
use postino_pop3::response::BodyEvent;
use postino_pop3::{Limits, ResponseDecoder};

fn main() {
    afl::fuzz!(|data: &[u8]| {
        let Some((&control, input)) = data.split_first() else {
            return;
        };
        let limits = Limits {
            max_line: 128,
            max_multiline: 4096,
        };
        let mut decoder = ResponseDecoder::new(limits);
        let step = usize::from(control & 0x1f) + 1;
        let mut ops = input.iter().copied().cycle();
        let mut body_total = 0u64;
        for chunk in input.chunks(step) {
            decoder.enqueue_input(chunk);
            for _ in 0..4 {
                let op = ops.next().unwrap_or(0) ^ control;
                let done = match op % 4 {
                    0 => decoder.status_line().map(|s| s.is_none()),
                    1 => decoder
                        .listing_line(postino_pop3::response::ListingKind::Uidl)
                        .map(|l| l.is_none()),
                    2 => decoder.continuation_or_status().map(|l| l.is_none()),
                    _ => decoder.body_chunk().map(|event| match event {
                        Some(BodyEvent::Data(d)) => {
                            body_total += d.len() as u64;
                            false
                        }
                        Some(BodyEvent::End) => {
                            body_total = 0;
                            false
                        }
                        None => true,
                    }),
                };
                assert!(body_total <= limits.max_multiline);
                if !matches!(done, Ok(false)) {
                    break;
                }
            }
        }
    });
}

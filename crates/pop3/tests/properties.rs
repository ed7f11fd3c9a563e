//! Property tests: dot-stuffing round trips (the server's encoder, then the client's decoder,
//! give back the message), commands and responses survive encode then decode (and decode,
//! encode, decode), and no input panics the response decoder.

use postino_pop3::response::{
    encode_continuation, encode_multiline, encode_status, parse_status_line, BodyEvent,
};
use postino_pop3::server::{Mailbox, MailboxMessage, ServerSession};
use postino_pop3::{Command, Limits, ResponseCode, ResponseDecoder, Secret, StatusLine};
use proptest::prelude::*;

/// A line without CR or LF; often one that starts with "." or is just ".".
fn line() -> impl Strategy<Value = Vec<u8>> {
    let plain = proptest::collection::vec(
        any::<u8>().prop_filter("no CR/LF", |b| *b != b'\r' && *b != b'\n'),
        0..40,
    );
    prop_oneof![
        plain.clone(),
        plain.clone().prop_map(|mut l| {
            l.insert(0, b'.');
            l
        }),
        Just(b".".to_vec()),
        Just(b"..".to_vec()),
    ]
}

fn message() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(line(), 0..30).prop_map(|lines| {
        let mut raw = Vec::new();
        for l in lines {
            raw.extend_from_slice(&l);
            raw.extend_from_slice(b"\r\n");
        }
        raw
    })
}

/// The server's answer to RETR 1 for a mailbox holding `raw`.
fn served(raw: &[u8]) -> Vec<u8> {
    let mailbox = Mailbox {
        user: "u".into(),
        password: Secret::new("p".into()),
        messages: vec![MailboxMessage {
            uidl: "1".into(),
            raw: raw.to_vec(),
        }],
    };
    let mut session = ServerSession::new(&mailbox);
    session.handle_line(b"USER u\r\n");
    session.handle_line(b"PASS p\r\n");
    session.handle_line(b"RETR 1\r\n").bytes
}

/// The client's decoding of `wire`, fed in pieces of `step` bytes.
fn decoded(wire: &[u8], step: usize) -> Vec<u8> {
    let mut decoder = ResponseDecoder::new(Limits::default());
    let mut pieces = wire.chunks(step.max(1));
    let mut status = None;
    let mut body = Vec::new();
    loop {
        if status.is_none() {
            status = decoder.status_line().unwrap();
            if status.is_none() {
                decoder.enqueue_input(pieces.next().expect("status line complete"));
            }
            continue;
        }
        match decoder.body_chunk().unwrap() {
            Some(BodyEvent::Data(d)) => body.extend(d),
            Some(BodyEvent::End) => {
                assert!(pieces.next().is_none() && decoder.buffered() == 0);
                return body;
            }
            None => decoder.enqueue_input(pieces.next().expect("body complete")),
        }
    }
}

fn word() -> impl Strategy<Value = String> {
    "[!-~]{1,20}"
}

fn number() -> impl Strategy<Value = u32> {
    // The parser takes at most 9 digits (RFC 1939 numbers are small; the bound keeps them so).
    0u32..1_000_000_000
}

fn command() -> impl Strategy<Value = Command> {
    prop_oneof![
        Just(Command::Capa),
        Just(Command::Stls),
        word().prop_map(Command::User),
        "[ -~]{1,30}".prop_map(|p| Command::Pass(Secret::new(p))),
        Just(Command::Stat),
        proptest::option::of(number()).prop_map(Command::List),
        proptest::option::of(number()).prop_map(Command::Uidl),
        number().prop_map(Command::Retr),
        (number(), number()).prop_map(|(n, l)| Command::Top(n, l)),
        number().prop_map(Command::Dele),
        Just(Command::Noop),
        Just(Command::Rset),
        Just(Command::Quit),
        Just(Command::Utf8),
        (word(), word()).prop_map(|(user, digest)| Command::Apop { user, digest }),
        (word(), proptest::option::of(word())).prop_map(|(mechanism, ir)| Command::Auth {
            mechanism,
            initial: ir.map(Secret::new),
        }),
    ]
}

fn response_code() -> impl Strategy<Value = ResponseCode> {
    prop_oneof![
        Just(ResponseCode::InUse),
        Just(ResponseCode::LoginDelay),
        Just(ResponseCode::SysTemp),
        Just(ResponseCode::SysPerm),
        Just(ResponseCode::Auth),
        "[A-Z][A-Z0-9/-]{0,12}"
            .prop_filter("not a named code", |c| !matches!(
                ResponseCode::parse(c),
                ResponseCode::InUse
                    | ResponseCode::LoginDelay
                    | ResponseCode::SysTemp
                    | ResponseCode::SysPerm
                    | ResponseCode::Auth
            ))
            .prop_map(ResponseCode::Other),
    ]
}

/// A status line as a server says it: text without CR/LF or surrounding spaces, and starting
/// with `[` only after a code (else the `[` would be read as one).
fn status_line() -> impl Strategy<Value = StatusLine> {
    let text = prop_oneof![Just(String::new()), "[!-~]([ -~]{0,40}[!-~])?"];
    (any::<bool>(), proptest::option::of(response_code()), text)
        .prop_filter("a bracket without a code", |(_, code, text)| {
            code.is_some() || !text.starts_with('[')
        })
        .prop_map(|(ok, code, text)| StatusLine { ok, code, text })
}

/// The decoder's status line from `wire`, fed in pieces of `step` bytes.
fn decoded_status(wire: &[u8], step: usize) -> StatusLine {
    let mut decoder = ResponseDecoder::new(Limits::default());
    let mut pieces = wire.chunks(step.max(1));
    loop {
        if let Some(status) = decoder.status_line().unwrap() {
            assert_eq!(decoder.buffered(), 0);
            return status;
        }
        decoder.enqueue_input(pieces.next().expect("status line complete"));
    }
}

proptest! {
    #[test]
    fn status_lines_encode_then_decode_to_themselves(status in status_line(), step in 1usize..16) {
        let mut wire = Vec::new();
        encode_status(&status, &mut wire);
        prop_assert_eq!(decoded_status(&wire, step), status);
    }

    /// Decode, encode, decode again: the two decoded values match.
    #[test]
    fn parsed_status_lines_reencode_to_the_same_value(line in "[+-][ -~]{0,40}") {
        if let Ok(status) = parse_status_line(line.as_bytes()) {
            let mut wire = Vec::new();
            encode_status(&status, &mut wire);
            prop_assert_eq!(decoded_status(&wire, 7), status);
        }
    }

    #[test]
    fn multiline_responses_encode_then_decode_to_themselves(status in status_line(), raw in message(), step in 1usize..64) {
        let status = StatusLine { ok: true, ..status };
        let mut wire = Vec::new();
        encode_multiline(&status, &raw, &mut wire);
        let mut decoder = ResponseDecoder::new(Limits::default());
        decoder.enqueue_input(&wire);
        prop_assert_eq!(decoder.status_line().unwrap(), Some(status));
        let rest = wire.split_off(wire.len() - decoder.buffered());
        prop_assert_eq!(decoded(&[b"+OK\r\n".as_slice(), &rest].concat(), step), raw);
    }

    #[test]
    fn continuations_encode_then_decode_to_themselves(data in "([!-~]([ -~]{0,40}[!-~])?)?") {
        let mut wire = Vec::new();
        encode_continuation(&data, &mut wire);
        let mut decoder = ResponseDecoder::new(Limits::default());
        decoder.enqueue_input(&wire);
        prop_assert_eq!(decoder.continuation_or_status().unwrap(), Some(Ok(data)));
    }

    #[test]
    fn dot_stuffing_round_trips(raw in message(), step in 1usize..64) {
        let wire = served(&raw);
        prop_assert_eq!(decoded(&wire, step), raw);
    }

    #[test]
    fn a_message_without_a_final_line_break_gets_one(raw in message(), tail in line(), step in 1usize..64) {
        let mut unterminated = raw.clone();
        unterminated.extend_from_slice(&tail);
        prop_assume!(!tail.is_empty());
        let mut expected = unterminated.clone();
        expected.extend_from_slice(b"\r\n");
        prop_assert_eq!(decoded(&served(&unterminated), step), expected);
    }

    #[test]
    fn commands_encode_then_parse_to_themselves(c in command()) {
        let wire = c.encode().unwrap();
        prop_assert!(wire.len() <= 512);
        prop_assert_eq!(Command::parse(&wire), Some(c));
    }

    /// Decode, encode, decode again: the two decoded values match.
    #[test]
    fn parsed_bytes_reencode_to_the_same_command(line in proptest::collection::vec(any::<u8>(), 0..40)) {
        if let Some(c) = Command::parse(&line) {
            let wire = c.encode().unwrap();
            prop_assert_eq!(Command::parse(&wire), Some(c));
        }
    }

    #[test]
    fn parsed_keywords_ignore_case(c in command()) {
        let wire = c.encode().unwrap();
        let text = String::from_utf8(wire).unwrap();
        let (keyword, rest) = text.split_once(' ').unwrap_or((&text, ""));
        let lower = if rest.is_empty() { keyword.to_ascii_lowercase() } else { format!("{} {rest}", keyword.to_ascii_lowercase()) };
        prop_assert_eq!(Command::parse(lower.as_bytes()), Some(c));
    }

    /// Whatever the server sends, the decoder answers with values or errors, never a panic,
    /// and never holds more than the limits allow beyond what was enqueued.
    #[test]
    fn no_input_panics_the_decoder(input in proptest::collection::vec(any::<u8>(), 0..400), ops in proptest::collection::vec(0u8..4, 1..20)) {
        let mut decoder = ResponseDecoder::new(Limits { max_line: 64, max_multiline: 256, ..Limits::default() });
        decoder.enqueue_input(&input);
        for op in ops {
            let _ = match op {
                0 => decoder.status_line().map(drop),
                1 => decoder.listing_line(postino_pop3::response::ListingKind::Uidl).map(drop),
                2 => decoder.continuation_or_status().map(drop),
                _ => decoder.body_chunk().map(drop),
            };
        }
    }
}

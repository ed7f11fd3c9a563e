//! The command decoder (the server side's view of a client line): decode, encode, decode again
//! must give the same command, and nothing may panic.
use postino_pop3::Command;

fn main() {
    afl::fuzz!(|data: &[u8]| {
        if let Some(command) = Command::parse(data) {
            let wire = command.encode().expect("a parsed command encodes");
            assert_eq!(Command::parse(&wire).as_ref(), Some(&command));
        }
    });
}

//! The exit status, for scripts, cron and systemd units. Like fetchmail's, 0 says new mail
//! arrived and 1 that none did; failures use their own numbers, so a script can tell "nothing
//! new" from "something is wrong" and "try again later" from "someone must act".

use std::process::ExitCode;

/// What a run ended with. With several accounts, the most serious outcome of any account is the
/// run's: a failure, then a temporary failure, then new mail, then none (so a failure is never
/// hidden by another account's mail; the lines printed say what each account did).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// 0: at least one new message was stored or delivered, and nothing failed (and the
    /// success of `--serverinfo` and `import-config`).
    NewMail,
    /// 1: nothing new, nothing failed.
    NoNewMail,
    /// 2: the command line or the accounts file is wrong (nothing was fetched).
    Usage,
    /// 3: an account failed in a way that running again will not fix: login refused, a
    /// certificate not trusted, the MDA refused a message, a damaged ledger.
    Failed,
    /// 75 (EX_TEMPFAIL of sysexits.h): nothing failed for good, but an account must be tried
    /// again later: the destination was busy (`--no-wait`), the server was unreachable or said
    /// "try later" (`[IN-USE]`, `[LOGIN-DELAY]`, `[SYS/TEMP]`), the connection broke, the disk
    /// was full, the MDA said 75 or ran out of time.
    TryLater,
}

/// The same table for `--help`.
pub const HELP: &str = "\
Exit status:
  0   new mail: at least one message was stored or delivered, nothing failed
      (--serverinfo, import-config: success)
  1   no new mail, nothing failed
  2   wrong command line or accounts file; nothing was fetched
  3   an account failed, and running again will not fix it (login refused, certificate,
      the MDA refused a message, a damaged ledger): read the message
  75  try again later: nothing failed for good, but an account was skipped or cut short
      (destination busy with --no-wait, server unreachable or busy, connection lost,
      disk full, the MDA said 75 or timed out)
With several accounts the most serious applies: 3, then 75, then 0, then 1.";

impl Exit {
    fn rank(self) -> u8 {
        match self {
            Exit::NoNewMail => 0,
            Exit::NewMail => 1,
            Exit::TryLater => 2,
            Exit::Failed => 3,
            Exit::Usage => 4,
        }
    }

    pub fn code(self) -> u8 {
        match self {
            Exit::NewMail => 0,
            Exit::NoNewMail => 1,
            Exit::Usage => 2,
            Exit::Failed => 3,
            Exit::TryLater => 75,
        }
    }

    /// The run's status from its accounts' (`NoNewMail` for none).
    pub fn of_all(outcomes: impl IntoIterator<Item = Exit>) -> Exit {
        outcomes
            .into_iter()
            .max_by_key(|e| e.rank())
            .unwrap_or(Exit::NoNewMail)
    }
}

impl From<Exit> for ExitCode {
    fn from(e: Exit) -> ExitCode {
        ExitCode::from(e.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_most_serious_outcome_wins() {
        use Exit::*;
        assert_eq!(Exit::of_all([]), NoNewMail);
        assert_eq!(Exit::of_all([NoNewMail, NewMail]), NewMail);
        assert_eq!(Exit::of_all([NewMail, TryLater, NoNewMail]), TryLater);
        assert_eq!(Exit::of_all([TryLater, Failed, NewMail]), Failed);
        assert_eq!(
            [NewMail, NoNewMail, Usage, Failed, TryLater].map(Exit::code),
            [0, 1, 2, 3, 75]
        );
    }
}

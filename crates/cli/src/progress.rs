//! What a run prints while accounts are fetched side by side: one progress line per account.
//!
//! On a terminal (standard error), the lines stay at the bottom and each is rewritten in place;
//! a report or an error is printed above them (the lines are cleared, the text printed, the
//! lines drawn again), so nothing is torn by another account's progress. Elsewhere (cron, a
//! pipe, a journal) there is nothing to redraw: each account says when it starts downloading,
//! then its report, as plain lines. `--quiet` leaves only the reports and errors.
//!
//! Reports go to standard output and errors to standard error, one whole line per write, from
//! whichever thread fetches the account, under one lock.

use std::io::{IsTerminal, Write};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Redraws of the lines at most this often (a download reports every message).
const REDRAW_EVERY: Duration = Duration::from_millis(100);

pub struct Board {
    state: Mutex<State>,
    /// Lines redrawn in place (a terminal, not quiet).
    live: bool,
    /// Plain progress lines (not a terminal, not quiet).
    plain: bool,
}

struct State {
    lines: Vec<String>,
    /// How many lines are on screen below the text.
    drawn: usize,
    last_draw: Option<Instant>,
}

impl Board {
    /// A board for accounts `names`, in this order.
    pub fn new(names: &[String], quiet: bool) -> Board {
        let live = !quiet && std::io::stderr().is_terminal();
        Board {
            state: Mutex::new(State {
                lines: names.iter().map(|n| format!("{n}: waiting")).collect(),
                drawn: 0,
                last_draw: None,
            }),
            live,
            plain: !quiet && !live,
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        // A thread that panicked holding it left only text behind: go on with it.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Account `i`'s line says `text` now. Not a terminal: printed as a line if `milestone`.
    pub fn set(&self, i: usize, text: String, milestone: bool) {
        if self.plain && milestone {
            self.say_err(&text);
        }
        if !self.live {
            return;
        }
        let mut state = self.state();
        if let Some(line) = state.lines.get_mut(i) {
            *line = text;
        }
        let due = state.last_draw.is_none_or(|t| t.elapsed() >= REDRAW_EVERY);
        if due || milestone {
            redraw(&mut state, None);
        }
    }

    /// A line of standard output (a report), above the progress lines.
    pub fn say(&self, text: &str) {
        let mut state = self.state();
        if self.live {
            redraw(&mut state, Some((false, text)));
        } else {
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "{text}");
            let _ = out.flush();
        }
    }

    /// A line of standard error (an error, a warning), above the progress lines.
    pub fn say_err(&self, text: &str) {
        let mut state = self.state();
        if self.live {
            redraw(&mut state, Some((true, text)));
        } else {
            let _ = writeln!(std::io::stderr().lock(), "{text}");
        }
    }

    /// The run is over: the lines are drawn one last time and left on screen.
    pub fn finish(&self) {
        if self.live {
            let mut state = self.state();
            redraw(&mut state, None);
            state.drawn = 0;
        }
    }
}

/// Clear the lines, print `text` (to stderr if its flag says so), draw the lines again.
fn redraw(state: &mut State, text: Option<(bool, &str)>) {
    let width = terminal_width();
    let mut err = std::io::stderr().lock();
    let mut screen = String::new();
    if state.drawn > 0 {
        // Up to the first line, and clear to the end of the screen.
        screen.push_str(&format!("\x1b[{}A\r\x1b[J", state.drawn));
    }
    let _ = err.write_all(screen.as_bytes());
    let _ = err.flush();
    if let Some((to_err, text)) = text {
        if to_err {
            let _ = writeln!(err, "{text}");
        } else {
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "{text}");
            let _ = out.flush();
        }
    }
    let mut lines = String::new();
    for line in &state.lines {
        // Cut to the width, so that no line wraps and the count of lines to go up holds.
        let cut: String = line.chars().take(width.saturating_sub(1)).collect();
        lines.push_str(&cut);
        lines.push('\n');
    }
    let _ = err.write_all(lines.as_bytes());
    let _ = err.flush();
    state.drawn = state.lines.len();
    state.last_draw = Some(Instant::now());
}

fn terminal_width() -> usize {
    rustix::termios::tcgetwinsize(std::io::stderr())
        .ok()
        .map(|w| w.ws_col as usize)
        .filter(|&w| w >= 20)
        .unwrap_or(80)
}

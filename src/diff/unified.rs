//! Unified diffs in the shape `kubectl diff` prints with its default `diff -u -N`: a
//! `diff -u -N` line naming both files, `---`/`+++` headers and hunks with 3 lines of
//! context. File names are relative (`live/…`, `merged/…`) instead of random temp dirs, and
//! there are no timestamps, so the output is deterministic.

use std::fmt::Write;

use similar::{ChangeTag, TextDiff};

use super::change::{Change, yaml_of};

/// Lines of context around each change, as `diff -u`.
const CONTEXT: usize = 3;

const RED: &str = "\x1b[31m";
const GREEN: &str = "\x1b[32m";
const CYAN: &str = "\x1b[36m";
const BOLD: &str = "\x1b[1m";
const RESET: &str = "\x1b[0m";

/// Appends the unified diff of one change to `out`; with `color`, removed lines are red,
/// added lines green, hunk headers cyan and file headers bold (as `git diff` does).
pub(crate) fn write_unified(out: &mut String, change: &Change, color: bool) {
    let (live, merged) = yaml_of(change);
    let name = change.file_name();
    let paint = |out: &mut String, code: &str, line: &str| {
        if color {
            let _ = writeln!(out, "{code}{line}{RESET}");
        } else {
            let _ = writeln!(out, "{line}");
        }
    };
    paint(out, BOLD, &format!("diff -u -N live/{name} merged/{name}"));
    paint(out, BOLD, &format!("--- live/{name}"));
    paint(out, BOLD, &format!("+++ merged/{name}"));
    let diff = TextDiff::from_lines(&live, &merged);
    for hunk in diff.unified_diff().context_radius(CONTEXT).iter_hunks() {
        paint(out, CYAN, &hunk.header().to_string());
        for line in hunk.iter_changes() {
            // YAML text always ends in a newline, so every line has one to strip.
            let text = line.value().strip_suffix('\n').unwrap_or(line.value());
            let (sign, code) = match line.tag() {
                ChangeTag::Delete => ('-', RED),
                ChangeTag::Insert => ('+', GREEN),
                ChangeTag::Equal => (' ', ""),
            };
            if code.is_empty() {
                let _ = writeln!(out, "{sign}{text}");
            } else {
                paint(out, code, &format!("{sign}{text}"));
            }
        }
    }
}

//! Rewriting a container's command line: adding flags after the engine module, wrapping a
//! command in `sh -c`, quoting. Works on the container as JSON (`command`, `args`).
//!
//! Two expansion layers meet here. The kubelet expands `$(VAR)` in `command` and `args`
//! before anything runs (and leaves any other `$(…)` untouched), so `$(VAR)` works with or
//! without a shell. Everything else with a `$` (arithmetic, command substitution, `$HOME`)
//! needs a shell: flags containing one are only ever placed inside `sh -c`.

use serde_json::{Value, json};

/// `s` as exactly one shell word: unchanged when it has only shell-neutral characters,
/// otherwise single-quoted (a `'` inside becomes `'\''`).
pub fn quote(s: &str) -> String {
    let neutral = !s.is_empty()
        && s.chars().all(|c| {
            c.is_ascii_alphanumeric()
                || matches!(c, '_' | '@' | '%' | '+' | '=' | ':' | ',' | '.' | '/' | '-')
        });
    if neutral {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

/// Whether `cmd` runs a Python interpreter (`python`, `python3`, `/usr/bin/python3.11`, …).
pub fn is_python(cmd: &str) -> bool {
    let base = cmd.rsplit('/').next().unwrap_or(cmd);
    let Some(version) = base.strip_prefix("python") else {
        return false;
    };
    let mut parts = version.split('.');
    let first = parts.next().unwrap_or_default();
    first.chars().all(|c| c.is_ascii_digit())
        && parts.all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()))
}

fn is_shell(cmd: &str) -> bool {
    matches!(cmd.rsplit('/').next(), Some("sh" | "bash" | "dash"))
}

/// `-c`, or short options ending in it such as bash's `-lc` or `-ec`: the next word is the
/// script.
fn is_script_option(word: &str) -> bool {
    word.strip_prefix('-')
        .is_some_and(|o| o.ends_with('c') && o.chars().all(|c| c.is_ascii_lowercase()))
}

/// The container's argv (`command` then `args`).
pub fn argv(main: &Value) -> Vec<String> {
    ["command", "args"]
        .iter()
        .filter_map(|k| main.get(*k).and_then(Value::as_array))
        .flatten()
        .filter_map(|v| v.as_str().map(str::to_string))
        .collect()
}

/// How a container starts its program.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Shape {
    /// `python3 …` run directly: argv is the whole command line.
    Python(Vec<String>),
    /// `sh -c SCRIPT [ARG…]` (or `bash -lc …`).
    Script {
        /// The shell (`/bin/sh`, `bash`, …).
        shell: String,
        /// Its options word, `-c` or e.g. `-lc`.
        option: String,
        /// The script.
        script: String,
        /// Positional parameters after the script.
        rest: Vec<String>,
    },
    /// Anything else.
    Other(Vec<String>),
}

impl Shape {
    /// The shape of a container's command line.
    pub fn of(main: &Value) -> Shape {
        let argv = argv(main);
        match argv.as_slice() {
            [first, ..] if is_python(first) => Shape::Python(argv),
            [shell, c, script, rest @ ..] if is_shell(shell) && is_script_option(c) => {
                Shape::Script {
                    shell: shell.clone(),
                    option: c.clone(),
                    script: script.clone(),
                    rest: rest.to_vec(),
                }
            }
            _ => Shape::Other(argv),
        }
    }

    /// Writes this shape back as the container's `command` and `args`.
    fn store(&self, main: &mut Value) {
        let (command, args) = match self {
            Shape::Python(argv) | Shape::Other(argv) => (vec![argv[0].clone()], argv[1..].to_vec()),
            Shape::Script {
                shell,
                option,
                script,
                rest,
            } => {
                let mut args = vec![script.clone()];
                args.extend(rest.iter().cloned());
                (vec![shell.clone(), option.clone()], args)
            }
        };
        main["command"] = json!(command);
        main["args"] = json!(args);
    }
}

/// Why the flags cannot be placed.
fn no_module(module: &str, argv: &[String]) -> String {
    format!(
        "cannot add the multinode launch flags: the command must run `python3 -m dynamo.{module}` directly or inside a shell script (`sh -c`, `bash -lc`), but it is `{}`",
        argv.join(" ")
    )
}

/// Inserts `flags` right after the `dynamo.<module>` word of the first `python … -m
/// dynamo.<module>` command in a shell script (before any `|`, `&`, `;`).
pub fn insert_after_module(script: &str, flags: &str, module: &str) -> Option<String> {
    let needle = format!("dynamo.{module}");
    let words: Vec<(usize, &str)> = word_spans(script);
    let mut in_python = false;
    for (start, word) in &words {
        if word.contains(['|', '&', ';']) {
            in_python = false;
        }
        if is_python(word.trim_start_matches(['(', '\'', '"'])) {
            in_python = true;
            continue;
        }
        if in_python && word.trim_matches(['\'', '"']) == needle {
            let end = start + word.len();
            return Some(format!("{} {flags}{}", &script[..end], &script[end..]));
        }
    }
    None
}

fn word_spans(s: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in s.char_indices() {
        match (c.is_whitespace(), start) {
            (true, Some(b)) => {
                out.push((b, &s[b..i]));
                start = None;
            }
            (false, None) => start = Some(i),
            _ => {}
        }
    }
    if let Some(b) = start {
        out.push((b, &s[b..]));
    }
    out
}

/// A shell command line running the container's program with `flags` added, and whether it
/// is a single command that `exec` may replace the shell with.
pub fn command_line(
    main: &Value,
    flags: &[String],
    module: &str,
) -> Result<(String, bool), String> {
    let joined = flags.join(" ");
    match Shape::of(main) {
        Shape::Python(argv) => {
            let mut line: Vec<String> = argv.iter().map(|a| quote(a)).collect();
            line.extend(flags.iter().cloned());
            Ok((line.join(" "), true))
        }
        Shape::Script { script, .. } if flags.is_empty() => Ok((script, false)),
        Shape::Script { script, .. } => insert_after_module(&script, &joined, module)
            .map(|s| (s, false))
            .ok_or_else(|| no_module(module, &argv(main))),
        Shape::Other(argv) if flags.is_empty() && !argv.is_empty() => Ok((
            argv.iter().map(|a| quote(a)).collect::<Vec<_>>().join(" "),
            true,
        )),
        Shape::Other(argv) => Err(no_module(module, &argv)),
    }
}

/// Adds `flags` to the container's command line. A direct Python command gets them appended
/// to its args, or (when a flag needs a shell) is wrapped in `sh -c 'exec …'`; a `sh -c`
/// script gets them after the engine module.
pub fn add_flags(
    main: &mut Value,
    flags: &[String],
    needs_shell: bool,
    module: &str,
) -> Result<(), String> {
    match Shape::of(main) {
        Shape::Python(mut argv) if !needs_shell => {
            argv.extend(flags.iter().cloned());
            Shape::Python(argv).store(main);
        }
        Shape::Python(_) => {
            let (line, _) = command_line(main, flags, module)?;
            set_script(main, format!("exec {line}"));
        }
        Shape::Script {
            shell,
            option,
            script,
            rest,
        } => {
            let script = insert_after_module(&script, &flags.join(" "), module)
                .ok_or_else(|| no_module(module, &argv(main)))?;
            Shape::Script {
                shell,
                option,
                script,
                rest,
            }
            .store(main);
        }
        Shape::Other(argv) => return Err(no_module(module, &argv)),
    }
    Ok(())
}

/// Makes the container run `script` with `/bin/sh -c`.
pub fn set_script(main: &mut Value, script: String) {
    Shape::Script {
        shell: "/bin/sh".to_string(),
        option: "-c".to_string(),
        script,
        rest: Vec::new(),
    }
    .store(main);
}

/// Removes the named probes from the container.
pub fn remove_probes(main: &mut Value, probes: &[&str]) {
    if let Some(m) = main.as_object_mut() {
        for p in probes {
            m.remove(*p);
        }
    }
}

/// The integer value of `--flag N` or `--flag=N` among the words of a command line.
pub fn flag_value(words: &[String], names: &[&str]) -> Option<i64> {
    for (i, w) in words.iter().enumerate() {
        for name in names {
            if w == name {
                if let Some(v) = words.get(i + 1).and_then(|v| v.parse().ok()) {
                    return Some(v);
                }
            } else if let Some(v) = w.strip_prefix(name).and_then(|r| r.strip_prefix('='))
                && let Ok(v) = v.parse()
            {
                return Some(v);
            }
        }
    }
    None
}

/// The whitespace-separated words of the container's command line.
pub fn words(main: &Value) -> Vec<String> {
    argv(main)
        .iter()
        .flat_map(|a| a.split_whitespace().map(str::to_string).collect::<Vec<_>>())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_keeps_neutral_words_and_quotes_the_rest() {
        assert_eq!(quote("--model"), "--model");
        assert_eq!(quote("Qwen/Qwen3-0.6B"), "Qwen/Qwen3-0.6B");
        assert_eq!(quote(r#"{"a": 1}"#), r#"'{"a": 1}'"#);
        assert_eq!(quote("it's"), r"'it'\''s'");
        assert_eq!(quote(""), "''");
    }

    #[test]
    fn python_commands_are_recognised() {
        for p in ["python", "python3", "python3.11", "/usr/bin/python3.8"] {
            assert!(is_python(p), "{p}");
        }
        for p in ["pythonx", "python3.", "sh", "ipython"] {
            assert!(!is_python(p), "{p}");
        }
    }

    #[test]
    fn flags_go_right_after_the_module_in_a_script() {
        let s = insert_after_module(
            "cd /w && python3 -m dynamo.sglang --tp 8 | tee log",
            "--nnodes 2",
            "sglang",
        );
        assert_eq!(
            s.as_deref(),
            Some("cd /w && python3 -m dynamo.sglang --nnodes 2 --tp 8 | tee log")
        );
        assert_eq!(
            insert_after_module("echo dynamo.sglang", "--x", "sglang"),
            None
        );
        assert_eq!(
            insert_after_module("python3 x.py; echo dynamo.sglang", "--x", "sglang"),
            None
        );
    }

    #[test]
    fn a_direct_python_command_gets_flags_appended_or_is_wrapped() {
        let mut c =
            json!({"command": ["python3"], "args": ["-m", "dynamo.sglang", "--x", "{\"a\": 1}"]});
        add_flags(&mut c, &["--node-rank".into(), "0".into()], false, "sglang").unwrap();
        assert_eq!(
            c["args"],
            json!([
                "-m",
                "dynamo.sglang",
                "--x",
                "{\"a\": 1}",
                "--node-rank",
                "0"
            ])
        );
        add_flags(&mut c, &["--r".into(), "$((A + 1))".into()], true, "sglang").unwrap();
        assert_eq!(c["command"], json!(["/bin/sh", "-c"]));
        assert_eq!(
            c["args"],
            json!(["exec python3 -m dynamo.sglang --x '{\"a\": 1}' --node-rank 0 --r $((A + 1))"])
        );
    }

    #[test]
    fn unknown_commands_are_refused() {
        let mut c = json!({"command": ["./start.sh"]});
        let e = add_flags(&mut c, &["--x".into()], false, "vllm").unwrap_err();
        assert!(e.contains("python3 -m dynamo.vllm"), "{e}");
    }

    #[test]
    fn flag_values_in_both_spellings() {
        let w: Vec<String> = ["--tp", "8", "--dp=4"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(flag_value(&w, &["--tp"]), Some(8));
        assert_eq!(flag_value(&w, &["--dp"]), Some(4));
        assert_eq!(flag_value(&w, &["--pp"]), None);
    }

    #[test]
    fn quoted_words_survive_a_real_shell() {
        let words = ["plain", "{\"a\": 'b'}", "", "$HOME", "a b\tc", "it's"];
        let line: Vec<String> = words.iter().map(|w| quote(w)).collect();
        let out = std::process::Command::new("/bin/sh")
            .arg("-c")
            .arg(format!("printf '%s\\n' {}", line.join(" ")))
            .output()
            .expect("sh runs");
        let printed = String::from_utf8(out.stdout).unwrap();
        assert_eq!(printed.lines().collect::<Vec<_>>(), words.to_vec());
    }
}

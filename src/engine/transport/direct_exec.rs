//! When a local step can skip `sh -c`: a command with no shell syntax at
//! all is a program and its arguments, split on blanks, and `sh -c` would
//! run exactly that. Anything the shell would interpret — quotes, `$`,
//! globs, redirections, `;|&<>()`, comments, `~`, assignments, a newline,
//! a builtin or keyword such as `cd`, `export`, `exit`, `if` — keeps
//! going through `sh -c`. When in doubt, the shell.

/// Characters that mean nothing to `sh` inside a word.
fn is_plain(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/' | ',' | ':' | '+' | '=' | '@' | '%')
}

/// Words `sh` (dash, and POSIX shells in general) treats itself instead
/// of executing a program of that name, or whose program behaves
/// differently from the builtin (`echo`, `printf`, `kill`, `pwd`, `test`).
const SHELL_WORDS: &[&str] = &[
    // keywords
    "!", "case", "do", "done", "elif", "else", "esac", "fi", "for", "function", "if", "in", "select", "then", "time",
    "until", "while", // special builtins
    ".", ":", "break", "continue", "eval", "exec", "exit", "export", "readonly", "return", "set", "shift", "source",
    "times", "trap", "unset", // regular builtins
    "alias", "bg", "cd", "command", "echo", "fc", "fg", "getopts", "hash", "jobs", "kill", "local", "printf", "pwd",
    "read", "test", "type", "ulimit", "umask", "unalias", "wait",
];

/// The program and arguments to execute instead of `sh -c command`, or
/// `None` when the shell must run it.
pub(crate) fn direct_argv(command: &str) -> Option<Vec<String>> {
    if !command.chars().all(|c| c == ' ' || c == '\t' || is_plain(c)) {
        return None;
    }
    let words: Vec<String> = command.split([' ', '\t']).filter(|w| !w.is_empty()).map(str::to_string).collect();
    let program = words.first()?;
    if program.contains('=') || SHELL_WORDS.contains(&program.as_str()) {
        return None;
    }
    // `true` and `false` are builtins too; their programs agree with them
    // only without arguments (`true --help` prints a manual).
    if matches!(program.as_str(), "true" | "false") && words.len() > 1 {
        return None;
    }
    Some(words)
}

#[cfg(test)]
mod tests {
    use super::direct_argv;

    fn owned(words: &[&str]) -> Vec<String> {
        words.iter().map(|w| w.to_string()).collect()
    }

    fn words(command: &str) -> Option<Vec<String>> {
        direct_argv(command)
    }

    #[test]
    fn plain_commands_are_executed_directly() {
        assert_eq!(words("true"), Some(owned(&["true"])));
        assert_eq!(words("  make -j4\tall  "), Some(owned(&["make", "-j4", "all"])));
        assert_eq!(
            words("./bin/run --port=8080 a,b user@host:1 50%"),
            Some(owned(&["./bin/run", "--port=8080", "a,b", "user@host:1", "50%"]))
        );
        assert_eq!(words("/usr/bin/env"), Some(owned(&["/usr/bin/env"])));
        assert_eq!(words("false"), Some(owned(&["false"])));
    }

    #[test]
    fn shell_syntax_goes_through_the_shell() {
        for command in [
            "echo $HOME",
            "echo ${x}",
            "ls *.txt",
            "ls file?",
            "ls [ab]",
            "a; b",
            "a && b",
            "a || b",
            "a | b",
            "a &",
            "a > out",
            "a < in",
            "a 2>&1",
            "(a)",
            "{ a; }",
            "echo 'x'",
            "echo \"x\"",
            "echo a\\ b",
            "echo `date`",
            "echo $(date)",
            "ls ~",
            "ls ~/x",
            "a # comment",
            "a\nb",
            "a\rb",
            "! a",
            "x=1",
            "FOO=bar make",
            "ls é",
            "a^b",
        ] {
            assert_eq!(direct_argv(command), None, "{command:?}");
        }
    }

    #[test]
    fn builtins_and_keywords_go_through_the_shell() {
        for command in [
            "cd /tmp",
            "export A",
            "exit 3",
            "exec true",
            "set -e",
            "unset A",
            "eval a",
            ". ./env",
            ": nothing",
            "source x",
            "trap - INT",
            "wait",
            "read x",
            "umask 022",
            "ulimit -n",
            "echo hi",
            "printf x",
            "pwd",
            "kill 1",
            "test -f x",
            "if",
            "while",
            "for",
            "true --help",
            "false 1",
        ] {
            assert_eq!(direct_argv(command), None, "{command:?}");
        }
    }

    #[test]
    fn empty_commands_go_through_the_shell() {
        assert_eq!(direct_argv(""), None);
        assert_eq!(direct_argv("  \t "), None);
    }
}

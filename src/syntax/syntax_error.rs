//! Turns a pest failure into a diagnostic by hand: the expected tokens named
//! in words, the span computed in bytes (right on lines with multibyte
//! characters and tabs), and a visible label at end of input.

use std::collections::BTreeSet;

use pest::error::InputLocation;
use pest::Parser as _;

use super::parser::{DeployParser, Rule};
use super::span::{FileId, Span};
use crate::diagnostic::{Code, Diagnostic};

/// Re-parses `text` with pest's error detail on (slower, so only after a
/// failure) and describes where and why it failed.
pub(super) fn syntax_error(file: FileId, text: &str) -> Diagnostic {
    pest::set_error_detail(true);
    let result = DeployParser::parse(Rule::file, text);
    pest::set_error_detail(false);
    let error = match result {
        Ok(_) => return Diagnostic::new(Code::Syntax, "syntax error"),
        Err(error) => error,
    };
    let position = match error.location {
        InputLocation::Pos(position) => position,
        InputLocation::Span((start, _)) => start,
    };
    let mut expected: BTreeSet<String> = BTreeSet::new();
    if let pest::error::ErrorVariant::ParsingError { positives, .. } = &error.variant {
        for rule in positives {
            if let Some(words) = describe_rule(*rule) {
                expected.insert(words.to_string());
            }
        }
    }
    if let Some(attempts) = error.parse_attempts() {
        for token in attempts.expected_tokens() {
            // Literal tokens print as themselves; ranges and built-in rules
            // are covered by the rule descriptions.
            let token = token.to_string();
            if token == "BUILTIN_RULE" || (token.contains("..") && token.chars().count() == 4) {
                continue;
            }
            if let Some(words) = describe_token(&token) {
                expected.insert(words);
            }
        }
    }
    let found = describe_found(text, position);
    // A quote that starts a string is already said by "a string".
    if expected.contains("a string") {
        expected.remove("`\"`");
    }
    let list: Vec<String> = expected.into_iter().collect();
    let wanted = join_alternatives(&list);
    let message = match &wanted {
        Some(wanted) => format!("expected {wanted}, found {found}"),
        None => format!("unexpected {found}"),
    };
    let end = next_char_end(text, position);
    let label = match &wanted {
        Some(wanted) => format!("expected {wanted}"),
        None => "not valid here".to_string(),
    };
    let mut diagnostic = Diagnostic::new(Code::Syntax, message).at(file, Span::new(position, end), label);
    if let Some(help) = help_for(text, position, &list) {
        diagnostic = diagnostic.with_help(help);
    }
    diagnostic
}

fn next_char_end(text: &str, position: usize) -> usize {
    text[position.min(text.len())..].chars().next().map_or(position, |c| position + c.len_utf8())
}

fn describe_found(text: &str, position: usize) -> String {
    let rest = &text[position.min(text.len())..];
    match rest.chars().next() {
        None => "end of input".to_string(),
        Some('\n') | Some('\r') => "end of line".to_string(),
        Some(c) if c.is_alphanumeric() || c == '_' => {
            let word: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').take(40).collect();
            format!("`{word}`")
        }
        Some(c) => format!("`{c}`"),
    }
}

fn join_alternatives(items: &[String]) -> Option<String> {
    match items {
        [] => None,
        [one] => Some(one.clone()),
        [rest @ .., last] => Some(format!("{} or {last}", rest.join(", "))),
    }
}

fn describe_token(token: &str) -> Option<String> {
    if token.trim().is_empty() || token == "\u{FEFF}" {
        return None;
    }
    match token {
        "${" | "$" | "\\" | "```" | "`" | "u{" | "rhai" | "raw" | "//" | "/*" | "_" => None,
        "-" => Some("a number".to_string()),
        _ => Some(format!("`{token}`")),
    }
}

/// The words for what a rule stands for; `None` for rules too internal to name.
fn describe_rule(rule: Rule) -> Option<&'static str> {
    Some(match rule {
        Rule::import | Rule::kw_import => "`import`",
        Rule::pipeline | Rule::kw_pipeline => "`pipeline`",
        Rule::param | Rule::kw_param => "`param`",
        Rule::secret | Rule::kw_secret => "`secret`",
        Rule::environment | Rule::kw_environment => "`environment`",
        Rule::template | Rule::kw_template => "`template`",
        Rule::node | Rule::node_kind | Rule::kw_stage => "`stage`",
        Rule::kw_gate => "`gate`",
        Rule::kw_as => "`as`",
        Rule::kw_from | Rule::from_clause => "`from`",
        Rule::kw_run | Rule::run_step => "`run`",
        Rule::kw_script | Rule::script_step => "`script`",
        Rule::kw_upload | Rule::upload_step => "`upload`",
        Rule::kw_to => "`to`",
        Rule::kw_rollback | Rule::rollback_block => "`rollback`",
        Rule::kw_strategy | Rule::strategy => "`strategy`",
        Rule::kw_on | Rule::hook => "`on`",
        Rule::kw_approve | Rule::approve => "`approve`",
        Rule::kw_by => "`by`",
        Rule::kw_check | Rule::check => "`check`",
        Rule::kw_every | Rule::check_every => "`every`",
        Rule::kw_within | Rule::check_within => "`within`",
        Rule::kw_for => "`for`",
        Rule::qualifier => "`every` or `for`",
        Rule::open_brace | Rule::block => "`{`",
        Rule::close_brace => "`}`",
        Rule::close_bracket => "`]`",
        Rule::close_paren => "`)`",
        Rule::colon => "`:`",
        Rule::equals => "`=`",
        Rule::close_quote => "`\"`",
        Rule::ident | Rule::path | Rule::attribute | Rule::named_block => "a name",
        Rule::type_expr | Rule::type_name | Rule::list_type => "a type",
        Rule::template_params => "`(`",
        Rule::template_param => "a parameter",
        Rule::value => "a value",
        Rule::string => "a string",
        Rule::rhai | Rule::rhai_fence | Rule::rhai_inline => "a Rhai snippet in backticks",
        Rule::duration => "a duration",
        Rule::percent => "a percent",
        Rule::number => "a number",
        Rule::boolean => "`true` or `false`",
        Rule::list => "a list",
        Rule::map => "a map",
        Rule::call => "a function call",
        Rule::EOI => "end of input",
        _ => return None,
    })
}

fn help_for(text: &str, position: usize, expected: &[String]) -> Option<String> {
    let rest = &text[position.min(text.len())..];
    if rest.is_empty() && expected.iter().any(|e| e == "`}`") {
        return Some("a `{` above has no matching `}`".to_string());
    }
    let at_line_end = rest.starts_with('\n') || rest.starts_with("\r\n");
    if at_line_end && expected.iter().any(|e| e == "`\"`") {
        return Some("strings end on the line they start; use `\\n` for a newline".to_string());
    }
    if rest.starts_with(':') && expected.iter().any(|e| e == "`=`") {
        return Some("attributes are written `name = value`".to_string());
    }
    None
}

//! The variables a snippet reads from outside itself, found by Rhai's own
//! parser: words in comments and strings, properties (`x.host`), locals the
//! snippet defines and function parameters are not reads.

use rhai::{Engine, ParseErrorType, Scope};

/// At most this many distinct outside variables are looked for (each one is
/// one more parse of the snippet), which bounds the work on any input.
const MAX_FREE_VARIABLES: usize = 256;

/// A variable the snippet reads that it does not define, with its byte
/// offset in the snippet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FreeVariable {
    pub name: String,
    pub offset: usize,
}

/// The parser [`free_variables`] needs: the sandbox's parser with Rhai's
/// strict variables on (a read of an undefined variable is a parse error).
pub fn strict_parser(limits: &super::ScriptLimits) -> Engine {
    let mut engine = super::sandbox::parser_engine(limits);
    engine.set_strict_variables(true);
    // Strict parsing also refuses unknown module names: the host API's
    // modules are known (what they hold is looked up when a script runs).
    for name in super::host::MODULE_NAMES {
        engine.register_static_module(name, rhai::Module::new().into());
    }
    engine
}

/// The variables `source` reads that it does not define itself, in the
/// order they first appear, parsed by `strict` (from [`strict_parser`]).
/// `None` when the snippet does not parse (the compiler reports that) or
/// has more than [`MAX_FREE_VARIABLES`] of them.
pub fn free_variables(strict: &Engine, source: &str) -> Option<Vec<FreeVariable>> {
    let mut scope = Scope::new();
    let mut found = Vec::new();
    while found.len() <= MAX_FREE_VARIABLES {
        match strict.compile_with_scope(&scope, source) {
            Ok(_) => return Some(found),
            Err(error) => match error.err_type() {
                ParseErrorType::VariableUndefined(name) if !scope.contains(name) => {
                    let offset = byte_offset(source, error.position());
                    found.push(FreeVariable { name: name.clone(), offset });
                    scope.push_dynamic(name.clone(), rhai::Dynamic::UNIT);
                }
                _ => return None,
            },
        }
    }
    None
}

fn byte_offset(source: &str, position: rhai::Position) -> usize {
    match (position.line(), position.position()) {
        (Some(line), Some(column)) => crate::source::byte_offset(source, line, column),
        (Some(line), None) => crate::source::byte_offset(source, line, 1),
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(source: &str) -> Vec<String> {
        let engine = strict_parser(&crate::script::ScriptLimits::default());
        free_variables(&engine, source).expect("parses").into_iter().map(|variable| variable.name).collect()
    }

    #[test]
    fn reads_not_words_in_comments_strings_or_properties() {
        assert_eq!(names("// look at every host\nversion == \"host\""), ["version"]);
        assert_eq!(names("/* host */ ctx.host == 1"), ["ctx"]);
        assert_eq!(names("let hosts = [1]; hosts.len() > 0"), Vec::<String>::new());
        assert_eq!(names("`http://${host}/x` == url"), ["host", "url"]);
        assert_eq!(names("fn f(host) { host } f(1)"), Vec::<String>::new());
        assert_eq!(names("http::get(url).status == 200"), ["url"]);
    }

    #[test]
    fn offsets_point_at_the_first_read() {
        let engine = strict_parser(&crate::script::ScriptLimits::default());
        let found = free_variables(&engine, "let a = 1;\nverison == a").expect("parses");
        assert_eq!(found, [FreeVariable { name: "verison".into(), offset: 11 }]);
    }

    #[test]
    fn a_syntax_error_is_left_to_the_compiler() {
        let engine = strict_parser(&crate::script::ScriptLimits::default());
        assert_eq!(free_variables(&engine, "let = 1"), None);
    }
}

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

/// The properties the snippet reads of the variable `variable`
/// (`host.role` → `role`), with the byte offset of each in `source`;
/// method calls (`host.len()`) are not properties.
pub fn properties_of(ast: &rhai::AST, source: &str, variable: &str) -> Vec<FreeVariable> {
    use rhai::{ASTNode, Expr};
    let mut found = Vec::new();
    ast.walk(&mut |path: &[ASTNode]| {
        if let Some(ASTNode::Expr(Expr::Dot(dot, ..))) = path.last() {
            let reads_variable =
                matches!(&dot.lhs, Expr::Variable(name, ..) if name.1 == variable && name.2.is_empty());
            if reads_variable {
                // `a.b`, `a.b.c` (b first) and `a.b[i]` (b first).
                let property = match &dot.rhs {
                    Expr::Property(property, position) => Some((property, *position)),
                    Expr::Dot(chain, ..) | Expr::Index(chain, ..) => match &chain.lhs {
                        Expr::Property(property, position) => Some((property, *position)),
                        _ => None,
                    },
                    _ => None,
                };
                if let Some((property, position)) = property {
                    found.push(FreeVariable { name: property.2.to_string(), offset: byte_offset(source, position) });
                }
            }
        }
        true
    });
    found
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
    }

    #[test]
    fn properties_of_a_variable_are_found_with_their_offsets() {
        let source = "let r = host.role; host.len() > 0 && host.port.to_string() != \"\" && other.role == r";
        let ast = rhai::Engine::new_raw().compile(source).unwrap();
        let found: Vec<(String, usize)> =
            properties_of(&ast, source, "host").into_iter().map(|p| (p.name, p.offset)).collect();
        assert_eq!(found, [("role".to_string(), 13), ("port".to_string(), 42)]);
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

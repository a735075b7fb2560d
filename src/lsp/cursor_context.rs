//! Where the cursor is, decided from the tokens alone (a plan being typed
//! rarely parses): a walk over the lexer's tokens from the start of the
//! file to the cursor keeps the stack of open blocks and the tokens of the
//! current statement; a comment, string or snippet still open at the cursor
//! is where the cursor is.

use crate::syntax::ast::NodeKind;

/// What kind of block an entry would go into.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BlockKind {
    Top,
    Node {
        kind: NodeKind,
        name: String,
    },
    Instance {
        kind: NodeKind,
        name: String,
        alias: String,
        template: String,
    },
    Template {
        kind: NodeKind,
        name: String,
    },
    Environment,
    Pipeline,
    /// `rollback { }`, `on EVENT { }`, `switch { }`: steps only.
    Steps,
    Strategy(String),
    Named(String),
    /// A map value, or anything not recognised.
    Other,
}

/// What may be typed at the cursor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Place {
    Nothing,
    /// The start of an entry (or of an item, at the top).
    Entry,
    /// A stage or gate name (`needs = [`).
    Nodes,
    /// A gate name (`analysis =`, `verify =`, `monitor =`).
    Gates,
    /// An environment name (`target =`).
    Environments,
    /// One of a fixed set of words (`on_failure =`, `strategy`, `on`).
    Words(&'static [&'static str]),
    /// An import alias after `from`.
    Modules,
    /// A template of the module `alias` after `from alias.`.
    Templates {
        alias: String,
    },
    /// A type after `:`.
    Types,
    /// Inside `${`: what may be named there.
    Interpolation(Interpolated),
    /// A value written as a call (`hosts = inventory(...)`, `secret x = file(...)`).
    Calls(&'static [&'static str]),
    /// A stage that may route a canary's requests (`traffic =`).
    Routers,
}

/// What an interpolation at the cursor names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Interpolated {
    /// `${`: params, secrets, built-ins (or a template's parameters).
    Names,
    /// `${env.`: the target environment's vars.
    EnvVars,
    /// `${host.`: the current host's values (and the vars they fall back to).
    HostValues,
}

#[derive(Clone, Debug)]
pub struct CursorContext {
    pub place: Place,
    /// The innermost block around the cursor, and the enclosing ones.
    pub blocks: Vec<BlockKind>,
}

impl CursorContext {
    pub fn block(&self) -> &BlockKind {
        self.blocks.last().unwrap_or(&BlockKind::Top)
    }

    /// The stage, gate or template the cursor is in.
    pub fn node(&self) -> Option<&BlockKind> {
        self.blocks
            .iter()
            .rev()
            .find(|b| matches!(b, BlockKind::Node { .. } | BlockKind::Instance { .. } | BlockKind::Template { .. }))
    }
}

#[derive(Clone, Debug, PartialEq)]
enum Token {
    Word(String),
    Punct(u8),
    Literal,
}

struct Frame {
    bracket: u8,
    block: BlockKind,
    /// For `[` and `(`: the attribute the bracket is the value of.
    attribute: Option<String>,
    /// The statement outside this bracket, restored when it closes.
    outer: Vec<Token>,
}

use crate::check::vocabulary::{
    APPROVAL, HOOK_EVENTS_PIPELINE, HOOK_EVENTS_STAGE, HOST_SOURCES, LOCK_SCOPES as LOCK, NO_TIMEOUT,
    PIPELINE_POLICIES, SECRET_SOURCES, STRICT_HOST_KEYS, TRANSPORTS, UPLOAD_TO,
};

use crate::syntax::lexer::{Lexer, PieceKind, Token as Lexed, TokenKind, Tokens};

pub fn cursor_context(text: &str, cursor: usize) -> CursorContext {
    let mut cursor = cursor.min(text.len());
    while !text.is_char_boundary(cursor) {
        cursor -= 1;
    }
    let text = &text[..cursor];
    let mut walk = Walk { frames: Vec::new(), statement: Vec::new() };
    for token in Tokens::of(text).iter() {
        if let Some(inside) = walk.token(text, token) {
            return inside;
        }
    }
    walk.at_cursor(text)
}

/// The blocks and the statement read so far.
struct Walk {
    frames: Vec<Frame>,
    statement: Vec<Token>,
}

impl Walk {
    /// Reads one token of the text before the cursor; `Some` when the
    /// cursor is inside it (a comment, a string or a script still open).
    fn token(&mut self, text: &str, token: &Lexed) -> Option<CursorContext> {
        let at_cursor = token.span.end == text.len();
        let byte = text.as_bytes()[token.span.start];
        match token.kind {
            TokenKind::Whitespace => {
                if token.text(text).contains('\n') && self.frames.last().map_or(true, |f| f.bracket == b'{') {
                    self.statement.clear();
                }
            }
            TokenKind::LineComment if at_cursor => return Some(self.nothing()),
            TokenKind::BlockComment { terminated: false } => return Some(self.nothing()),
            TokenKind::LineComment | TokenKind::BlockComment { .. } => {}
            TokenKind::Rhai { terminated: false, .. } if at_cursor => return Some(self.nothing()),
            TokenKind::String { terminated: false } if at_cursor => return Some(self.in_string(text, token)),
            TokenKind::Rhai { .. } | TokenKind::String { .. } => self.statement.push(Token::Literal),
            TokenKind::Word => self.statement.push(Token::Word(token.text(text).to_string())),
            TokenKind::Punct if matches!(byte, b'{' | b'[' | b'(') => self.open(byte),
            TokenKind::Punct if matches!(byte, b'}' | b']' | b')') => {
                if let Some(frame) = self.frames.pop() {
                    self.statement = frame.outer;
                    self.statement.push(Token::Literal);
                    if frame.bracket == b'{' {
                        self.statement.clear();
                    }
                }
            }
            TokenKind::Punct | TokenKind::Other => self.statement.push(Token::Punct(byte)),
        }
        None
    }

    fn blocks(&self) -> Vec<BlockKind> {
        self.frames.iter().map(|f| f.block.clone()).collect()
    }

    fn nothing(&self) -> CursorContext {
        CursorContext { place: Place::Nothing, blocks: self.blocks() }
    }

    /// The cursor is inside a string: in an interpolation being typed (a
    /// `${` not closed before the cursor), or in its text.
    fn in_string(&self, text: &str, token: &Lexed) -> CursorContext {
        let last_text = Lexer::new(text)
            .string_pieces(token.span.start)
            .last()
            .filter(|(kind, _)| *kind == PieceKind::Text)
            .map(|(_, span)| &text[span.start..span.end]);
        let typed = last_text.and_then(|piece| {
            let dollar = piece.rfind("${")?;
            let typed = &piece[dollar + 2..];
            (!typed.contains('}')).then(|| typed.trim_start())
        });
        let Some(typed) = typed else { return self.nothing() };
        let what = if typed.starts_with("env.") {
            Interpolated::EnvVars
        } else if typed.starts_with("host.") {
            Interpolated::HostValues
        } else {
            Interpolated::Names
        };
        CursorContext { place: Place::Interpolation(what), blocks: self.blocks() }
    }

    fn open(&mut self, bracket: u8) {
        let block = if bracket == b'{' { block_kind(&self.statement) } else { BlockKind::Other };
        let attribute = attribute_of(&self.statement);
        let outer = std::mem::take(&mut self.statement);
        if bracket != b'{' {
            self.statement = outer.clone();
            self.statement.push(Token::Punct(bracket));
        }
        self.frames.push(Frame { bracket, block, attribute, outer });
    }

    /// The place at the cursor, once every token before it is read.
    fn at_cursor(mut self, text: &str) -> CursorContext {
        // The word being typed is not part of the context.
        if text.as_bytes().last().is_some_and(|&b| crate::syntax::ident::is_ident_char(b)) {
            self.statement.pop();
        }
        let blocks: Vec<BlockKind> =
            self.frames.iter().filter(|f| f.bracket == b'{').map(|f| f.block.clone()).collect();
        let place = place(&self.statement, &self.frames, &blocks);
        CursorContext { place, blocks }
    }
}

fn word(token: Option<&Token>) -> Option<&str> {
    match token {
        Some(Token::Word(word)) => Some(word),
        _ => None,
    }
}

/// `NAME =` at the end of a statement: the attribute.
fn attribute_of(statement: &[Token]) -> Option<String> {
    match statement {
        [.., Token::Word(name), Token::Punct(b'=')] => Some(name.clone()),
        _ => None,
    }
}

fn place(statement: &[Token], frames: &[Frame], blocks: &[BlockKind]) -> Place {
    let block = blocks.last().unwrap_or(&BlockKind::Top);
    if let Some(frame) = frames.last() {
        if frame.bracket == b'[' && frame.attribute.as_deref() == Some("needs") {
            return Place::Nodes;
        }
        if frame.bracket == b'(' && matches!(statement, [.., Token::Punct(b':')]) {
            return Place::Types;
        }
        if frame.bracket != b'{' {
            return Place::Nothing;
        }
    }
    if let [.., Token::Word(alias), Token::Punct(b'.')] = statement {
        if statement.iter().any(|t| word(Some(t)) == Some("from")) {
            return Place::Templates { alias: alias.clone() };
        }
    }
    if matches!(statement, [Token::Word(w), Token::Word(_), Token::Punct(b'=')] if w == "secret")
        || (matches!(block, BlockKind::Named(name) if name == "secrets")
            && matches!(statement, [_, Token::Punct(b'=')]))
    {
        return Place::Calls(SECRET_SOURCES);
    }
    if let Some(attribute) = attribute_of(statement) {
        return match attribute.as_str() {
            "target" => Place::Environments,
            "analysis" | "verify" | "monitor" => Place::Gates,
            "needs" => Place::Nodes,
            "on_failure" => Place::Words(PIPELINE_POLICIES),
            "on_fail" | "on_inconclusive" | "on_no_data" => Place::Words(crate::check::vocabulary::POLICIES),
            "approval" => Place::Words(APPROVAL),
            "lock" => Place::Words(LOCK),
            "transport" => Place::Words(TRANSPORTS),
            "strict_host_keys" => Place::Words(STRICT_HOST_KEYS),
            "timeout" if !matches!(block, BlockKind::Named(_)) => Place::Words(NO_TIMEOUT),
            "step_timeout" => Place::Words(NO_TIMEOUT),
            "hosts" => Place::Calls(HOST_SOURCES),
            "traffic" => Place::Routers,
            _ => Place::Nothing,
        };
    }
    match statement {
        [] => Place::Entry,
        [.., Token::Word(w)] if w == "strategy" => Place::Words(crate::check::vocabulary::STRATEGIES),
        [.., Token::Word(w)] if w == "on" => match block {
            BlockKind::Pipeline => Place::Words(HOOK_EVENTS_PIPELINE),
            _ => Place::Words(HOOK_EVENTS_STAGE),
        },
        [.., Token::Word(w)] if w == "from" => Place::Modules,
        [Token::Word(w), Token::Literal] if w == "upload" => Place::Words(UPLOAD_TO),
        [Token::Word(p), Token::Word(_), Token::Punct(b':')] if p == "param" => Place::Types,
        _ => Place::Nothing,
    }
}

/// The kind of block a statement opens with `{`.
fn block_kind(statement: &[Token]) -> BlockKind {
    let words: Vec<&str> = statement.iter().filter_map(|t| word(Some(t))).collect();
    let node_kind = |w: &str| match w {
        "stage" => Some(NodeKind::Stage),
        "gate" => Some(NodeKind::Gate),
        _ => None,
    };
    if matches!(statement.last(), Some(Token::Punct(b'='))) {
        return BlockKind::Other;
    }
    match words.as_slice() {
        ["template", kind, name, ..] => match node_kind(kind) {
            Some(kind) => BlockKind::Template { kind, name: name.to_string() },
            None => BlockKind::Other,
        },
        [kind, name, "from", alias, template, ..] => match node_kind(kind) {
            Some(kind) => BlockKind::Instance {
                kind,
                name: name.to_string(),
                alias: alias.to_string(),
                template: template.to_string(),
            },
            None => BlockKind::Other,
        },
        [kind, name, ..] if node_kind(kind).is_some() => match node_kind(kind) {
            Some(kind) => BlockKind::Node { kind, name: name.to_string() },
            None => BlockKind::Other,
        },
        ["environment", ..] => BlockKind::Environment,
        ["pipeline", ..] => BlockKind::Pipeline,
        ["rollback"] | ["on", _] | ["switch"] | ["retire"] => BlockKind::Steps,
        ["strategy", name] => BlockKind::Strategy(name.to_string()),
        [name] => BlockKind::Named(name.to_string()),
        _ => BlockKind::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> CursorContext {
        let cursor = text.find('|').unwrap_or(text.len());
        let text = text.replacen('|', "", 1);
        cursor_context(&text, cursor)
    }

    #[test]
    fn needs_list_wants_nodes() {
        let context = at("stage a {}\nstage b {\n  needs = [a, |]\n}");
        assert_eq!(context.place, Place::Nodes);
        assert_eq!(context.block(), &BlockKind::Node { kind: NodeKind::Stage, name: "b".into() });
        assert_eq!(at("stage b {\n  needs = [bu|").place, Place::Nodes);
    }

    #[test]
    fn places() {
        assert_eq!(at("stage b {\n  target = pr|").place, Place::Environments);
        assert_eq!(at("stage b {\n  run \"x ${ver|").place, Place::Interpolation(Interpolated::Names));
        assert_eq!(at("stage b {\n  run \"x ${env.u|").place, Place::Interpolation(Interpolated::EnvVars));
        assert_eq!(at("stage b {\n  run \"x ${v} |").place, Place::Nothing);
        assert_eq!(at("stage b from http.|").place, Place::Templates { alias: "http".into() });
        assert_eq!(at("stage b {\n  ti|").place, Place::Entry);
        assert_eq!(at("// stage b {\n|").block(), &BlockKind::Top);
        let instance = at("gate g from http.healthy {\n  |\n}");
        assert!(matches!(instance.block(), BlockKind::Instance { .. }));
        assert_eq!(at("stage b {\n  script ```\n  x|").place, Place::Nothing);
        assert_eq!(at("stage b {\n  strategy ca|").place, Place::Words(crate::check::vocabulary::STRATEGIES));
    }

    #[test]
    fn places_of_transports_secrets_hosts_and_canaries() {
        assert_eq!(at("environment p {\n  transport = s|").place, Place::Words(TRANSPORTS));
        assert_eq!(at("environment p {\n  hosts = inv|").place, Place::Calls(HOST_SOURCES));
        assert_eq!(at("secret token = fi|").place, Place::Calls(SECRET_SOURCES));
        assert_eq!(at("environment p {\n  secrets {\n    db = co|").place, Place::Calls(SECRET_SOURCES));
        assert_eq!(at("environment p {\n  vars {\n    db = co|").place, Place::Nothing);
        assert_eq!(at("stage b {\n  run \"x ${host.z|").place, Place::Interpolation(Interpolated::HostValues));
        assert_eq!(at("stage b {\n  timeout = no|").place, Place::Words(NO_TIMEOUT));
        assert_eq!(at("pipeline \"p\" {\n  limits {\n    timeout = |").place, Place::Nothing);
        assert_eq!(at("pipeline \"p\" {\n  step_timeout = |").place, Place::Words(NO_TIMEOUT));
        assert_eq!(at("stage b {\n  upload \"a\" t|").place, Place::Words(UPLOAD_TO));
        assert_eq!(at("stage b {\n  strategy canary {\n    traffic = r|").place, Place::Routers);
        let retire = at("stage b {\n  strategy canary {\n    retire {\n      |");
        assert_eq!(retire.block(), &BlockKind::Steps);
        let watch = at("pipeline \"p\" {\n  watch {\n    |");
        assert_eq!(watch.blocks, [BlockKind::Pipeline, BlockKind::Named("watch".into())]);
        assert_eq!(at("stage é { run \"\u{1F680} ${ho|").place, Place::Interpolation(Interpolated::Names));
    }
}

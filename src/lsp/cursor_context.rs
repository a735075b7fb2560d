//! Where the cursor is, decided from the text alone (a plan being typed
//! rarely parses): a small scanner walks from the start of the file to the
//! cursor, skipping comments, strings and Rhai, and keeps the stack of open
//! blocks and the tokens of the current statement.

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
    /// Inside `${`: params, secrets, built-ins; after `env.`: the environment's vars.
    Interpolation {
        env: bool,
    },
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

const HOOK_EVENTS_STAGE: &[&str] = &["start", "success", "failure"];
const HOOK_EVENTS_PIPELINE: &[&str] = &["start", "success", "failure", "rollback", "paused"];
const APPROVAL: &[&str] = &["required", "optional"];
const LOCK: &[&str] = &["pipeline", "environment"];
const TRANSPORTS: &[&str] = &["local", "ssh"];
const STRICT_HOST_KEYS: &[&str] = &["yes", "accept_new"];
const PIPELINE_POLICIES: &[&str] = &["rollback", "pause", "abort"];

use crate::syntax::ident::is_ident_char as is_ident;

pub fn cursor_context(text: &str, cursor: usize) -> CursorContext {
    let mut cursor = cursor.min(text.len());
    while !text.is_char_boundary(cursor) {
        cursor -= 1;
    }
    let bytes = &text.as_bytes()[..cursor];
    let mut frames: Vec<Frame> = Vec::new();
    let mut statement: Vec<Token> = Vec::new();
    let mut pos = 0;
    let nothing = |frames: &[Frame]| CursorContext {
        place: Place::Nothing,
        blocks: frames.iter().map(|f| f.block.clone()).collect(),
    };
    while pos < bytes.len() {
        let byte = bytes[pos];
        match byte {
            b'\n' => {
                if frames.last().map_or(true, |f| f.bracket == b'{') {
                    statement.clear();
                }
                pos += 1;
            }
            b' ' | b'\t' | b'\r' => pos += 1,
            b'/' if bytes.get(pos + 1) == Some(&b'/') => match bytes[pos..].iter().position(|&b| b == b'\n') {
                Some(n) => pos += n,
                None => return nothing(&frames),
            },
            b'/' if bytes.get(pos + 1) == Some(&b'*') => match text[pos + 2..cursor].find("*/") {
                Some(n) => pos += n + 4,
                None => return nothing(&frames),
            },
            b'`' => {
                let fenced = bytes[pos..].starts_with(b"```");
                let rest = &text[pos + if fenced { 3 } else { 1 }..cursor];
                let end = if fenced { rest.find("```") } else { rest.find(['`', '\n']) };
                match end {
                    Some(n) => pos += if fenced { 3 + n + 3 } else { 1 + n + 1 },
                    None => return nothing(&frames),
                }
                statement.push(Token::Literal);
            }
            b'"' => {
                pos += 1;
                let mut interpolation: Option<usize> = None;
                loop {
                    let Some(&b) = bytes.get(pos) else {
                        // The cursor is inside this string.
                        let blocks = frames.iter().map(|f| f.block.clone()).collect();
                        return match interpolation {
                            Some(start) => {
                                let env = text[start..cursor].trim_start().starts_with("env.");
                                CursorContext { place: Place::Interpolation { env }, blocks }
                            }
                            None => CursorContext { place: Place::Nothing, blocks },
                        };
                    };
                    match b {
                        b'"' if interpolation.is_none() => {
                            pos += 1;
                            break;
                        }
                        b'\n' => break,
                        b'\\' => pos += 2,
                        b'$' if bytes.get(pos + 1) == Some(&b'{') => {
                            pos += 2;
                            interpolation = Some(pos);
                        }
                        b'}' if interpolation.is_some() => {
                            interpolation = None;
                            pos += 1;
                        }
                        _ => pos += 1,
                    }
                }
                statement.push(Token::Literal);
            }
            b'{' | b'[' | b'(' => {
                let block = if byte == b'{' { block_kind(&statement) } else { BlockKind::Other };
                let attribute = attribute_of(&statement);
                let outer = std::mem::take(&mut statement);
                if byte != b'{' {
                    statement = outer.clone();
                    statement.push(Token::Punct(byte));
                }
                frames.push(Frame { bracket: byte, block, attribute, outer });
                if byte == b'{' {
                    statement.clear();
                }
                pos += 1;
            }
            b'}' | b']' | b')' => {
                if let Some(frame) = frames.pop() {
                    statement = frame.outer;
                    statement.push(Token::Literal);
                    if frame.bracket == b'{' {
                        statement.clear();
                    }
                }
                pos += 1;
            }
            b if is_ident(b) => {
                let start = pos;
                while pos < bytes.len() && is_ident(bytes[pos]) {
                    pos += 1;
                }
                statement.push(Token::Word(text[start..pos].to_string()));
            }
            other => {
                statement.push(Token::Punct(other));
                pos += 1;
            }
        }
    }
    // The word being typed is not part of the context.
    if cursor > 0 && is_ident(bytes[cursor - 1]) {
        statement.pop();
    }
    let blocks: Vec<BlockKind> = frames.iter().filter(|f| f.bracket == b'{').map(|f| f.block.clone()).collect();
    let place = place(&statement, &frames, &blocks);
    CursorContext { place, blocks }
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
        ["rollback"] | ["on", _] | ["switch"] => BlockKind::Steps,
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
        assert_eq!(at("stage b {\n  run \"x ${ver|").place, Place::Interpolation { env: false });
        assert_eq!(at("stage b {\n  run \"x ${env.u|").place, Place::Interpolation { env: true });
        assert_eq!(at("stage b {\n  run \"x ${v} |").place, Place::Nothing);
        assert_eq!(at("stage b from http.|").place, Place::Templates { alias: "http".into() });
        assert_eq!(at("stage b {\n  ti|").place, Place::Entry);
        assert_eq!(at("// stage b {\n|").block(), &BlockKind::Top);
        let instance = at("gate g from http.healthy {\n  |\n}");
        assert!(matches!(instance.block(), BlockKind::Instance { .. }));
        assert_eq!(at("stage b {\n  script ```\n  x|").place, Place::Nothing);
        assert_eq!(at("stage b {\n  strategy ca|").place, Place::Words(crate::check::vocabulary::STRATEGIES));
    }
}

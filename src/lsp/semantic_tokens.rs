//! Semantic tokens: every declared name and every reference to one, typed by
//! what it names, so editors colour `needs = [build]` like `stage build`;
//! and from the lexer's tokens, comments, strings (around the names in
//! their `${}`), numbers and item keywords.

use tower_lsp_server::ls_types::{SemanticToken, SemanticTokenType, SemanticTokens, SemanticTokensLegend};

use super::documents::Document;
use super::index::{SymbolKind, Target};
use crate::syntax::lexer::{Lexer, PieceKind, TokenKind, Tokens};
use crate::syntax::span::Span;
use crate::syntax::KEYWORDS;

const TYPES: &[SemanticTokenType] = &[
    SemanticTokenType::FUNCTION,
    SemanticTokenType::EVENT,
    SemanticTokenType::PARAMETER,
    SemanticTokenType::VARIABLE,
    SemanticTokenType::NAMESPACE,
    SemanticTokenType::CLASS,
    SemanticTokenType::PROPERTY,
    SemanticTokenType::COMMENT,
    SemanticTokenType::STRING,
    SemanticTokenType::NUMBER,
    SemanticTokenType::KEYWORD,
];

const COMMENT: u32 = 7;
const STRING: u32 = 8;
const NUMBER: u32 = 9;
const KEYWORD: u32 = 10;

pub fn legend() -> SemanticTokensLegend {
    SemanticTokensLegend { token_types: TYPES.to_vec(), token_modifiers: Vec::new() }
}

fn type_index(kind: SymbolKind) -> Option<u32> {
    Some(match kind {
        SymbolKind::Stage => 0,
        SymbolKind::Gate => 1,
        SymbolKind::Param | SymbolKind::TemplateParam => 2,
        SymbolKind::Secret | SymbolKind::EnvSecret => 3,
        SymbolKind::Environment | SymbolKind::Import => 4,
        SymbolKind::Template => 5,
        SymbolKind::EnvVar => 6,
        SymbolKind::Pipeline => return None,
    })
}

pub fn tokens(document: &Document) -> Option<SemanticTokens> {
    let analysis = document.analysis();
    let index = &analysis.index;
    let mut spans: Vec<(Span, u32)> = Vec::new();
    for definition in &index.definitions {
        if let Some(kind) = type_index(definition.kind) {
            spans.push((definition.name_span, kind));
        }
    }
    for reference in &index.references {
        let kind = match &reference.target {
            Target::Local(i) => index.definitions.get(*i).and_then(|d| type_index(d.kind)),
            Target::Template { .. } => Some(5),
            Target::TemplateArgument { .. } => Some(2),
            Target::Builtin(_) => Some(3),
            Target::HostValue { .. } => Some(6),
            Target::Module { .. } => None,
        };
        if let Some(kind) = kind {
            spans.push((reference.span, kind));
        }
    }
    lexical(&document.text, &document.tokens(), &mut spans);
    // Stable: at one start, a name of the index comes before a lexical token.
    spans.sort_by_key(|(span, _)| span.start);
    let mut data = Vec::with_capacity(spans.len());
    let (mut line, mut column, mut last_end) = (0u32, 0u32, 0usize);
    for (span, kind) in spans {
        if span.start < last_end {
            continue;
        }
        let range = document.range(span);
        if range.start.line != range.end.line || range.start == range.end {
            continue;
        }
        let delta_line = range.start.line - line;
        let delta_start = if delta_line == 0 { range.start.character - column } else { range.start.character };
        data.push(SemanticToken {
            delta_line,
            delta_start,
            length: range.end.character - range.start.character,
            token_type: kind,
            token_modifiers_bitset: 0,
        });
        line = range.start.line;
        column = range.start.character;
        last_end = span.end;
    }
    Some(SemanticTokens { result_id: None, data })
}

/// The lexer's part: comments (one token per line), strings without their
/// interpolations (the names there are the index's), numbers, item keywords.
fn lexical(text: &str, tokens: &Tokens, spans: &mut Vec<(Span, u32)>) {
    let mut lexer = Lexer::new(text);
    for token in tokens.iter() {
        match token.kind {
            TokenKind::LineComment | TokenKind::BlockComment { .. } => {
                let mut start = token.span.start;
                for line in token.text(text).split_inclusive('\n') {
                    let end = start + line.trim_end_matches(['\n', '\r']).len();
                    spans.push((Span::new(start, end), COMMENT));
                    start += line.len();
                }
            }
            TokenKind::String { .. } => {
                let mut start = token.span.start;
                for (kind, piece) in lexer.string_pieces(token.span.start) {
                    if kind == PieceKind::Interpolation {
                        spans.push((Span::new(start, piece.start), STRING));
                        start = piece.end;
                    }
                }
                spans.push((Span::new(start, token.span.end), STRING));
            }
            TokenKind::Word if token.text(text).starts_with(|c: char| c.is_ascii_digit()) => {
                spans.push((token.span, NUMBER));
            }
            TokenKind::Word if KEYWORDS.contains(&token.text(text)) || token.text(text) == "from" => {
                spans.push((token.span, KEYWORD));
            }
            _ => {}
        }
    }
}

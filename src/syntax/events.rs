//! What the parser records while it reads (nodes opened and closed, the
//! tokens it took), and the lossless tree built from that record. A failed
//! alternative is undone by truncating the record; trivia is not recorded
//! but read again from the text between tokens, and placed outside the
//! nodes it comes before or after.

use rowan::{GreenNode, GreenNodeBuilder, NodeCache};

use super::kind::SyntaxKind;
use super::lexer;

#[derive(Clone, Copy, Debug)]
pub(crate) enum Event {
    Start(SyntaxKind),
    Token { kind: SyntaxKind, start: u32, end: u32 },
    Finish,
}

/// Builds the tree of `text[from..to]` from `events`: the text between
/// tokens is cut into trivia (and any leftover into error tokens), so the
/// tree's text is exactly `text[from..to]`.
pub(crate) fn build(text: &str, from: usize, to: usize, events: &[Event], cache: &mut NodeCache) -> GreenNode {
    let mut sink =
        Sink { text, cursor: from, pending: Vec::new(), depth: 0, builder: GreenNodeBuilder::with_cache(cache) };
    let last = events.len().saturating_sub(1);
    for (index, event) in events.iter().enumerate() {
        match *event {
            Event::Start(kind) => {
                sink.pending.push(kind);
                if index == 0 {
                    // The root holds everything, leading trivia included.
                    sink.open_pending();
                }
            }
            Event::Token { kind, start, end } => {
                sink.gap(start as usize);
                sink.open_pending();
                sink.token(kind, start as usize, end as usize);
            }
            Event::Finish => {
                sink.open_pending();
                if index == last {
                    sink.gap(to);
                }
                sink.builder.finish_node();
                sink.depth -= 1;
            }
        }
    }
    sink.builder.finish()
}

struct Sink<'t, 'c> {
    text: &'t str,
    cursor: usize,
    pending: Vec<SyntaxKind>,
    depth: usize,
    builder: GreenNodeBuilder<'c>,
}

impl Sink<'_, '_> {
    /// Trivia up to `to`, in the innermost open node.
    fn gap(&mut self, to: usize) {
        if self.cursor >= to {
            return;
        }
        let (text, builder) = (self.text, &mut self.builder);
        lexer::gap_tokens(text.as_bytes(), self.cursor, to, |kind, start, end| {
            builder.token(kind.into(), &text[start..end]);
        });
        self.cursor = to;
    }

    fn open_pending(&mut self) {
        for kind in self.pending.drain(..) {
            self.builder.start_node(kind.into());
            self.depth += 1;
        }
    }

    fn token(&mut self, kind: SyntaxKind, start: usize, end: usize) {
        self.builder.token(kind.into(), &self.text[start..end]);
        self.cursor = end;
    }
}

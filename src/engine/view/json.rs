//! `--json`: one event per line, as documented in docs/events.md.

use std::io::Write;

use crate::record::bus::EventSink;
use crate::record::event::Event;

pub struct JsonView<W: Write + Send> {
    out: W,
}

impl<W: Write + Send> JsonView<W> {
    pub fn new(out: W) -> JsonView<W> {
        JsonView { out }
    }
}

impl<W: Write + Send> EventSink for JsonView<W> {
    fn handle(&mut self, event: &Event) {
        if let Ok(line) = serde_json::to_string(event) {
            let _ = writeln!(self.out, "{line}");
            let _ = self.out.flush();
        }
    }
}

//! The language server (`deploy lsp`): the checker's diagnostics as the
//! editor types, hover, go to definition, references, completion, outline,
//! formatting, rename and semantic tokens, over stdio. It shares the parse,
//! the checker and the diagnostics with `deploy check` and `deploy fmt`.

mod completion;
mod cursor_context;
mod declarations;
mod diagnostics;
mod documents;
mod fetch_action;
mod framing;
mod hover;
mod import_paths;
mod index;
mod line_index;
mod modules;
mod navigation;
mod outline;
mod reference_docs;
mod rhai_names;
mod semantic_tokens;
mod server;

pub use server::DEBOUNCE;

use tower_lsp_server::{LspService, Server};

/// Serves the protocol on stdin/stdout until the client exits.
pub fn serve_stdio() -> std::io::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    runtime.block_on(async {
        let (service, socket) = LspService::build(server::Backend::new)
            .custom_method(framing::MALFORMED_METHOD, server::Backend::malformed_message)
            .finish();
        // Messages reach the server through the guard (see framing).
        let (to_server, from_stdin) = tokio::io::duplex(1 << 16);
        tokio::spawn(framing::forward_frames(tokio::io::stdin(), to_server));
        Server::new(from_stdin, tokio::io::stdout(), socket).serve(service).await;
    });
    // The guard may still wait on stdin (a blocking read): do not wait for it.
    runtime.shutdown_background();
    Ok(())
}

//! The language server: documents in, diagnostics out, answers to requests.
//! Every handler works on an immutable snapshot of a document; nothing here
//! writes to stdout but the protocol (tower-lsp-server owns it).

use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use tokio::sync::mpsc;
use tower_lsp_server::jsonrpc::{Error, Result};
use tower_lsp_server::ls_types::*;
use tower_lsp_server::{Client, LanguageServer};

use super::diagnostics::{convert, Publications};
use super::documents::Document;
use super::line_index::Encoding;
use crate::check::loader::Overlay;

/// How long the server waits after a change for more changes before it
/// checks: typing bursts are checked once, at their end.
pub const DEBOUNCE: Duration = Duration::from_millis(5);

pub struct State {
    client: Client,
    documents: RwLock<HashMap<Uri, Arc<Document>>>,
    encoding: RwLock<Encoding>,
    publications: Mutex<Publications>,
    /// For each checked document, the files its last check loaded.
    dependencies: Mutex<HashMap<Uri, Vec<PathBuf>>>,
    queue: mpsc::UnboundedSender<Uri>,
}

pub struct Backend {
    state: Arc<State>,
}

impl Backend {
    pub fn new(client: Client) -> Backend {
        let (queue, pending) = mpsc::unbounded_channel();
        let state = Arc::new(State {
            client,
            documents: RwLock::new(HashMap::new()),
            encoding: RwLock::new(Encoding::Utf16),
            publications: Mutex::new(Publications::default()),
            dependencies: Mutex::new(HashMap::new()),
            queue,
        });
        tokio::spawn(check_worker(state.clone(), pending));
        Backend { state }
    }
}

impl Backend {
    /// The answer to a message that was not JSON-RPC (see framing).
    pub async fn malformed_message(&self) -> Result<()> {
        Err(Error::parse_error())
    }
}

impl State {
    fn encoding(&self) -> Encoding {
        self.encoding.read().map(|e| *e).unwrap_or_default()
    }

    fn document(&self, uri: &Uri) -> Option<Arc<Document>> {
        self.documents.read().ok()?.get(uri).cloned()
    }

    /// The open documents' texts by path, standing in for the files on disk.
    fn overlay(&self) -> Overlay {
        let Ok(documents) = self.documents.read() else { return Overlay::new() };
        documents.values().map(|d| (d.path.clone(), d.text.clone())).collect()
    }

    fn store(&self, document: Document) {
        let uri = document.uri.clone();
        if let Ok(mut documents) = self.documents.write() {
            documents.insert(uri.clone(), Arc::new(document));
        }
        self.schedule(&uri);
    }

    /// Queues `uri` and every open document whose last check read it.
    fn schedule(&self, uri: &Uri) {
        let _ = self.queue.send(uri.clone());
        let Some(path) = self.document(uri).map(|d| d.path.clone()) else { return };
        let dependents: Vec<Uri> = match self.dependencies.lock() {
            Ok(dependencies) => dependencies
                .iter()
                .filter(|(root, files)| *root != uri && files.contains(&path))
                .map(|(root, _)| root.clone())
                .collect(),
            Err(_) => Vec::new(),
        };
        for dependent in dependents {
            let _ = self.queue.send(dependent);
        }
    }

    async fn publish(&self, updates: Vec<(Uri, Vec<Diagnostic>)>) {
        for (uri, diagnostics) in updates {
            let version = self.document(&uri).map(|d| d.version);
            self.client.publish_diagnostics(uri, diagnostics, version).await;
        }
    }

    /// Checks the document's current text and publishes what changed.
    async fn check(self: &Arc<Self>, uri: Uri) {
        let Some(document) = self.document(&uri) else { return };
        let overlay = self.overlay();
        let path = document.path.clone();
        let text = document.text.to_string();
        let checked = tokio::task::spawn_blocking(move || crate::check::check_source_with(&path, text, overlay)).await;
        let Ok(checked) = checked else {
            self.client.log_message(MessageType::ERROR, "checking the document failed unexpectedly").await;
            return;
        };
        // A newer version is queued already: its check will publish.
        if self.document(&uri).map_or(true, |current| current.version != document.version) {
            return;
        }
        let loaded: Vec<PathBuf> = checked.sources.files().map(|(_, file)| file.path.clone()).collect();
        if let Ok(mut dependencies) = self.dependencies.lock() {
            dependencies.insert(uri.clone(), loaded);
        }
        let fresh = convert(&checked, &uri, self.encoding());
        let updates = match self.publications.lock() {
            Ok(mut publications) => publications.update(&uri, fresh),
            Err(_) => return,
        };
        self.publish(updates).await;
    }
}

/// Checks queued documents, coalescing bursts of changes.
async fn check_worker(state: Arc<State>, mut pending: mpsc::UnboundedReceiver<Uri>) {
    while let Some(first) = pending.recv().await {
        tokio::time::sleep(DEBOUNCE).await;
        let mut batch = BTreeSet::from([first]);
        while let Ok(uri) = pending.try_recv() {
            batch.insert(uri);
        }
        for uri in batch {
            state.check(uri).await;
        }
    }
}

fn invalid(message: impl Into<String>) -> Error {
    Error::invalid_params(message.into())
}

impl LanguageServer for Backend {
    async fn initialize(&self, params: InitializeParams) -> Result<InitializeResult> {
        let utf8 = params
            .capabilities
            .general
            .as_ref()
            .and_then(|g| g.position_encodings.as_ref())
            .is_some_and(|encodings| encodings.contains(&PositionEncodingKind::UTF8));
        let encoding = if utf8 { Encoding::Utf8 } else { Encoding::Utf16 };
        if let Ok(mut slot) = self.state.encoding.write() {
            *slot = encoding;
        }
        Ok(InitializeResult {
            server_info: Some(ServerInfo { name: "deploy".into(), version: Some(env!("CARGO_PKG_VERSION").into()) }),
            capabilities: ServerCapabilities {
                position_encoding: Some(if utf8 { PositionEncodingKind::UTF8 } else { PositionEncodingKind::UTF16 }),
                text_document_sync: Some(TextDocumentSyncCapability::Options(TextDocumentSyncOptions {
                    open_close: Some(true),
                    change: Some(TextDocumentSyncKind::INCREMENTAL),
                    save: Some(TextDocumentSyncSaveOptions::Supported(true)),
                    ..TextDocumentSyncOptions::default()
                })),
                hover_provider: Some(HoverProviderCapability::Simple(true)),
                code_action_provider: Some(CodeActionProviderCapability::Simple(true)),
                execute_command_provider: Some(ExecuteCommandOptions {
                    commands: vec![super::fetch_action::FETCH_COMMAND.to_string()],
                    ..ExecuteCommandOptions::default()
                }),
                definition_provider: Some(OneOf::Left(true)),
                references_provider: Some(OneOf::Left(true)),
                document_symbol_provider: Some(OneOf::Left(true)),
                document_formatting_provider: Some(OneOf::Left(true)),
                rename_provider: Some(OneOf::Right(RenameOptions {
                    prepare_provider: Some(true),
                    work_done_progress_options: WorkDoneProgressOptions::default(),
                })),
                completion_provider: Some(CompletionOptions {
                    trigger_characters: Some(["[", ",", ".", "{", "=", " ", "/", "\""].map(String::from).to_vec()),
                    ..CompletionOptions::default()
                }),
                semantic_tokens_provider: Some(SemanticTokensServerCapabilities::SemanticTokensOptions(
                    SemanticTokensOptions {
                        legend: super::semantic_tokens::legend(),
                        full: Some(SemanticTokensFullOptions::Bool(true)),
                        range: None,
                        work_done_progress_options: WorkDoneProgressOptions::default(),
                    },
                )),
                ..ServerCapabilities::default()
            },
            ..InitializeResult::default()
        })
    }

    async fn shutdown(&self) -> Result<()> {
        Ok(())
    }

    async fn did_open(&self, params: DidOpenTextDocumentParams) {
        let item = params.text_document;
        let document = Document::new(item.uri, Arc::from(item.text), item.version, self.state.encoding());
        self.state.store(document);
    }

    async fn did_change(&self, params: DidChangeTextDocumentParams) {
        let uri = params.text_document.uri;
        let Some(current) = self.state.document(&uri) else { return };
        let document = current.changed(params.content_changes, params.text_document.version, self.state.encoding());
        self.state.store(document);
    }

    async fn did_save(&self, params: DidSaveTextDocumentParams) {
        self.state.schedule(&params.text_document.uri);
    }

    async fn did_close(&self, params: DidCloseTextDocumentParams) {
        let uri = params.text_document.uri;
        if let Ok(mut documents) = self.state.documents.write() {
            documents.remove(&uri);
        }
        if let Ok(mut dependencies) = self.state.dependencies.lock() {
            dependencies.remove(&uri);
        }
        let updates = match self.state.publications.lock() {
            Ok(mut publications) => publications.remove(&uri),
            Err(_) => return,
        };
        self.state.publish(updates).await;
    }

    async fn hover(&self, params: HoverParams) -> Result<Option<Hover>> {
        let at = params.text_document_position_params;
        let Some(document) = self.state.document(&at.text_document.uri) else { return Ok(None) };
        let offset = document.offset(at.position);
        Ok(super::hover::hover(&document, offset, &self.state.overlay(), self.state.encoding()))
    }

    async fn goto_definition(&self, params: GotoDefinitionParams) -> Result<Option<GotoDefinitionResponse>> {
        let at = params.text_document_position_params;
        let Some(document) = self.state.document(&at.text_document.uri) else { return Ok(None) };
        let offset = document.offset(at.position);
        let location = super::navigation::definition(&document, offset, &self.state.overlay(), self.state.encoding());
        Ok(location.map(GotoDefinitionResponse::Scalar))
    }

    async fn references(&self, params: ReferenceParams) -> Result<Option<Vec<Location>>> {
        let at = params.text_document_position;
        let Some(document) = self.state.document(&at.text_document.uri) else { return Ok(None) };
        let offset = document.offset(at.position);
        Ok(super::navigation::references(&document, offset, params.context.include_declaration))
    }

    async fn completion(&self, params: CompletionParams) -> Result<Option<CompletionResponse>> {
        let at = params.text_document_position;
        let Some(document) = self.state.document(&at.text_document.uri) else { return Ok(None) };
        let offset = document.offset(at.position);
        let items = super::completion::completions(&document, offset, &self.state.overlay(), self.state.encoding());
        Ok(Some(CompletionResponse::Array(items)))
    }

    async fn document_symbol(&self, params: DocumentSymbolParams) -> Result<Option<DocumentSymbolResponse>> {
        let Some(document) = self.state.document(&params.text_document.uri) else { return Ok(None) };
        Ok(super::outline::outline(&document).map(DocumentSymbolResponse::Nested))
    }

    async fn formatting(&self, params: DocumentFormattingParams) -> Result<Option<Vec<TextEdit>>> {
        let Some(document) = self.state.document(&params.text_document.uri) else { return Ok(None) };
        match crate::fmt::format_source(crate::syntax::span::FileId(0), &document.text) {
            Ok(formatted) if formatted == *document.text => Ok(Some(Vec::new())),
            Ok(formatted) => {
                let whole = document.range(crate::syntax::span::Span::new(0, document.text.len()));
                Ok(Some(vec![TextEdit::new(whole, formatted)]))
            }
            // A file with a syntax error is not formatted; its diagnostics say why.
            Err(_) => Ok(None),
        }
    }

    async fn prepare_rename(&self, params: TextDocumentPositionParams) -> Result<Option<PrepareRenameResponse>> {
        let Some(document) = self.state.document(&params.text_document.uri) else { return Ok(None) };
        let offset = document.offset(params.position);
        Ok(super::navigation::prepare_rename(&document, offset).map(PrepareRenameResponse::Range))
    }

    async fn rename(&self, params: RenameParams) -> Result<Option<WorkspaceEdit>> {
        let at = params.text_document_position;
        let Some(document) = self.state.document(&at.text_document.uri) else { return Ok(None) };
        let offset = document.offset(at.position);
        super::navigation::rename(&document, offset, &params.new_name).map_err(invalid)
    }

    async fn code_action(&self, params: CodeActionParams) -> Result<Option<CodeActionResponse>> {
        let actions = super::fetch_action::code_actions(&params);
        Ok((!actions.is_empty()).then_some(actions))
    }

    /// `deploy.modules.fetch`: the one network access the editor makes, when
    /// the user picks the quick fix; then every open document is checked again.
    async fn execute_command(&self, params: ExecuteCommandParams) -> Result<Option<LSPAny>> {
        if params.command != super::fetch_action::FETCH_COMMAND {
            return Err(invalid(format!("unknown command `{}`", params.command)));
        }
        let path = super::fetch_action::target(&params).map_err(invalid)?;
        let fetched = tokio::task::spawn_blocking(move || super::fetch_action::fetch(&path)).await;
        let fetched = fetched.unwrap_or_else(|_| Err("the fetch failed unexpectedly".to_string()));
        let (kind, message) = match &fetched {
            Ok(message) => (MessageType::INFO, message.clone()),
            Err(message) => (MessageType::ERROR, message.clone()),
        };
        self.state.client.show_message(kind, message.clone()).await;
        let open: Vec<Uri> = self.state.documents.read().map(|d| d.keys().cloned().collect()).unwrap_or_default();
        for uri in open {
            self.state.schedule(&uri);
        }
        Ok(Some(serde_json::json!({ "fetched": fetched.is_ok(), "message": message })))
    }

    async fn semantic_tokens_full(&self, params: SemanticTokensParams) -> Result<Option<SemanticTokensResult>> {
        let Some(document) = self.state.document(&params.text_document.uri) else { return Ok(None) };
        Ok(super::semantic_tokens::tokens(&document).map(SemanticTokensResult::Tokens))
    }
}

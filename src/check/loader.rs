//! Loading a plan and, transitively, the modules it imports: `std/...` from
//! the embedded stdlib, `./relative` to the importing file, `git+URL//PATH@REF`
//! from another repository at the commit `deploy.lock` names
//! ([`crate::remote`]), anything else on `DEPLOY_PATH`. Import cycles and missing modules are diagnostics, and so
//! is a path that leaves the plan's repository (see [`ImportRoots`]).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::diagnostic::{Code, Diagnostic};
use crate::remote::{FromLock, RemoteError, RemoteFile, RemoteImport, RemoteModules};
use crate::syntax::ast::{Item, Module};
use crate::syntax::span::{FileId, SourceMap, Span};

/// Plans and modules larger than this are refused rather than parsed
/// (docs/language.md); `DEPLOY_MAX_FILE_SIZE` (bytes) overrides it.
pub const MAX_FILE_SIZE: u64 = 64 * 1024 * 1024;

/// The size limit in force: `DEPLOY_MAX_FILE_SIZE` when it is a number of
/// bytes, else [`MAX_FILE_SIZE`].
pub fn max_file_size() -> u64 {
    std::env::var("DEPLOY_MAX_FILE_SIZE").ok().and_then(|value| value.trim().parse().ok()).unwrap_or(MAX_FILE_SIZE)
}

/// One parsed file: the plan (index 0) or a module.
#[derive(Debug)]
pub struct LoadedModule {
    pub file: FileId,
    pub ast: Module,
    /// Where it was loaded from: a path, or `std/NAME` for the stdlib.
    pub origin: ModuleOrigin,
    /// For each `import` of this module, in order: the loaded module's index.
    pub imports: Vec<(String, Option<usize>)>,
    /// The bodies of its stages and gates are not parsed yet
    /// (see [`crate::syntax::parse_outline`]).
    pub lazy_bodies: bool,
    /// Where the file did not parse (see [`crate::syntax::Partial`]); empty
    /// for a file that parses.
    pub broken: Vec<Span>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ModuleOrigin {
    File(PathBuf),
    Stdlib(String),
}

pub struct Loaded {
    pub modules: Vec<LoadedModule>,
    pub sources: SourceMap,
    pub diagnostics: Vec<Diagnostic>,
    /// Every remote import met, in load order: who asked for what
    /// (`deploy modules why`).
    pub remote_imports: Vec<RemoteRequest>,
}

/// A remote import as a file wrote it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RemoteRequest {
    /// How messages name the importing file: the plan's path, or
    /// `git+URL//PATH@REF` for a remote module.
    pub importer: String,
    /// The name the importer gives it.
    pub alias: String,
    pub import: RemoteImport,
}

/// Loads the plan at `path` and everything it imports (remote modules at
/// the commits of the `deploy.lock` beside it).
pub fn load(path: &Path) -> Loaded {
    load_with(path, &mut FromLock::beside(path))
}

/// Loads the plan at `path`, asking `remote` for its remote imports.
pub fn load_with(path: &Path, remote: &mut dyn RemoteModules) -> Loaded {
    let mut loader = Loader::new(Overlay::new(), Some(remote));
    match read_file(path) {
        Ok(text) => {
            let origin = ModuleOrigin::File(canonical(path));
            loader.add(origin, path.display().to_string(), text, None);
        }
        Err(problem) => loader.diagnostics.push(
            Diagnostic::new(Code::UnreadableFile, format!("cannot read {}: {problem}", path.display()))
                .with_help("give the path of a `.deploy` file"),
        ),
    }
    Loaded {
        modules: loader.modules,
        sources: loader.sources,
        diagnostics: loader.diagnostics,
        remote_imports: loader.remote_imports,
    }
}

/// Texts that stand in for files on disk (canonical path → text): the
/// unsaved documents of an editor.
pub type Overlay = std::collections::HashMap<PathBuf, Arc<str>>;

/// Loads one module on its own (for `deploy doc`, `deploy modules`).
pub fn load_text(origin: ModuleOrigin, name: String, text: String) -> Loaded {
    load_text_with(origin, name, text, Overlay::new())
}

/// Like [`load_text`], reading imported files from `overlay` first.
pub fn load_text_with(origin: ModuleOrigin, name: String, text: String, overlay: Overlay) -> Loaded {
    let mut from_lock = match &origin {
        ModuleOrigin::File(path) => Some(FromLock::beside(path)),
        ModuleOrigin::Stdlib(_) => None,
    };
    let remote = from_lock.as_mut().map(|remote| remote as &mut dyn RemoteModules);
    let mut loader = Loader::new(overlay, remote);
    // A text in memory (the editor's) is parsed whole at once: a syntax
    // error in a body is then found in the one parse, not after an outline
    // parse and half the checking (see `crate::check::check_loaded`).
    loader.eager = true;
    loader.add(origin, name, text, None);
    Loaded {
        modules: loader.modules,
        sources: loader.sources,
        diagnostics: loader.diagnostics,
        remote_imports: loader.remote_imports,
    }
}

struct Loader<'r> {
    modules: Vec<LoadedModule>,
    sources: SourceMap,
    diagnostics: Vec<Diagnostic>,
    /// Modules being loaded, for cycle detection: each with the import that
    /// brought it in (none for the plan itself).
    stack: Vec<(ModuleOrigin, Option<(FileId, Span)>)>,
    overlay: Overlay,
    /// Where imported files may be: set from the first file loaded (the plan).
    roots: Option<ImportRoots>,
    /// Where remote imports come from; none for a text without a file.
    remote: Option<&'r mut dyn RemoteModules>,
    /// Each remote module loaded: its file on disk → (its source in the lock,
    /// its path inside the repository), for its relative imports.
    remote_files: std::collections::HashMap<PathBuf, (String, String)>,
    /// Parse bodies with the rest (no outline parse): see [`load_text_with`].
    eager: bool,
    remote_imports: Vec<RemoteRequest>,
}

impl<'r> Loader<'r> {
    fn new(overlay: Overlay, remote: Option<&'r mut dyn RemoteModules>) -> Loader<'r> {
        Loader {
            modules: Vec::new(),
            sources: SourceMap::default(),
            diagnostics: Vec::new(),
            stack: Vec::new(),
            overlay,
            roots: None,
            remote,
            remote_files: Default::default(),
            eager: false,
            remote_imports: Vec::new(),
        }
    }
}

/// The directories imports are resolved inside: the plan's repository (the
/// nearest directory holding `.git` at or above the plan, else the plan's
/// own directory) and, explicitly, the directories of `DEPLOY_PATH`. Paths
/// are compared canonical, so a symbolic link out of them is outside.
#[derive(Clone, Debug)]
pub struct ImportRoots {
    pub repository: PathBuf,
    deploy_path: Vec<PathBuf>,
}

impl ImportRoots {
    /// The roots of the plan (or module) at `plan`.
    pub fn for_plan(plan: &Path) -> ImportRoots {
        let plan = canonical(plan);
        let dir = plan.parent().map(Path::to_path_buf).unwrap_or_default();
        let repository =
            dir.ancestors().find(|ancestor| ancestor.join(".git").exists()).map(Path::to_path_buf).unwrap_or(dir);
        let search = std::env::var("DEPLOY_PATH").unwrap_or_default();
        let deploy_path = search.split(':').filter(|d| !d.is_empty()).map(|d| canonical(Path::new(d))).collect();
        ImportRoots { repository, deploy_path }
    }

    /// Whether `path` (canonical, or normalized) lies inside a root.
    pub fn contains(&self, path: &Path) -> bool {
        path.starts_with(&self.repository) || self.deploy_path.iter().any(|dir| path.starts_with(dir))
    }
}

/// `path` with `.` and `..` taken out without looking at the disk (a `..`
/// above the root stays at the root).
fn normalize(path: &Path) -> PathBuf {
    use std::path::Component;
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

impl Loader<'_> {
    /// Parses `text` and loads its imports; returns the module's index.
    fn add(&mut self, origin: ModuleOrigin, name: String, text: String, via: Option<(FileId, Span)>) -> Option<usize> {
        let display_path = match &origin {
            ModuleOrigin::File(path) => path.clone(),
            ModuleOrigin::Stdlib(name) => PathBuf::from(name),
        };
        if self.roots.is_none() {
            if let ModuleOrigin::File(path) = &origin {
                self.roots = Some(ImportRoots::for_plan(path));
            }
        }
        let text: Arc<str> = Arc::from(text);
        let importer = name.clone();
        let file = self.sources.add(&display_path, name, text.clone());
        // A file that does not parse keeps the items that do, so the rest
        // of it is still checked (its syntax errors are said once, here).
        let mut broken = Vec::new();
        let outline = if self.eager { Err(Vec::new()) } else { crate::syntax::parse_outline(file, &text) };
        let (ast, lazy_bodies) = match outline {
            Ok(parsed) => parsed,
            Err(_) => {
                let partial = crate::syntax::parse_partial(file, &text);
                self.diagnostics.extend(partial.diagnostics);
                broken = partial.broken;
                (partial.module, false)
            }
        };
        let index = self.modules.len();
        let imports: Vec<(String, Span, String, Span)> = ast
            .items
            .iter()
            .filter_map(|item| match item {
                Item::Import(import) => Some((
                    import.path.as_plain().unwrap_or_default(),
                    import.path.span,
                    import.alias.name.to_string(),
                    import.span,
                )),
                _ => None,
            })
            .collect();
        self.modules.push(LoadedModule { file, ast, origin: origin.clone(), imports: Vec::new(), lazy_bodies, broken });
        self.stack.push((origin.clone(), via));
        let mut resolved = Vec::new();
        for (import_path, path_span, alias, _) in imports {
            if let Ok(import) = RemoteImport::parse(&import_path) {
                let request = RemoteRequest { importer: importer.clone(), alias: alias.clone(), import };
                self.remote_imports.push(request);
            }
            let target = self.import(&origin, file, &import_path, path_span);
            resolved.push((alias, target));
        }
        self.stack.pop();
        self.modules[index].imports = resolved;
        Some(index)
    }

    fn import(&mut self, from: &ModuleOrigin, file: FileId, import_path: &str, span: Span) -> Option<usize> {
        if RemoteImport::is_remote(import_path) {
            return self.import_remote(file, import_path, span);
        }
        if let ModuleOrigin::File(importer) = from {
            if let Some((source, inside)) = self.remote_files.get(importer).cloned() {
                if import_path.starts_with("./") || import_path.starts_with("../") {
                    return self.import_beside_remote(&source, &inside, file, import_path, span);
                }
                if !import_path.starts_with("std/") {
                    // DEPLOY_PATH is this machine's, not the module's.
                    self.diagnostics.push(
                        Diagnostic::new(Code::ModuleNotFound, format!("module `{import_path}` not found"))
                            .at(file, span, "cannot be resolved")
                            .with_help(
                                "a remote module imports `std/...`, `./...` inside its repository, or `git+...`",
                            ),
                    );
                    return None;
                }
            }
        }
        // A relative path that leaves the roots is refused whether or not the
        // file exists, so the answer says nothing about the files outside.
        if let (Some(roots), ModuleOrigin::File(importer)) = (&self.roots, from) {
            if import_path.starts_with("./") || import_path.starts_with("../") {
                let base = importer.parent().map(Path::to_path_buf).unwrap_or_default();
                let target = normalize(&base.join(import_path));
                if !roots.contains(&target) {
                    self.outside(file, import_path, span);
                    return None;
                }
            }
        }
        let origin = match resolve(from, import_path) {
            Ok(origin) => origin,
            Err(help) => {
                self.diagnostics.push(
                    Diagnostic::new(Code::ModuleNotFound, format!("module `{import_path}` not found"))
                        .at(file, span, "cannot be resolved")
                        .with_help(help),
                );
                return None;
            }
        };
        // Resolved, through a symbolic link or from DEPLOY_PATH, to a file
        // outside: refused before it is read.
        if let (Some(roots), ModuleOrigin::File(path)) = (&self.roots, &origin) {
            if !roots.contains(path) {
                self.outside(file, import_path, span);
                return None;
            }
        }
        // A cycle: the module is being loaded further up.
        if let Some(position) = self.stack.iter().position(|(o, _)| *o == origin) {
            let mut diagnostic = Diagnostic::new(Code::ImportCycle, format!("import cycle through `{import_path}`"))
                .at(file, span, "this import closes the cycle")
                .with_help("modules hold templates; move what both need into a third module");
            for (_, via) in &self.stack[position + 1..] {
                if let Some((other_file, other_span)) = via {
                    diagnostic = diagnostic.with_secondary(*other_file, *other_span, "imported here");
                }
            }
            self.diagnostics.push(diagnostic);
            return None;
        }
        // Already loaded (a diamond): reuse.
        if let Some(existing) = self.modules.iter().position(|m| m.origin == origin) {
            return Some(existing);
        }
        let (name, text) = match &origin {
            ModuleOrigin::Stdlib(name) => match crate::stdlib::module(name) {
                Some(text) => (name.clone(), text.to_string()),
                None => return None,
            },
            ModuleOrigin::File(path) => {
                match self.overlay.get(path).map(|text| Ok(text.to_string())).unwrap_or_else(|| read_file(path)) {
                    Ok(text) => (display_name(path), text),
                    Err(problem) => {
                        self.diagnostics.push(
                            Diagnostic::new(
                                Code::UnreadableFile,
                                format!("cannot read module {}: {problem}", display_name(path)),
                            )
                            .at(file, span, "imported here"),
                        );
                        return None;
                    }
                }
            }
        };
        self.add(origin, name, text, Some((file, span)))
    }
}

impl Loader<'_> {
    /// `git+URL//PATH@REF`: the file at the commit the lock names.
    fn import_remote(&mut self, file: FileId, import_path: &str, span: Span) -> Option<usize> {
        let import = match RemoteImport::parse(import_path) {
            Ok(import) => import,
            Err(problem) => {
                self.diagnostics.push(
                    Diagnostic::new(Code::InvalidRemoteImport, format!("`{import_path}` is not a remote import"))
                        .at(file, span, problem),
                );
                return None;
            }
        };
        let found = match self.remote.as_deref_mut() {
            Some(remote) => remote.module(&import),
            None => Err(RemoteError::NotLocked("a text without a file has no deploy.lock".into())),
        };
        let inside = import.path.clone();
        self.load_remote(found, inside, import_path, file, span)
    }

    /// A relative import of a remote module: a file of the same repository
    /// and commit, never outside it.
    fn import_beside_remote(
        &mut self,
        source: &str,
        importer: &str,
        file: FileId,
        import_path: &str,
        span: Span,
    ) -> Option<usize> {
        let dir = Path::new(importer).parent().map(Path::to_path_buf).unwrap_or_default();
        let mut parts: Vec<String> = Vec::new();
        for part in dir.join(import_path).components() {
            match part {
                std::path::Component::Normal(name) => parts.push(name.to_string_lossy().into_owned()),
                std::path::Component::ParentDir if parts.pop().is_none() => {
                    self.diagnostics.push(
                        Diagnostic::new(
                            Code::ImportOutsideRepository,
                            format!("import `{import_path}` leads out of the module's repository"),
                        )
                        .at(file, span, "outside the repository; not read"),
                    );
                    return None;
                }
                _ => {}
            }
        }
        let inside = parts.join("/");
        let remote = self.remote.as_deref_mut()?;
        let mut found = remote.relative(source, &inside);
        let mut path = inside.clone();
        if found.is_err() && !inside.ends_with(".deploy") {
            let with_suffix = format!("{inside}.deploy");
            if let Ok(file) = remote.relative(source, &with_suffix) {
                found = Ok(file);
                path = with_suffix;
            }
        }
        self.load_remote(found, path, import_path, file, span)
    }

    fn load_remote(
        &mut self,
        found: Result<RemoteFile, RemoteError>,
        inside: String,
        import_path: &str,
        file: FileId,
        span: Span,
    ) -> Option<usize> {
        let found = match found {
            Ok(found) => found,
            Err(RemoteError::NotLocked(help)) => {
                self.diagnostics.push(
                    Diagnostic::new(
                        Code::RemoteModuleNotLocked,
                        format!("remote module `{import_path}` is not locked"),
                    )
                    .at(file, span, "not in deploy.lock")
                    .with_help(help),
                );
                return None;
            }
            Err(RemoteError::Unavailable(problem)) => {
                self.diagnostics.push(
                    Diagnostic::new(
                        Code::RemoteModuleUnavailable,
                        format!("remote module `{import_path}` cannot be used: {problem}"),
                    )
                    .at(file, span, "imported here"),
                );
                return None;
            }
        };
        let origin = ModuleOrigin::File(found.path.clone());
        self.remote_files.insert(found.path.clone(), (found.source.clone(), inside));
        if self.stack.iter().any(|(o, _)| *o == origin) {
            self.diagnostics.push(
                Diagnostic::new(Code::ImportCycle, format!("import cycle through `{import_path}`"))
                    .at(file, span, "this import closes the cycle")
                    .with_help("modules hold templates; move what both need into a third module"),
            );
            return None;
        }
        if let Some(existing) = self.modules.iter().position(|m| m.origin == origin) {
            return Some(existing);
        }
        // The text FromLock read to check its hash, unless it is over the size limit.
        let text = found.text.filter(|text| text.len() as u64 <= max_file_size());
        match text.map(Ok).unwrap_or_else(|| read_file(&found.path)) {
            Ok(text) => self.add(origin, found.name, text, Some((file, span))),
            Err(problem) => {
                self.diagnostics.push(
                    Diagnostic::new(Code::UnreadableFile, format!("cannot read module {}: {problem}", found.name)).at(
                        file,
                        span,
                        "imported here",
                    ),
                );
                None
            }
        }
    }
}

impl Loader<'_> {
    fn outside(&mut self, file: FileId, import_path: &str, span: Span) {
        let repository = match self.roots.as_ref().map(|roots| display_name(&roots.repository)) {
            Some(name) if !name.is_empty() => name,
            _ => ".".to_string(),
        };
        self.diagnostics.push(
            Diagnostic::new(
                Code::ImportOutsideRepository,
                format!("import `{import_path}` leads out of the plan's repository"),
            )
            .at(file, span, "outside the repository; not read")
            .with_help(format!(
                "imports are resolved inside the plan's repository, {repository} (the nearest directory \
                 holding `.git`, else the plan's directory), and the directories of DEPLOY_PATH; move the \
                 module there or add its directory to DEPLOY_PATH"
            )),
        );
    }
}

/// Takes the stages and gates out of a module's items, in order.
pub fn take_nodes(module: &mut LoadedModule) -> Vec<crate::syntax::ast::NodeDecl> {
    let items = std::mem::take(&mut module.ast.items);
    let count = items.iter().filter(|item| matches!(item, Item::Node(_))).count();
    let mut nodes = Vec::with_capacity(count);
    module.ast.items.reserve_exact(items.len() - count);
    for item in items {
        match item {
            Item::Node(node) => nodes.push(node),
            other => module.ast.items.push(other),
        }
    }
    nodes
}

/// Where an import path points, or a help line saying where it was looked for.
pub fn resolve(from: &ModuleOrigin, import_path: &str) -> Result<ModuleOrigin, String> {
    if import_path.starts_with("std/") {
        return match crate::stdlib::module(import_path) {
            Some(_) => Ok(ModuleOrigin::Stdlib(import_path.to_string())),
            None => {
                let names: Vec<&str> = crate::stdlib::MODULES.iter().map(|(n, _)| *n).collect();
                let mut help = format!("the stdlib has: {}", names.join(", "));
                if let Some(close) = crate::diagnostic::did_you_mean(import_path, names) {
                    help = format!("did you mean `{close}`?");
                }
                Err(help)
            }
        };
    }
    let candidates = |base: &Path| -> Option<PathBuf> {
        let direct = base.join(import_path);
        if direct.is_file() {
            return Some(direct);
        }
        let with_suffix = base.join(format!("{import_path}.deploy"));
        with_suffix.is_file().then_some(with_suffix)
    };
    if import_path.starts_with("./") || import_path.starts_with("../") {
        let base = match from {
            ModuleOrigin::File(path) => path.parent().map(Path::to_path_buf).unwrap_or_default(),
            ModuleOrigin::Stdlib(_) => return Err("stdlib modules cannot import relative paths".into()),
        };
        return candidates(&base)
            .map(|p| ModuleOrigin::File(canonical(&p)))
            .ok_or_else(|| format!("looked for {}", display_name(&base.join(import_path))));
    }
    let search = std::env::var("DEPLOY_PATH").unwrap_or_default();
    let dirs: Vec<&str> = search.split(':').filter(|d| !d.is_empty()).collect();
    for dir in &dirs {
        if let Some(found) = candidates(Path::new(dir)) {
            return Ok(ModuleOrigin::File(canonical(&found)));
        }
    }
    if dirs.is_empty() {
        Err("paths that start with neither `std/` nor `./` are searched on DEPLOY_PATH, which is not set".into())
    } else {
        Err(format!("searched DEPLOY_PATH: {}", dirs.join(", ")))
    }
}

/// A module's name in diagnostics: relative to the working directory.
fn display_name(path: &Path) -> String {
    let Ok(cwd) = std::env::current_dir().and_then(|cwd| cwd.canonicalize()) else {
        return path.display().to_string();
    };
    let ours: Vec<_> = path.components().collect();
    let base: Vec<_> = cwd.components().collect();
    let common = ours.iter().zip(&base).take_while(|(a, b)| a == b).count();
    if common == 0 {
        return path.display().to_string();
    }
    let mut relative = PathBuf::new();
    for _ in common..base.len() {
        relative.push("..");
    }
    for component in &ours[common..] {
        relative.push(component);
    }
    relative.display().to_string()
}

fn canonical(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}

/// Reads a file as UTF-8, refusing directories and huge files with a reason.
/// At most the size limit (plus one byte, to notice that there is more) is
/// ever read, so `/dev/zero`, a FIFO or a device cannot make it read forever.
pub fn read_file(path: &Path) -> Result<String, String> {
    let file = std::fs::File::open(path).map_err(|e| describe_io(&e))?;
    let metadata = file.metadata().map_err(|e| describe_io(&e))?;
    if metadata.is_dir() {
        return Err("it is a directory".into());
    }
    let hint = if metadata.is_file() { metadata.len() } else { 0 };
    read_bounded(file, hint)
}

/// Reads at most the size limit from `reader` as UTF-8; more is "too large".
/// `hint` is the expected length (0 when unknown).
pub fn read_bounded(reader: impl std::io::Read, hint: u64) -> Result<String, String> {
    use std::io::Read;
    let limit = max_file_size();
    if hint > limit {
        return Err(too_large(limit));
    }
    let mut bytes = Vec::with_capacity(usize::try_from(hint.saturating_add(1)).unwrap_or(0));
    reader.take(limit.saturating_add(1)).read_to_end(&mut bytes).map_err(|e| describe_io(&e))?;
    if bytes.len() as u64 > limit {
        return Err(too_large(limit));
    }
    String::from_utf8(bytes).map_err(|e| format!("it is not valid UTF-8 (byte {})", e.utf8_error().valid_up_to()))
}

/// Like `std::fs::read_to_string`, with its errors, but reading at most the
/// size limit: for the other files a plan names (secrets, inventories,
/// `deploy.sum`) and a recorded plan file read back.
pub fn read_to_string_limited(path: &Path) -> std::io::Result<String> {
    use std::io::Read;
    let limit = max_file_size();
    let mut bytes = Vec::new();
    std::fs::File::open(path)?.take(limit.saturating_add(1)).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(std::io::Error::other(too_large(limit)));
    }
    String::from_utf8(bytes)
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::InvalidData, "stream did not contain valid UTF-8"))
}

fn too_large(limit: u64) -> String {
    let size = if limit % (1024 * 1024) == 0 && limit > 0 {
        format!("{} MiB", limit / (1024 * 1024))
    } else {
        format!("{limit} bytes")
    };
    format!("it is too large (over the {size} limit; DEPLOY_MAX_FILE_SIZE sets another, in bytes)")
}

fn describe_io(error: &std::io::Error) -> String {
    match error.kind() {
        std::io::ErrorKind::NotFound => "no such file".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => error.to_string(),
    }
}

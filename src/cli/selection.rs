//! `--env ENV` and `--limit HOST,GLOB`, the flags of `run`, `plan` and
//! `simulate`: parsed here, applied by the one library implementation
//! (`check::selection`), which marks what is left out as skipped and names
//! an unknown environment or host in the same words for every command.

use crate::check::selection::Selection;

#[derive(Debug, Clone, Default, clap::Args)]
pub struct SelectionArgs {
    /// Run only the stages that target ENV (repeatable), with the untargeted
    /// stages and gates around them; the others are skipped.
    #[arg(long = "env", value_name = "ENV")]
    pub environments: Vec<String>,
    /// Run only on these hosts: names or globs, comma-separated (`web-1,db-*`).
    #[arg(long = "limit", value_name = "HOST,GLOB")]
    pub limit: Vec<String>,
}

impl SelectionArgs {
    pub fn selection(&self) -> Selection {
        Selection::from_args(&self.environments, &self.limit)
    }
}

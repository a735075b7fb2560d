//! `deploy plan`'s changes against what is deployed: computed and rendered
//! in [`crate::session::plan_diff`], which the dashboard shares.

pub use crate::session::plan_diff::*;

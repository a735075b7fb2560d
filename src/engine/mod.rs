//! The engine: walks the execution graph.

pub mod interpolate;

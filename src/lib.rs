//! mux-tail: follow many log sources at once and print every line tagged with its source.
//!
//! The data flow, module by module: [`cli`] parses the command line and [`config`] validates it;
//! each [`source`] becomes a stream of line batches ([`line`] cuts bytes into lines and carries
//! them); the [`mux`] loop merges them (with [`keys`] and [`filter`] acting on the way);
//! [`output`] renders them ([`render`]) on a writer thread; [`term`] keeps the terminal safe;
//! [`app`] wires it up. The binary (`main.rs`) only maps the outcome to an exit status.
//! ARCHITECTURE.md is the map.

pub mod app;
pub mod cli;
pub mod config;
pub mod filter;
pub mod keys;
pub mod line;
pub mod messages;
pub mod mux;
pub mod output;
pub mod parse;
pub mod render;
pub mod source;
pub mod term;

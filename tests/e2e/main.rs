//! End-to-end tests: the real `mux-tail` binary against real files, pipes, sockets and terminals.

mod util;

mod cli;
mod events;
mod files;
mod hardening;
mod keys;
mod layout;
mod levels;
mod more_sources;
mod output;
mod shaping;
mod sockets;
mod terminal;
mod time;
mod tls;

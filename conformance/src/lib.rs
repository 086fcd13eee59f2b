//! The Link client conformance suite.
//!
//! Every scenario of `features/` gets its own mock-link and mock-merchant
//! (in-process, ephemeral ports on 127.0.0.1), its own empty `HOME`, and drives
//! the client under test through a [`client::Client`] adapter: a command run
//! per operation (`--client`), or an MCP server over stdio (`--mcp`). The
//! user's side is played through the mocks' control APIs; checks look at the
//! client's output and at what reached Link and the merchant.

pub mod client;
pub mod client_env;
pub mod flows;
pub mod junit;
pub mod matrix;
pub mod mcp;
pub mod op;
pub mod output;
pub mod progress;
pub mod report;
pub mod route;
pub mod runner;
pub mod step_error;
pub mod step_log;
pub mod steps;
pub mod world;

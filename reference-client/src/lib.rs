//! link-ref: a Link client with the link-cli command surface, as a CLI and
//! as an MCP server, sharing one implementation.
//!
//! - [`args`]: the arguments of every operation, for clap and for MCP;
//! - [`ops`]: the operations (auth, spend requests, `mpp decode` / `mpp pay`);
//! - [`link`]: Link's auth and API hosts, refresh on 401, error mapping;
//! - [`session`]: the credentials file (0600, atomic);
//! - [`output`]: JSON, JSON Lines envelopes, YAML, masked text;
//! - [`mcp`]: the tools over stdio and streamable HTTP.

pub mod args;
pub mod cli;
pub mod config;
pub mod error;
pub mod link;
pub mod mcp;
pub mod operation;
pub mod ops;
pub mod output;
pub mod sanitize;
pub mod session;

pub use config::Config;
pub use error::{ClientError, codes};
pub use operation::Operation;

//! Step definitions, grouped as the features are: the agent's side (running
//! the client), the user's and the world's side (mock control), and checks.

pub mod agent;
pub mod browser;
pub mod checks;
pub mod decoding;
pub mod lifecycle;
pub mod seller;
pub mod user;

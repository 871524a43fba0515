//! The server against hostile clients: rogue agents and login floods.

mod agents;
mod details;
mod logins;
mod rate_limit;

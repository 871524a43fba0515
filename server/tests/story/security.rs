//! The server against hostile clients: rogue agents and login floods.

mod agents;
mod logins;
mod rate_limit;

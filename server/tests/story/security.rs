//! The server against hostile clients: rogue agents and login floods.

mod agents;
mod audit;
mod details;
mod logins;
mod names;
mod proxy;
mod rate_limit;
mod sessions;
mod tokens;
mod users;

//! `vantage-server`: ingest, storage, queries and the HTTP API.

pub mod store;

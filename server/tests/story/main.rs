//! Server stories, each on SQLite and on a throw-away PostgreSQL cluster
//! (one test binary: each links the whole server).

mod agent;
mod alerts;
mod api;
mod backup;
mod checks;
mod dashboard;
mod distributions;
mod events;
mod latest;
mod leader;
mod mesh;
mod registry;
mod releases;
mod remote;
mod reports;
mod rules;
mod scale;
mod security;
mod single;
mod storage;
mod support;
mod surface;

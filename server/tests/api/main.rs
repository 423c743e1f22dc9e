//! Integration tests: the real server on a free port with a fresh database, driven over HTTP.
//! Set `HUDDLE_TEST_DATABASE=postgres` to run them against PostgreSQL.

mod accounts;
mod admin;
mod budgets;
mod chat;
mod cluster;
mod cluster_processes;
mod config;
mod expenses;
mod helpers;
mod http_security;
mod leaderboard;
mod markup;
mod meetings;
mod observability;
mod premium;
mod recovery;
mod reports;
mod room_access;
mod saved_reports;
mod shared;
mod smtp;
mod socket_limits;
mod storage;
mod tokens;
mod verification;

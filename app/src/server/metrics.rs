//! What the server counts, by name, for Prometheus. The `metrics` facade does nothing until a
//! recorder is installed: the server installs one only when `HUDDLE_METRICS_ADDR` is set and
//! serves it on that address (`server::metrics`).
//!
//! Only events are counted where they happen, once per batch where there is one (a fan-out
//! counts its deliveries in one call, a writer its frames per flush). What is a level (sockets
//! open, seats in calls, the database pool) is read when the metrics are scraped.

use metrics::{Counter, Unit, counter, describe_counter, describe_gauge, describe_histogram, histogram};

pub const HTTP_REQUESTS: &str = "huddle_http_requests_total";
pub const HTTP_DURATION: &str = "huddle_http_request_duration_seconds";
pub const SOCKETS_OPEN: &str = "huddle_sockets_open";
pub const FRAMES_IN: &str = "huddle_ws_frames_in_total";
pub const FRAMES_OUT: &str = "huddle_ws_frames_out_total";
pub const DELIVERIES: &str = "huddle_deliveries_total";
pub const COMMIT_BATCH: &str = "huddle_commit_batch_size";
pub const COMMIT_DURATION: &str = "huddle_commit_duration_seconds";
pub const COMMIT_FALLBACKS: &str = "huddle_commit_fallbacks_total";
pub const RESYNCS: &str = "huddle_resyncs_total";
pub const SYNCS: &str = "huddle_syncs_total";
pub const REPLAYED: &str = "huddle_replayed_messages_total";
pub const DB_POOL: &str = "huddle_db_pool_connections";
pub const DB_POOL_MAX: &str = "huddle_db_pool_max_connections";
pub const CALLS: &str = "huddle_calls_live";
pub const SEATS: &str = "huddle_meeting_seats";
pub const GAP_FILLS: &str = "huddle_gap_fills_total";
pub const GAP_FILLED: &str = "huddle_gap_filled_changes_total";
pub const REDIS_ERRORS: &str = "huddle_redis_errors_total";
pub const REDIS_RECONNECTS: &str = "huddle_redis_reconnects_total";

/// Gives every metric its help text and unit (call once, after installing the recorder).
pub fn describe() {
    describe_counter!(HTTP_REQUESTS, "HTTP requests answered, by route, method and status.");
    describe_histogram!(HTTP_DURATION, Unit::Seconds, "Time to the start of the answer, by route and method.");
    describe_gauge!(SOCKETS_OPEN, "WebSockets open on this node.");
    describe_counter!(FRAMES_IN, "WebSocket frames received from clients.");
    describe_counter!(FRAMES_OUT, "WebSocket frames written to clients.");
    describe_counter!(DELIVERIES, "Events handed to a local connection by a fan-out.");
    describe_histogram!(COMMIT_BATCH, "Chat messages stored per commit.");
    describe_histogram!(COMMIT_DURATION, Unit::Seconds, "Time of one commit of chat messages.");
    describe_counter!(COMMIT_FALLBACKS, "Batches of chat messages the committer's own SQLite connection could not store, stored through the pool instead, by reason (busy: another writer held the database; error).");
    describe_counter!(RESYNCS, "Connections that fell behind and were told to resync.");
    describe_counter!(SYNCS, "sync frames answered (a client catching up after a reconnect).");
    describe_counter!(REPLAYED, "Messages replayed from the database to catch a client up.");
    describe_gauge!(DB_POOL, "Database connections of this node, by state (idle, in_use).");
    describe_gauge!(DB_POOL_MAX, "The most database connections this node opens.");
    describe_gauge!(CALLS, "Calls on now.");
    describe_gauge!(SEATS, "People in calls now.");
    describe_counter!(GAP_FILLS, "Times a node read a room's changes from the database because the bus skipped or lost some.");
    describe_counter!(GAP_FILLED, "Changes delivered from the database by gap fills.");
    describe_counter!(REDIS_ERRORS, "Redis commands that failed, by operation (publish, subscribe, presence, check).");
    describe_counter!(REDIS_RECONNECTS, "Times the bus's subscription connection was lost (it reconnects and resubscribes).");
}

/// The counters of the hot path, looked up once by name when the hub is built (after the
/// server installed its recorder, if it does): counting a frame is then one atomic add, not a
/// lookup per socket write.
#[derive(Clone)]
pub struct Hot {
    pub frames_in: Counter,
    pub frames_out: Counter,
}

impl Default for Hot {
    fn default() -> Self {
        Self { frames_in: counter!(FRAMES_IN), frames_out: counter!(FRAMES_OUT) }
    }
}

/// The deliveries counter, for a fan-out to keep (see [`Hot`]).
pub fn deliveries() -> Counter {
    counter!(DELIVERIES)
}

/// One commit of `batch` chat messages that took `took`.
pub fn commit(batch: usize, took: std::time::Duration) {
    histogram!(COMMIT_BATCH).record(batch as f64);
    histogram!(COMMIT_DURATION).record(took.as_secs_f64());
}

/// A batch that left the committer's own SQLite connection for the pool; `reason` is `busy`
/// or `error`.
pub fn commit_fallback(reason: &'static str) {
    counter!(COMMIT_FALLBACKS, "reason" => reason).increment(1);
}

pub fn resync() {
    counter!(RESYNCS).increment(1);
}

/// One `sync` answered, with the messages it replayed.
pub fn sync(replayed: u64) {
    counter!(SYNCS).increment(1);
    counter!(REPLAYED).increment(replayed);
}

/// A gap fill that delivered `changes` changes from the database; `reason` is `wait` (a change
/// came ahead of one that did not follow) or `check` (the periodic check found a room behind).
pub fn gap_fill(reason: &'static str, changes: u64) {
    counter!(GAP_FILLS, "reason" => reason).increment(1);
    counter!(GAP_FILLED, "reason" => reason).increment(changes);
}

pub fn redis_error(op: &'static str) {
    counter!(REDIS_ERRORS, "op" => op).increment(1);
}

pub fn redis_reconnect() {
    counter!(REDIS_RECONNECTS).increment(1);
}

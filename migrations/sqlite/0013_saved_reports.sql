-- Saved reports (premium): each CSV export is kept until it expires. The file is in the report
-- store (a folder under the data folder, or an S3-compatible bucket) under object_key.
create table saved_reports (
    id integer primary key autoincrement,
    user_id bigint not null references users (id) on delete cascade,
    object_key text not null unique,
    -- the name the download is saved as, e.g. huddle-expenses-2026-11-01-2026-11-30.csv
    file_name text not null,
    -- what was exported, in words: range and filters
    description text not null,
    rows bigint not null,
    size bigint not null,
    created_at bigint not null,
    expires_at bigint not null
);
create index saved_reports_user_idx on saved_reports (user_id, id);
create index saved_reports_expiry_idx on saved_reports (expires_at);

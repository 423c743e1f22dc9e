-- The directory's index ordered public rooms by last_activity_at, which every post moves: each
-- post then wrote an index entry (and no update of a room could be a heap-only one) to keep an
-- order only the directory reads. The index now finds the public rooms; the directory sorts
-- the ones that match. (SQLite's migration 0017 also drops AUTOINCREMENT from messages; a
-- PostgreSQL sequence costs no page per post.)
drop index rooms_public_idx;
create index rooms_directory_idx on rooms (visibility, kind);

-- Every post writes each page it touches to the log, and a checkpoint copies it again. Two of
-- the eight pages a post touched did no work a user could see:
--
-- 1. The directory's index ordered public rooms by last_activity_at, which every post moves:
--    a post rewrote an index page to keep an order only the directory reads. The index now
--    finds the public rooms; the directory sorts the ones that match (a few hundred rows at
--    most, for a page a person opens now and then).
-- 2. AUTOINCREMENT kept messages' ids in sqlite_sequence: one more page per post. Without it an
--    id is one more than the largest in the table, so the id of the newest message can come
--    back only if that message is deleted with its room or its sender (messages themselves are
--    only ever blanked). Nothing keeps a message's id beyond its row: replay is by (room,
--    change), read marks are by seq, and an edit or delete by a stale id is checked against
--    its sender like any other.
--
-- SQLite cannot drop AUTOINCREMENT in place: the table is rebuilt (new table, copy, drop, rename;
-- nothing references messages, so no foreign key is touched), then its indexes and trigger are
-- made again as migrations 0006, 0015 and 0016 made them.
drop index rooms_public_idx;
create index rooms_directory_idx on rooms (visibility, kind);

create table messages_new (
    id integer primary key,
    room_id bigint not null references rooms (id) on delete cascade,
    -- position in the room; history pages are keyset on (room_id, seq)
    seq bigint not null,
    -- rooms.last_change when this row was last written; replay is keyset on (room_id, change)
    change bigint not null,
    sender_id bigint not null references users (id) on delete cascade,
    -- the UUID the sender's client chose: sending it again stores nothing new
    client_id text not null,
    -- '' once deleted
    body text not null,
    created_at bigint not null,
    edited_at bigint,
    deleted_at bigint,
    -- the shared expense or payment this message is the card of (migration 0015)
    shared_expense_id bigint references shared_expenses (id) on delete cascade,
    card text,
    constraint messages_room_seq_key unique (room_id, seq),
    constraint messages_sender_client_key unique (sender_id, client_id)
);
insert into messages_new (id, room_id, seq, change, sender_id, client_id, body, created_at, edited_at, deleted_at, shared_expense_id, card)
    select id, room_id, seq, change, sender_id, client_id, body, created_at, edited_at, deleted_at, shared_expense_id, card from messages;
drop table messages;
alter table messages_new rename to messages;
create index messages_room_change_idx on messages (room_id, change);
create index messages_shared_expense on messages (shared_expense_id) where shared_expense_id is not null;
create trigger messages_posted after insert on messages
begin
    update rooms set last_seq = max(last_seq, new.seq), last_change = max(last_change, new.change),
                     last_activity_at = new.created_at
     where id = new.room_id;
    update room_members set last_read_seq = max(last_read_seq, new.seq)
     where room_id = new.room_id and user_id = new.sender_id;
end;

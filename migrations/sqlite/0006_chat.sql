-- Chat: group rooms and direct conversations share one table; messages are numbered per room.

create table rooms (
    id integer primary key autoincrement,
    -- 'group' or 'direct'
    kind text not null,
    -- empty for a direct conversation (its title is the other user's name)
    name text not null,
    topic text not null default '',
    created_by bigint not null references users (id) on delete cascade,
    -- direct conversations only: '<lower user id>:<higher user id>', so a pair has exactly one
    direct_key text constraint rooms_direct_key unique,
    -- position of the newest message: the next message gets last_seq + 1 (no gaps)
    last_seq bigint not null default 0,
    -- counts every write to the room's messages (post, edit, delete): the replay cursor
    last_change bigint not null default 0,
    -- time of the newest message, or of creation: orders the chat home
    last_activity_at bigint not null,
    created_at bigint not null
);

create table room_members (
    room_id bigint not null references rooms (id) on delete cascade,
    user_id bigint not null references users (id) on delete cascade,
    -- seq of the newest message this member has read; unread = rooms.last_seq - last_read_seq
    last_read_seq bigint not null default 0,
    joined_at bigint not null,
    constraint room_members_pkey primary key (room_id, user_id)
);
create index room_members_user_idx on room_members (user_id, room_id);

create table messages (
    id integer primary key autoincrement,
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
    constraint messages_room_seq_key unique (room_id, seq),
    constraint messages_sender_client_key unique (sender_id, client_id)
);
create index messages_room_change_idx on messages (room_id, change);

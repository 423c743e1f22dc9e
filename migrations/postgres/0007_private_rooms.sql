-- Group rooms are private unless their creator makes them public. A private room is joined
-- only through its invite link (or by being added by someone who may invite); a public room
-- is listed in the room directory and anyone signed in may join it.

-- 'private' or 'public' (direct conversations are always 'private')
alter table rooms add column visibility text not null default 'private';
-- Random, replaced when the link is regenerated. The link's token is an HMAC of the room id
-- and this nonce under the server secret: no working link can be read out of the database,
-- and every old link dies with its nonce.
alter table rooms add column invite_nonce text not null default '';
-- The current link stops working at this time (milliseconds), if set
alter table rooms add column invite_expires_at bigint;
-- The current link stops working after this many joins, if set
alter table rooms add column invite_max_uses bigint;
-- Joins made with the current link
alter table rooms add column invite_uses bigint not null default 0;
-- 1: every member may copy and regenerate the link and add people; 0: only the creator
alter table rooms add column members_invite bigint not null default 0;

-- Every existing room becomes private with a fresh link nobody has seen: until now any id was
-- joinable.
update rooms set invite_nonce = md5(gen_random_uuid()::text);

-- Removing a member bans them until someone who may invite adds them again; old links and
-- the directory do not let them back in.
create table room_bans (
    room_id bigint not null references rooms (id) on delete cascade,
    user_id bigint not null references users (id) on delete cascade,
    banned_by bigint not null references users (id) on delete cascade,
    banned_at bigint not null,
    constraint room_bans_pkey primary key (room_id, user_id)
);

-- The directory: public rooms by recent activity
create index rooms_public_idx on rooms (visibility, last_activity_at);

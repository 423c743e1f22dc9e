-- Meetings: a video call reached by a code, tied to a chat room. A call started from a room uses
-- that room's chat; a meeting started on its own gets a room of kind 'meeting' (not listed with
-- the user's rooms) whose members are the people who joined it, so its chat is kept and
-- replayed like any room's.

create table meetings (
    id integer primary key autoincrement,
    -- 'abc-defg-hij': 10 letters, unique for good
    code text not null constraint meetings_code_key unique,
    room_id bigint not null references rooms (id) on delete cascade,
    host_id bigint not null references users (id) on delete cascade,
    created_at bigint not null,
    -- first join; null while nobody has joined
    started_at bigint,
    -- the last person left, or the host ended it; an ended meeting cannot be joined
    ended_at bigint,
    -- 1: nobody new may join
    locked bigint not null default 0
);
create index meetings_room_idx on meetings (room_id, created_at);

-- One row per stint: leaving and joining again adds a row, never rewrites one.
create table meeting_attendance (
    id integer primary key autoincrement,
    meeting_id bigint not null references meetings (id) on delete cascade,
    user_id bigint not null references users (id) on delete cascade,
    joined_at bigint not null,
    -- null while in the call
    left_at bigint,
    -- 'left', 'removed', 'dropped' (connection lost for good) or 'ended'
    ended_by text
);
create index meeting_attendance_meeting_idx on meeting_attendance (meeting_id, joined_at);
create index meeting_attendance_user_idx on meeting_attendance (user_id, meeting_id);

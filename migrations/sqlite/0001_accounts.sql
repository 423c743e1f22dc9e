-- Accounts and logins. Times are integer milliseconds since the Unix epoch (portable across backends).

create table users (
    id integer primary key autoincrement,
    name text not null,
    -- as typed by the user, shown back to them
    username text not null,
    -- lowercase username: the uniqueness and lookup key
    username_key text not null constraint users_username_key unique,
    email text not null,
    -- lowercase email: the uniqueness and lookup key
    email_key text not null constraint users_email_key unique,
    -- argon2id PHC string
    password_hash text not null,
    created_at bigint not null
);

-- One row per login: a refresh-token family. Revoking it ends that login everywhere it is used.
create table sessions (
    id integer primary key autoincrement,
    user_id bigint not null references users (id) on delete cascade,
    user_agent text not null,
    created_at bigint not null,
    last_used_at bigint not null,
    expires_at bigint not null,
    -- null while the login is active
    revoked_at bigint
);
create index sessions_user_idx on sessions (user_id);

-- Every refresh token ever issued, by hash only; the raw token lives in the user's cookie.
create table refresh_tokens (
    token_hash text primary key,
    session_id bigint not null references sessions (id) on delete cascade,
    created_at bigint not null,
    -- set when this token was exchanged for its successor; a second use is a reuse
    rotated_at bigint
);
create index refresh_tokens_session_idx on refresh_tokens (session_id);

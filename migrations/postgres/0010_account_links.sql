-- One-time links sent by mail: password reset (30 minutes) and email verification (24 hours).
-- Only the SHA-256 of a link's 256-bit token is kept; the token itself is only in the mail.
create table account_tokens (
    token_hash text primary key,
    user_id bigint not null references users (id) on delete cascade,
    -- 'reset' or 'verify'
    purpose text not null,
    -- verify: the address the link confirms (the account's own, or the one it is changing to)
    email text,
    created_at bigint not null,
    expires_at bigint not null,
    -- set when the link was used, or voided by a newer link of the same purpose
    used_at bigint
);
create index account_tokens_user_idx on account_tokens (user_id, purpose);

-- When the account's current email address was confirmed by a link; null until then.
alter table users add column email_verified_at bigint;

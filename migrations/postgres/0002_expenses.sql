-- Expenses: amounts in integer minor units of the user's currency, dates as the user's calendar day.

-- ISO 4217 code the user's amounts are in
alter table users add column currency text not null default 'EUR';
-- rows per page of the expense list, as last chosen
alter table users add column page_size bigint not null default 25;

create table categories (
    id bigserial primary key,
    user_id bigint not null references users (id) on delete cascade,
    name text not null,
    -- lowercase name: unique per user
    name_key text not null,
    -- 1 for the built-in set, which cannot be renamed or deleted
    builtin bigint not null default 0,
    created_at bigint not null,
    constraint categories_user_name_key unique (user_id, name_key)
);

create table expenses (
    id bigserial primary key,
    user_id bigint not null references users (id) on delete cascade,
    category_id bigint not null references categories (id),
    -- integer minor units (cents), always positive
    amount_minor bigint not null constraint expenses_amount_positive check (amount_minor > 0),
    description text not null,
    note text,
    -- 'YYYY-MM-DD': sorts and compares as text on both databases
    spent_on text not null,
    created_at bigint not null,
    updated_at bigint not null
);
-- The list: newest first, keyset-paginated on (spent_on, id).
create index expenses_user_day_idx on expenses (user_id, spent_on desc, id desc);
create index expenses_user_category_day_idx on expenses (user_id, category_id, spent_on desc, id desc);

-- The built-in categories for every existing user (new users get them at registration).
insert into categories (user_id, name, name_key, builtin, created_at)
select u.id, c.name, lower(c.name), 1, u.created_at
from users u cross join (
    select 'Food' as name union all select 'Transport' union all select 'Housing'
    union all select 'Utilities' union all select 'Health' union all select 'Entertainment'
    union all select 'Shopping' union all select 'Education' union all select 'Travel'
    union all select 'Other'
) c;

-- Shared expenses in rooms: a bill one member paid for several, or a settlement between two.
-- Balances are never stored: they are summed from these rows (see models::split).
create table shared_expenses (
    id integer primary key autoincrement,
    room_id bigint not null references rooms (id) on delete cascade,
    -- 'expense' or 'settlement' (paid_by paid the one member in shared_expense_parts)
    kind text not null,
    description text not null,
    amount_minor bigint not null constraint shared_expenses_amount_positive check (amount_minor > 0),
    currency text not null,
    -- YYYY-MM-DD
    spent_on text not null,
    paid_by bigint not null references users (id) on delete cascade,
    -- 'equal', 'shares', 'percent' or 'exact' (a settlement is 'exact')
    split_mode text not null,
    created_by bigint not null references users (id) on delete cascade,
    created_at bigint not null,
    updated_at bigint,
    -- set when deleted: the row stays for its history, out of every balance
    deleted_at bigint
);
create index shared_expenses_room_idx on shared_expenses (room_id, id);

create table shared_expense_parts (
    expense_id bigint not null references shared_expenses (id) on delete cascade,
    user_id bigint not null references users (id) on delete cascade,
    -- what was entered: shares, basis points of a percent, or minor units (1 for equal)
    weight bigint not null,
    -- this member's part in minor units; the parts add up to the amount
    amount_minor bigint not null,
    constraint shared_expense_parts_pkey primary key (expense_id, user_id)
);
create index shared_expense_parts_user_idx on shared_expense_parts (user_id);

-- Who added, changed or deleted an entry, when, and what it was after the change.
create table shared_expense_history (
    id integer primary key autoincrement,
    expense_id bigint not null references shared_expenses (id) on delete cascade,
    -- 'added', 'edited' or 'deleted'
    action text not null,
    changed_by bigint not null references users (id) on delete cascade,
    changed_at bigint not null,
    -- a one-line account of the entry after the change, e.g. "Dinner, 90.00 EUR, paid by ada"
    summary text not null
);
create index shared_expense_history_expense_idx on shared_expense_history (expense_id, id);

-- The settle-up plan members were last shown, per currency (JSON list of {from, to,
-- amount_minor}): a new plan keeps it where it still works, so paying one suggestion does not
-- reshuffle the others (models::split::settle_keeping).
create table shared_settle_plans (
    room_id bigint not null references rooms (id) on delete cascade,
    currency text not null,
    plan text not null,
    constraint shared_settle_plans_pkey primary key (room_id, currency)
);

-- A member's part of a shared bill copied into their personal expenses: edits of the bill
-- follow it there, deleting the bill deletes the copy, deleting the copy ends the link.
create table shared_expense_copies (
    expense_id bigint not null references shared_expenses (id) on delete cascade,
    user_id bigint not null references users (id) on delete cascade,
    personal_id bigint not null references expenses (id) on delete cascade,
    constraint shared_expense_copies_pkey primary key (expense_id, user_id)
);
create index shared_expense_copies_personal_idx on shared_expense_copies (personal_id);

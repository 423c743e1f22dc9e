-- Monthly budgets: how much the user means to spend per category each month.
create table budgets (
    user_id bigint not null references users (id) on delete cascade,
    category_id bigint not null references categories (id) on delete cascade,
    -- integer minor units per month, always positive (no row means no budget)
    amount_minor bigint not null constraint budgets_amount_positive check (amount_minor > 0),
    constraint budgets_pkey primary key (user_id, category_id)
);

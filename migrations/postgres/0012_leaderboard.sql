-- The premium leaderboard: each user's total spend per calendar month ('YYYY-MM') and in all
-- ('all'), kept in the same transaction as every change to their expenses.
create table spend_totals (
    user_id bigint not null references users (id) on delete cascade,
    period text not null,
    total bigint not null,
    primary key (user_id, period)
);
-- Leaderboards are ordered by period and total.
create index spend_totals_period_idx on spend_totals (period, total desc);

insert into spend_totals (user_id, period, total)
select user_id, substr(spent_on, 1, 7), sum(amount_minor) from expenses group by user_id, substr(spent_on, 1, 7);
insert into spend_totals (user_id, period, total)
select user_id, 'all', sum(amount_minor) from expenses group by user_id;

-- Whether the user chose to appear on the leaderboard: off until they do.
alter table users add column on_leaderboard integer not null default 0;

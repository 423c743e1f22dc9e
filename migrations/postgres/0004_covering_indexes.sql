-- Reports sum hundreds of thousands of rows for a heavy user: let them read the index alone.
-- Each index keeps the keyset order of the list (spent_on, id) and carries the columns the
-- totals need (category_id, amount_minor), so neither the list nor a report visits the table
-- for them.
drop index expenses_user_day_idx;
drop index expenses_user_category_day_idx;
create index expenses_user_day_idx on expenses (user_id, spent_on, id, category_id, amount_minor);
create index expenses_user_category_day_idx on expenses (user_id, category_id, spent_on, id, amount_minor);

-- Shared expenses and payments appear in their room's timeline as cards: a message that
-- names its entry and keeps a copy of it as last written (JSON, see models::chat::BillCard).
-- The ledger rewrites the message when the entry changes; a chat edit never touches it.
alter table messages add column shared_expense_id bigint references shared_expenses (id) on delete cascade;
alter table messages add column card text;
create index messages_shared_expense on messages (shared_expense_id) where shared_expense_id is not null;

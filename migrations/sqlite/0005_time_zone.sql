-- IANA time zone of the user: "today" and "this month" follow it.
alter table users add column time_zone text not null default 'UTC';

-- The user's colour theme: 'system' follows the device, else 'light' or 'dark'.
alter table users add column theme text not null default 'system';

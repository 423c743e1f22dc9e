-- Premium through a payment order. The amount and currency of an order come from the server's
-- configuration when it is created, never from the browser; the provider's order id is what its
-- checkout, callback and webhooks name.
create table payment_orders (
    id bigserial primary key,
    user_id bigint not null references users (id) on delete cascade,
    -- 'demo' or 'razorpay'
    provider text not null,
    provider_order_id text not null unique,
    amount bigint not null,
    currency text not null,
    -- 'created' -> 'paid' (final) or 'failed' (a verified payment may still make it paid)
    status text not null,
    -- set once paid: a payment can pay one order only
    payment_id text unique,
    -- why it failed, in words for the order history (never the provider's raw answer)
    failure text,
    created_at bigint not null,
    updated_at bigint not null
);
create index payment_orders_user_idx on payment_orders (user_id, id);

-- Webhook deliveries already handled, by the provider's event id: a repeat is ignored.
create table payment_events (
    event_id text primary key,
    received_at bigint not null
);

-- Since when the account is premium; null when it is not.
alter table users add column premium_since bigint;

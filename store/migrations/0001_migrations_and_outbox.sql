-- The outbox: an event is written here in the same transaction as the state it reports,
-- and the relay publishes it to Kafka. `seq` gives the publish order.
CREATE SCHEMA IF NOT EXISTS outbox;

CREATE TABLE outbox.events (
    seq          bigserial PRIMARY KEY,
    event_id     uuid        NOT NULL UNIQUE,
    topic        text        NOT NULL,
    message_key  bytea       NOT NULL,
    envelope     jsonb       NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    sent_at      timestamptz,
    attempts     integer     NOT NULL DEFAULT 0,
    last_error   text
);

-- The relay only ever reads unsent rows in order: keep that index small.
CREATE INDEX outbox_unsent ON outbox.events (seq) WHERE sent_at IS NULL;

CREATE FUNCTION outbox.notify_relay() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('outbox_events', '');
    RETURN NULL;
END $$;

CREATE TRIGGER outbox_events_notify AFTER INSERT ON outbox.events
    FOR EACH STATEMENT EXECUTE FUNCTION outbox.notify_relay();

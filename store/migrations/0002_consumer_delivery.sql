-- Exactly-once effect for consumers: an event id is recorded here in the same transaction
-- as the effect it had, so a redelivered event changes nothing.
CREATE SCHEMA IF NOT EXISTS delivery;

CREATE TABLE delivery.processed_events (
    consumer    text        NOT NULL,
    event_id    uuid        NOT NULL,
    event_type  text        NOT NULL,
    outcome     text        NOT NULL CHECK (outcome IN ('applied', 'ignored', 'replayed')),
    applied_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, event_id)
);

-- Messages a consumer gave up on. The same record is also published to the topic's .dlq
-- twin; this table is what operators list, replay and discard.
CREATE TABLE delivery.dead_letters (
    id            bigserial PRIMARY KEY,
    consumer      text        NOT NULL,
    topic         text        NOT NULL,
    kafka_partition integer   NOT NULL,
    kafka_offset  bigint      NOT NULL,
    message_key   bytea,
    value         bytea       NOT NULL,
    event_id      uuid,
    event_type    text,
    error         text        NOT NULL,
    attempts      integer     NOT NULL,
    status        text        NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'replayed', 'discarded')),
    created_at    timestamptz NOT NULL DEFAULT now(),
    resolved_at   timestamptz,
    resolved_by   text,
    UNIQUE (consumer, topic, kafka_partition, kafka_offset)
);
CREATE INDEX dead_letters_open ON delivery.dead_letters (created_at) WHERE status = 'open';

-- Each outbox row goes out on one channel: a signed webhook POST, or a
-- Telegram sendMessage (its payload is the request body, without the token).
-- Existing rows were webhooks.
ALTER TABLE webhook_deliveries ADD COLUMN channel TEXT NOT NULL DEFAULT 'webhook';
DROP INDEX webhook_deliveries_due;
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (channel, status, next_attempt_at);
-- One row per local day whose Telegram digest was enqueued: the replica whose
-- insert wins sends it, so replicas send one digest a day between them.
CREATE TABLE digest_runs (
    day DATE PRIMARY KEY,
    created_at TIMESTAMP NOT NULL
);

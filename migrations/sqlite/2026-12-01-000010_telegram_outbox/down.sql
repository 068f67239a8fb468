DROP TABLE digest_runs;
DROP INDEX webhook_deliveries_due;
DELETE FROM webhook_deliveries WHERE channel <> 'webhook';
ALTER TABLE webhook_deliveries DROP COLUMN channel;
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_attempt_at);

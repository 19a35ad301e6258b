-- The alert outbox (issue 21): a claimed transition becomes one row per notifier (pending), is
-- sent, then marked sent (or dead, with its dead letter). Rows are versions (the newest wins): the
-- sender writes a new version at each attempt, so a pending row whose newest version is older than
-- ALERT_OUTBOX_LEASE_MS has lost its sender (killed, say), and whichever evaluator is alive claims
-- that version and sends it. The receiver sees the transition's Idempotency-Key on every attempt.
CREATE TABLE IF NOT EXISTS {{LOCAL alert_outbox}}{{ON_CLUSTER}}
(
    event_key  String,
    receiver   String,
    rule_id    String,
    notifier   String,
    message    String,
    status     LowCardinality(String),
    attempts   UInt32,
    owner      String,
    version    DateTime64(3, 'UTC')
)
ENGINE = {{ReplacingMergeTree}}(version)
ORDER BY (event_key, receiver)
TTL toDateTime(version) + INTERVAL 30 DAY;

{{DISTRIBUTED alert_outbox event_key}};

-- Alert rules, their state and history, notification claims and undeliverable notifications.
-- Every API and evaluator instance reads the same tables, so rules and states are shared.

-- One row per version of a rule (the definition as JSON, validated by the API or the rule file
-- loader); the latest version wins, `deleted = 1` hides the rule.
CREATE TABLE IF NOT EXISTS {{LOCAL alert_rules}}{{ON_CLUSTER}}
(
    rule_id     String,
    version     UInt64,
    deleted     UInt8,
    definition  String,
    updated_at  DateTime64(3, 'UTC'),
    updated_by  String
)
ENGINE = {{ReplacingMergeTree}}(version)
ORDER BY rule_id;

{{DISTRIBUTED alert_rules rule_id}};

-- The state of each rule and group (one group '' for an ungrouped rule): the latest evaluation wins.
CREATE TABLE IF NOT EXISTS {{LOCAL alert_state}}{{ON_CLUSTER}}
(
    rule_id       String,
    group_key     String,
    status        LowCardinality(String),
    firing        UInt8,
    episode       UInt32,
    pending_since Nullable(DateTime64(3, 'UTC')),
    fired_at      Nullable(DateTime64(3, 'UTC')),
    last_notified_at Nullable(DateTime64(3, 'UTC')),
    repeats       UInt32,
    value         Nullable(Float64),
    threshold     Nullable(Float64),
    message       String,
    evaluated_at  DateTime64(3, 'UTC'),
    version       UInt64
)
ENGINE = {{ReplacingMergeTree}}(version)
ORDER BY (rule_id, group_key);

{{DISTRIBUTED alert_state rule_id}};

-- Every transition, once: inserted with the transition's key as deduplication token, so two
-- evaluators recording the same transition leave one row.
CREATE TABLE IF NOT EXISTS {{LOCAL alert_history}}{{ON_CLUSTER}}
(
    at          DateTime64(3, 'UTC'),
    rule_id     String,
    group_key   String,
    transition  LowCardinality(String),
    episode     UInt32,
    value       Nullable(Float64),
    threshold   Nullable(Float64),
    severity    LowCardinality(String),
    message     String,
    event_key   String,
    instance    String
)
ENGINE = {{MergeTree}}
PARTITION BY toYYYYMM(at)
ORDER BY (rule_id, group_key, at)
TTL toDateTime(at) + INTERVAL 400 DAY
SETTINGS non_replicated_deduplication_window = 100000;

{{DISTRIBUTED alert_history rule_id}};

-- Who sends a notification: each evaluator inserts a claim with the notification's idempotency
-- key as deduplication token; ClickHouse keeps the first and drops the rest, so reading the key
-- back names exactly one instance, which sends.
CREATE TABLE IF NOT EXISTS {{LOCAL alert_claims}}{{ON_CLUSTER}}
(
    event_key   String,
    instance    String,
    claimed_at  DateTime64(3, 'UTC')
)
ENGINE = {{MergeTree}}
ORDER BY event_key
TTL toDateTime(claimed_at) + INTERVAL 30 DAY
SETTINGS non_replicated_deduplication_window = 100000;

{{DISTRIBUTED alert_claims event_key}};

-- Notifications that every retry failed to deliver.
CREATE TABLE IF NOT EXISTS {{LOCAL alert_dead_letters}}{{ON_CLUSTER}}
(
    at          DateTime64(3, 'UTC'),
    event_key   String,
    rule_id     String,
    receiver    String,
    attempts    UInt32,
    error       String,
    payload     String
)
ENGINE = {{MergeTree}}
ORDER BY (rule_id, at)
TTL toDateTime(at) + INTERVAL 90 DAY;

{{DISTRIBUTED alert_dead_letters rule_id}};

-- Event-time progress per consumer group and partition, published by the workers every
-- WATERMARK_PUBLISH_MS: readers (the API, alert rules) take the minimum over a group's partitions
-- as "windows complete up to". `watermark` is the partition's event-time watermark; an idle
-- partition (no record for IDLE_TIMEOUT_MS) is published as max(watermark, now − IDLE_TIMEOUT_MS)
-- with idle = 1, so that one silent partition does not hold every window open. The last row per
-- partition wins (ReplacingMergeTree; read with FINAL or argMax).
CREATE TABLE IF NOT EXISTS {{LOCAL streamcube_watermarks}}{{ON_CLUSTER}}
(
    group_id     LowCardinality(String),
    topic        LowCardinality(String),
    partition    UInt32,
    watermark    DateTime64(3, 'UTC'),
    event_watermark Nullable(DateTime64(3, 'UTC')),
    idle         UInt8,
    worker       String,
    updated_at   DateTime64(3, 'UTC')
)
ENGINE = {{ReplacingMergeTree}}
ORDER BY (group_id, topic, partition)
TTL toDateTime(updated_at) + INTERVAL 30 DAY;

{{DISTRIBUTED streamcube_watermarks group_id}};

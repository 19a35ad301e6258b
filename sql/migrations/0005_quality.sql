-- Data quality per minute of arrival (the record's Kafka timestamp), pipeline set and topic:
-- records read, and events accepted, accepted late, duplicates, too late and dead-lettered (with
-- the error code). Written by every flush with the range's deduplication token, so the counts are
-- exactly once like the cubes.
CREATE TABLE IF NOT EXISTS {{LOCAL quality_minute}}{{ON_CLUSTER}}
(
    window_start DateTime('UTC'),
    pipeline_set LowCardinality(String),
    topic        LowCardinality(String),
    kind         LowCardinality(String),
    code         LowCardinality(String),
    events       SimpleAggregateFunction(sum, UInt64)
)
ENGINE = {{AggregatingMergeTree}}
PARTITION BY toYYYYMM(window_start)
ORDER BY (pipeline_set, topic, kind, code, window_start)
TTL window_start + INTERVAL 90 DAY
SETTINGS non_replicated_deduplication_window = 10000;

{{DISTRIBUTED quality_minute topic}};

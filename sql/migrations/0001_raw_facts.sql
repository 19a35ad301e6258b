-- Raw fact tables: every valid event as it arrived, for ad-hoc queries, correctness oracles and
-- rebuilding cubes. Kept 180 days. Inserts carry a deduplication token per source offset range, so
-- the tables keep a deduplication window on a single node too.

CREATE TABLE IF NOT EXISTS {{LOCAL behaviour_events}}{{ON_CLUSTER}}
(
    event_id     String,
    event_time   DateTime64(3, 'UTC'),
    action       LowCardinality(String),
    user_id      String,
    community_id LowCardinality(String),
    sku          Nullable(String),
    query        Nullable(String),
    session_id   String,
    device       LowCardinality(String),
    channel      LowCardinality(String),
    lat          Nullable(Float64),
    lon          Nullable(Float64),
    source_topic     LowCardinality(String),
    source_partition UInt32,
    source_offset    UInt64,
    ingested_at  DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = {{MergeTree}}
PARTITION BY toYYYYMM(event_time)
ORDER BY (community_id, action, event_time)
TTL toDateTime(event_time) + INTERVAL 180 DAY
SETTINGS non_replicated_deduplication_window = 10000;

{{DISTRIBUTED behaviour_events community_id}};

CREATE TABLE IF NOT EXISTS {{LOCAL order_events}}{{ON_CLUSTER}}
(
    event_id      String,
    event_time    DateTime64(3, 'UTC'),
    order_id      String,
    status        LowCardinality(String),
    user_id       String,
    community_id  LowCardinality(String),
    leader_id     LowCardinality(String),
    line_sku          Array(String),
    line_category_id  Array(LowCardinality(String)),
    line_qty          Array(UInt32),
    line_unit_price_cents Array(UInt64),
    amount_cents  UInt64,
    refund_cents  Nullable(UInt64),
    complaint_reason LowCardinality(Nullable(String)),
    delivery_lat  Float64,
    delivery_lon  Float64,
    customer_name    String,
    customer_phone   String,
    customer_address String,
    source_topic     LowCardinality(String),
    source_partition UInt32,
    source_offset    UInt64,
    ingested_at   DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = {{MergeTree}}
PARTITION BY toYYYYMM(event_time)
ORDER BY (community_id, status, event_time, order_id)
TTL toDateTime(event_time) + INTERVAL 180 DAY
SETTINGS non_replicated_deduplication_window = 10000;

{{DISTRIBUTED order_events community_id}};

CREATE TABLE IF NOT EXISTS {{LOCAL inventory_events}}{{ON_CLUSTER}}
(
    event_id      String,
    event_time    DateTime64(3, 'UTC'),
    kind          LowCardinality(String),
    warehouse_id  LowCardinality(String),
    community_id  LowCardinality(String),
    sku           String,
    batch_id      Nullable(String),
    qty           UInt64,
    production_date Nullable(Date),
    expiry_date     Nullable(Date),
    loss_reason   LowCardinality(Nullable(String)),
    order_id      Nullable(String),
    source_topic     LowCardinality(String),
    source_partition UInt32,
    source_offset    UInt64,
    ingested_at   DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = {{MergeTree}}
PARTITION BY toYYYYMM(event_time)
ORDER BY (warehouse_id, sku, event_time)
TTL toDateTime(event_time) + INTERVAL 365 DAY
SETTINGS non_replicated_deduplication_window = 10000;

{{DISTRIBUTED inventory_events warehouse_id}};

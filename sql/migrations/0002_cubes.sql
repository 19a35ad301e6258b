-- Cubes: minute tables written by the pipelines (AggregatingMergeTree: partial rows from any
-- partition or flush merge), hour and day rollups as materialized views, TTL per grain
-- (minute 30 days, hour 400 days, day 5 years). Distinct counts are uniq states built by
-- ClickHouse from id arrays; sums are SimpleAggregateFunction(sum). Every table the sink inserts
-- into, and every rollup a view feeds, keeps a deduplication window for the exactly-once flush
-- protocol (README): a replayed insert that the minute table drops as a duplicate still reaches
-- the views, and only the rollup's own window (with deduplicate_blocks_in_dependent_materialized_views
-- set on the insert) keeps it from counting twice — verified on the embedded engine.

-- gmv: GMV by community, group leader and category (paid orders; refunds allocated over categories in exact cents).
CREATE TABLE IF NOT EXISTS {{LOCAL gmv_minute}}{{ON_CLUSTER}}
(
    window_start DateTime('UTC'),
    community_id LowCardinality(String),
    leader_id LowCardinality(String),
    category_id LowCardinality(String),
    gmv_cents SimpleAggregateFunction(sum, UInt64),
    items SimpleAggregateFunction(sum, UInt64),
    orders AggregateFunction(uniq, String),
    paying_users AggregateFunction(uniq, String),
    refund_cents SimpleAggregateFunction(sum, UInt64),
    refunded_orders AggregateFunction(uniq, String),
    cancelled_orders AggregateFunction(uniq, String)
)
ENGINE = {{AggregatingMergeTree}}
PARTITION BY toYYYYMM(window_start)
ORDER BY (community_id, leader_id, category_id, window_start)
TTL window_start + INTERVAL 30 DAY
SETTINGS non_replicated_deduplication_window = 10000;

{{DISTRIBUTED gmv_minute community_id}};

CREATE TABLE IF NOT EXISTS {{LOCAL gmv_hour}}{{ON_CLUSTER}}
(
    window_start DateTime('UTC'),
    community_id LowCardinality(String),
    leader_id LowCardinality(String),
    category_id LowCardinality(String),
    gmv_cents SimpleAggregateFunction(sum, UInt64),
    items SimpleAggregateFunction(sum, UInt64),
    orders AggregateFunction(uniq, String),
    paying_users AggregateFunction(uniq, String),
    refund_cents SimpleAggregateFunction(sum, UInt64),
    refunded_orders AggregateFunction(uniq, String),
    cancelled_orders AggregateFunction(uniq, String)
)
ENGINE = {{AggregatingMergeTree}}
PARTITION BY toYYYYMM(window_start)
ORDER BY (community_id, leader_id, category_id, window_start)
TTL window_start + INTERVAL 400 DAY
SETTINGS non_replicated_deduplication_window = 10000;

{{DISTRIBUTED gmv_hour community_id}};

CREATE MATERIALIZED VIEW IF NOT EXISTS {{LOCAL gmv_hour_mv}}{{ON_CLUSTER}} TO {{LOCAL gmv_hour}} AS
SELECT
    toStartOfHour(window_start) AS window_start,
    community_id,
    leader_id,
    category_id,
    sum(gmv_cents) AS gmv_cents,
    sum(items) AS items,
    uniqMergeState(orders) AS orders,
    uniqMergeState(paying_users) AS paying_users,
    sum(refund_cents) AS refund_cents,
    uniqMergeState(refunded_orders) AS refunded_orders,
    uniqMergeState(cancelled_orders) AS cancelled_orders
FROM {{LOCAL gmv_minute}}
GROUP BY window_start, community_id, leader_id, category_id;

CREATE TABLE IF NOT EXISTS {{LOCAL gmv_day}}{{ON_CLUSTER}}
(
    window_start DateTime('UTC'),
    community_id LowCardinality(String),
    leader_id LowCardinality(String),
    category_id LowCardinality(String),
    gmv_cents SimpleAggregateFunction(sum, UInt64),
    items SimpleAggregateFunction(sum, UInt64),
    orders AggregateFunction(uniq, String),
    paying_users AggregateFunction(uniq, String),
    refund_cents SimpleAggregateFunction(sum, UInt64),
    refunded_orders AggregateFunction(uniq, String),
    cancelled_orders AggregateFunction(uniq, String)
)
ENGINE = {{AggregatingMergeTree}}
PARTITION BY toYYYYMM(window_start)
ORDER BY (community_id, leader_id, category_id, window_start)
TTL window_start + INTERVAL 1830 DAY
SETTINGS non_replicated_deduplication_window = 10000;

{{DISTRIBUTED gmv_day community_id}};

CREATE MATERIALIZED VIEW IF NOT EXISTS {{LOCAL gmv_day_mv}}{{ON_CLUSTER}} TO {{LOCAL gmv_day}} AS
SELECT
    toStartOfDay(window_start) AS window_start,
    community_id,
    leader_id,
    category_id,
    sum(gmv_cents) AS gmv_cents,
    sum(items) AS items,
    uniqMergeState(orders) AS orders,
    uniqMergeState(paying_users) AS paying_users,
    sum(refund_cents) AS refund_cents,
    uniqMergeState(refunded_orders) AS refunded_orders,
    uniqMergeState(cancelled_orders) AS cancelled_orders
FROM {{LOCAL gmv_minute}}
GROUP BY window_start, community_id, leader_id, category_id;

-- activity: Activity by community and action (view, search, cart_add, cart_remove, favourite, share, order).
CREATE TABLE IF NOT EXISTS {{LOCAL activity_minute}}{{ON_CLUSTER}}
(
    window_start DateTime('UTC'),
    community_id LowCardinality(String),
    action LowCardinality(String),
    events SimpleAggregateFunction(sum, UInt64),
    users AggregateFunction(uniq, String)
)
ENGINE = {{AggregatingMergeTree}}
PARTITION BY toYYYYMM(window_start)
ORDER BY (community_id, action, window_start)
TTL window_start + INTERVAL 30 DAY
SETTINGS non_replicated_deduplication_window = 10000;

{{DISTRIBUTED activity_minute community_id}};

CREATE TABLE IF NOT EXISTS {{LOCAL activity_hour}}{{ON_CLUSTER}}
(
    window_start DateTime('UTC'),
    community_id LowCardinality(String),
    action LowCardinality(String),
    events SimpleAggregateFunction(sum, UInt64),
    users AggregateFunction(uniq, String)
)
ENGINE = {{AggregatingMergeTree}}
PARTITION BY toYYYYMM(window_start)
ORDER BY (community_id, action, window_start)
TTL window_start + INTERVAL 400 DAY
SETTINGS non_replicated_deduplication_window = 10000;

{{DISTRIBUTED activity_hour community_id}};

CREATE MATERIALIZED VIEW IF NOT EXISTS {{LOCAL activity_hour_mv}}{{ON_CLUSTER}} TO {{LOCAL activity_hour}} AS
SELECT
    toStartOfHour(window_start) AS window_start,
    community_id,
    action,
    sum(events) AS events,
    uniqMergeState(users) AS users
FROM {{LOCAL activity_minute}}
GROUP BY window_start, community_id, action;

CREATE TABLE IF NOT EXISTS {{LOCAL activity_day}}{{ON_CLUSTER}}
(
    window_start DateTime('UTC'),
    community_id LowCardinality(String),
    action LowCardinality(String),
    events SimpleAggregateFunction(sum, UInt64),
    users AggregateFunction(uniq, String)
)
ENGINE = {{AggregatingMergeTree}}
PARTITION BY toYYYYMM(window_start)
ORDER BY (community_id, action, window_start)
TTL window_start + INTERVAL 1830 DAY
SETTINGS non_replicated_deduplication_window = 10000;

{{DISTRIBUTED activity_day community_id}};

CREATE MATERIALIZED VIEW IF NOT EXISTS {{LOCAL activity_day_mv}}{{ON_CLUSTER}} TO {{LOCAL activity_day}} AS
SELECT
    toStartOfDay(window_start) AS window_start,
    community_id,
    action,
    sum(events) AS events,
    uniqMergeState(users) AS users
FROM {{LOCAL activity_minute}}
GROUP BY window_start, community_id, action;

-- heatmap: Geo activity by geohash cell (precision 5, 6, 7; geohashEncode(lon, lat, p) in SQL) and community.
CREATE TABLE IF NOT EXISTS {{LOCAL heatmap_minute}}{{ON_CLUSTER}}
(
    window_start DateTime('UTC'),
    precision UInt8,
    cell String,
    community_id LowCardinality(String),
    orders SimpleAggregateFunction(sum, UInt64),
    gmv_cents SimpleAggregateFunction(sum, UInt64),
    users AggregateFunction(uniq, String)
)
ENGINE = {{AggregatingMergeTree}}
PARTITION BY toYYYYMM(window_start)
ORDER BY (precision, cell, community_id, window_start)
TTL window_start + INTERVAL 30 DAY
SETTINGS non_replicated_deduplication_window = 10000;

{{DISTRIBUTED heatmap_minute cell}};

CREATE TABLE IF NOT EXISTS {{LOCAL heatmap_hour}}{{ON_CLUSTER}}
(
    window_start DateTime('UTC'),
    precision UInt8,
    cell String,
    community_id LowCardinality(String),
    orders SimpleAggregateFunction(sum, UInt64),
    gmv_cents SimpleAggregateFunction(sum, UInt64),
    users AggregateFunction(uniq, String)
)
ENGINE = {{AggregatingMergeTree}}
PARTITION BY toYYYYMM(window_start)
ORDER BY (precision, cell, community_id, window_start)
TTL window_start + INTERVAL 400 DAY
SETTINGS non_replicated_deduplication_window = 10000;

{{DISTRIBUTED heatmap_hour cell}};

CREATE MATERIALIZED VIEW IF NOT EXISTS {{LOCAL heatmap_hour_mv}}{{ON_CLUSTER}} TO {{LOCAL heatmap_hour}} AS
SELECT
    toStartOfHour(window_start) AS window_start,
    precision,
    cell,
    community_id,
    sum(orders) AS orders,
    sum(gmv_cents) AS gmv_cents,
    uniqMergeState(users) AS users
FROM {{LOCAL heatmap_minute}}
GROUP BY window_start, precision, cell, community_id;

CREATE TABLE IF NOT EXISTS {{LOCAL heatmap_day}}{{ON_CLUSTER}}
(
    window_start DateTime('UTC'),
    precision UInt8,
    cell String,
    community_id LowCardinality(String),
    orders SimpleAggregateFunction(sum, UInt64),
    gmv_cents SimpleAggregateFunction(sum, UInt64),
    users AggregateFunction(uniq, String)
)
ENGINE = {{AggregatingMergeTree}}
PARTITION BY toYYYYMM(window_start)
ORDER BY (precision, cell, community_id, window_start)
TTL window_start + INTERVAL 1830 DAY
SETTINGS non_replicated_deduplication_window = 10000;

{{DISTRIBUTED heatmap_day cell}};

CREATE MATERIALIZED VIEW IF NOT EXISTS {{LOCAL heatmap_day_mv}}{{ON_CLUSTER}} TO {{LOCAL heatmap_day}} AS
SELECT
    toStartOfDay(window_start) AS window_start,
    precision,
    cell,
    community_id,
    sum(orders) AS orders,
    sum(gmv_cents) AS gmv_cents,
    uniqMergeState(users) AS users
FROM {{LOCAL heatmap_minute}}
GROUP BY window_start, precision, cell, community_id;

-- products: Product sales by community, sku and category (paid orders), for TOP-N rankings.
CREATE TABLE IF NOT EXISTS {{LOCAL products_minute}}{{ON_CLUSTER}}
(
    window_start DateTime('UTC'),
    community_id LowCardinality(String),
    sku String,
    category_id LowCardinality(String),
    qty SimpleAggregateFunction(sum, UInt64),
    gmv_cents SimpleAggregateFunction(sum, UInt64),
    orders SimpleAggregateFunction(sum, UInt64)
)
ENGINE = {{AggregatingMergeTree}}
PARTITION BY toYYYYMM(window_start)
ORDER BY (community_id, sku, category_id, window_start)
TTL window_start + INTERVAL 30 DAY
SETTINGS non_replicated_deduplication_window = 10000;

{{DISTRIBUTED products_minute community_id}};

CREATE TABLE IF NOT EXISTS {{LOCAL products_hour}}{{ON_CLUSTER}}
(
    window_start DateTime('UTC'),
    community_id LowCardinality(String),
    sku String,
    category_id LowCardinality(String),
    qty SimpleAggregateFunction(sum, UInt64),
    gmv_cents SimpleAggregateFunction(sum, UInt64),
    orders SimpleAggregateFunction(sum, UInt64)
)
ENGINE = {{AggregatingMergeTree}}
PARTITION BY toYYYYMM(window_start)
ORDER BY (community_id, sku, category_id, window_start)
TTL window_start + INTERVAL 400 DAY
SETTINGS non_replicated_deduplication_window = 10000;

{{DISTRIBUTED products_hour community_id}};

CREATE MATERIALIZED VIEW IF NOT EXISTS {{LOCAL products_hour_mv}}{{ON_CLUSTER}} TO {{LOCAL products_hour}} AS
SELECT
    toStartOfHour(window_start) AS window_start,
    community_id,
    sku,
    category_id,
    sum(qty) AS qty,
    sum(gmv_cents) AS gmv_cents,
    sum(orders) AS orders
FROM {{LOCAL products_minute}}
GROUP BY window_start, community_id, sku, category_id;

CREATE TABLE IF NOT EXISTS {{LOCAL products_day}}{{ON_CLUSTER}}
(
    window_start DateTime('UTC'),
    community_id LowCardinality(String),
    sku String,
    category_id LowCardinality(String),
    qty SimpleAggregateFunction(sum, UInt64),
    gmv_cents SimpleAggregateFunction(sum, UInt64),
    orders SimpleAggregateFunction(sum, UInt64)
)
ENGINE = {{AggregatingMergeTree}}
PARTITION BY toYYYYMM(window_start)
ORDER BY (community_id, sku, category_id, window_start)
TTL window_start + INTERVAL 1830 DAY
SETTINGS non_replicated_deduplication_window = 10000;

{{DISTRIBUTED products_day community_id}};

CREATE MATERIALIZED VIEW IF NOT EXISTS {{LOCAL products_day_mv}}{{ON_CLUSTER}} TO {{LOCAL products_day}} AS
SELECT
    toStartOfDay(window_start) AS window_start,
    community_id,
    sku,
    category_id,
    sum(qty) AS qty,
    sum(gmv_cents) AS gmv_cents,
    sum(orders) AS orders
FROM {{LOCAL products_minute}}
GROUP BY window_start, community_id, sku, category_id;

-- complaints: Complaints by community, group leader and reason.
CREATE TABLE IF NOT EXISTS {{LOCAL complaints_minute}}{{ON_CLUSTER}}
(
    window_start DateTime('UTC'),
    community_id LowCardinality(String),
    leader_id LowCardinality(String),
    reason LowCardinality(String),
    complaints SimpleAggregateFunction(sum, UInt64)
)
ENGINE = {{AggregatingMergeTree}}
PARTITION BY toYYYYMM(window_start)
ORDER BY (community_id, leader_id, reason, window_start)
TTL window_start + INTERVAL 30 DAY
SETTINGS non_replicated_deduplication_window = 10000;

{{DISTRIBUTED complaints_minute community_id}};

CREATE TABLE IF NOT EXISTS {{LOCAL complaints_hour}}{{ON_CLUSTER}}
(
    window_start DateTime('UTC'),
    community_id LowCardinality(String),
    leader_id LowCardinality(String),
    reason LowCardinality(String),
    complaints SimpleAggregateFunction(sum, UInt64)
)
ENGINE = {{AggregatingMergeTree}}
PARTITION BY toYYYYMM(window_start)
ORDER BY (community_id, leader_id, reason, window_start)
TTL window_start + INTERVAL 400 DAY
SETTINGS non_replicated_deduplication_window = 10000;

{{DISTRIBUTED complaints_hour community_id}};

CREATE MATERIALIZED VIEW IF NOT EXISTS {{LOCAL complaints_hour_mv}}{{ON_CLUSTER}} TO {{LOCAL complaints_hour}} AS
SELECT
    toStartOfHour(window_start) AS window_start,
    community_id,
    leader_id,
    reason,
    sum(complaints) AS complaints
FROM {{LOCAL complaints_minute}}
GROUP BY window_start, community_id, leader_id, reason;

CREATE TABLE IF NOT EXISTS {{LOCAL complaints_day}}{{ON_CLUSTER}}
(
    window_start DateTime('UTC'),
    community_id LowCardinality(String),
    leader_id LowCardinality(String),
    reason LowCardinality(String),
    complaints SimpleAggregateFunction(sum, UInt64)
)
ENGINE = {{AggregatingMergeTree}}
PARTITION BY toYYYYMM(window_start)
ORDER BY (community_id, leader_id, reason, window_start)
TTL window_start + INTERVAL 1830 DAY
SETTINGS non_replicated_deduplication_window = 10000;

{{DISTRIBUTED complaints_day community_id}};

CREATE MATERIALIZED VIEW IF NOT EXISTS {{LOCAL complaints_day_mv}}{{ON_CLUSTER}} TO {{LOCAL complaints_day}} AS
SELECT
    toStartOfDay(window_start) AS window_start,
    community_id,
    leader_id,
    reason,
    sum(complaints) AS complaints
FROM {{LOCAL complaints_minute}}
GROUP BY window_start, community_id, leader_id, reason;

-- inventory_movements: Inventory movements by warehouse, sku and kind (receipt, sale, loss, stocktake), for turnover.
CREATE TABLE IF NOT EXISTS {{LOCAL inventory_movements_minute}}{{ON_CLUSTER}}
(
    window_start DateTime('UTC'),
    warehouse_id LowCardinality(String),
    community_id LowCardinality(String),
    sku String,
    kind LowCardinality(String),
    qty SimpleAggregateFunction(sum, UInt64),
    events SimpleAggregateFunction(sum, UInt64)
)
ENGINE = {{AggregatingMergeTree}}
PARTITION BY toYYYYMM(window_start)
ORDER BY (warehouse_id, community_id, sku, kind, window_start)
TTL window_start + INTERVAL 30 DAY
SETTINGS non_replicated_deduplication_window = 10000;

{{DISTRIBUTED inventory_movements_minute warehouse_id}};

CREATE TABLE IF NOT EXISTS {{LOCAL inventory_movements_hour}}{{ON_CLUSTER}}
(
    window_start DateTime('UTC'),
    warehouse_id LowCardinality(String),
    community_id LowCardinality(String),
    sku String,
    kind LowCardinality(String),
    qty SimpleAggregateFunction(sum, UInt64),
    events SimpleAggregateFunction(sum, UInt64)
)
ENGINE = {{AggregatingMergeTree}}
PARTITION BY toYYYYMM(window_start)
ORDER BY (warehouse_id, community_id, sku, kind, window_start)
TTL window_start + INTERVAL 400 DAY
SETTINGS non_replicated_deduplication_window = 10000;

{{DISTRIBUTED inventory_movements_hour warehouse_id}};

CREATE MATERIALIZED VIEW IF NOT EXISTS {{LOCAL inventory_movements_hour_mv}}{{ON_CLUSTER}} TO {{LOCAL inventory_movements_hour}} AS
SELECT
    toStartOfHour(window_start) AS window_start,
    warehouse_id,
    community_id,
    sku,
    kind,
    sum(qty) AS qty,
    sum(events) AS events
FROM {{LOCAL inventory_movements_minute}}
GROUP BY window_start, warehouse_id, community_id, sku, kind;

CREATE TABLE IF NOT EXISTS {{LOCAL inventory_movements_day}}{{ON_CLUSTER}}
(
    window_start DateTime('UTC'),
    warehouse_id LowCardinality(String),
    community_id LowCardinality(String),
    sku String,
    kind LowCardinality(String),
    qty SimpleAggregateFunction(sum, UInt64),
    events SimpleAggregateFunction(sum, UInt64)
)
ENGINE = {{AggregatingMergeTree}}
PARTITION BY toYYYYMM(window_start)
ORDER BY (warehouse_id, community_id, sku, kind, window_start)
TTL window_start + INTERVAL 1830 DAY
SETTINGS non_replicated_deduplication_window = 10000;

{{DISTRIBUTED inventory_movements_day warehouse_id}};

CREATE MATERIALIZED VIEW IF NOT EXISTS {{LOCAL inventory_movements_day_mv}}{{ON_CLUSTER}} TO {{LOCAL inventory_movements_day}} AS
SELECT
    toStartOfDay(window_start) AS window_start,
    warehouse_id,
    community_id,
    sku,
    kind,
    sum(qty) AS qty,
    sum(events) AS events
FROM {{LOCAL inventory_movements_minute}}
GROUP BY window_start, warehouse_id, community_id, sku, kind;

-- order lifecycle: one row per order after merges; the first time of each status.
CREATE TABLE IF NOT EXISTS {{LOCAL order_lifecycle}}{{ON_CLUSTER}}
(
    order_id String,
    community_id LowCardinality(String),
    leader_id LowCardinality(String),
    user_id SimpleAggregateFunction(any, String),
    amount_cents SimpleAggregateFunction(max, UInt64),
    created_at SimpleAggregateFunction(min, Nullable(DateTime64(3, 'UTC'))),
    paid_at SimpleAggregateFunction(min, Nullable(DateTime64(3, 'UTC'))),
    accepted_at SimpleAggregateFunction(min, Nullable(DateTime64(3, 'UTC'))),
    sorted_at SimpleAggregateFunction(min, Nullable(DateTime64(3, 'UTC'))),
    out_for_delivery_at SimpleAggregateFunction(min, Nullable(DateTime64(3, 'UTC'))),
    delivered_at SimpleAggregateFunction(min, Nullable(DateTime64(3, 'UTC'))),
    cancelled_at SimpleAggregateFunction(min, Nullable(DateTime64(3, 'UTC'))),
    refunded_at SimpleAggregateFunction(min, Nullable(DateTime64(3, 'UTC'))),
    complaints SimpleAggregateFunction(sum, UInt64),
    first_event_time SimpleAggregateFunction(min, DateTime64(3, 'UTC'))
)
ENGINE = {{AggregatingMergeTree}}
PARTITION BY toYYYYMM(first_event_time)
ORDER BY (community_id, leader_id, order_id)
TTL toDateTime(first_event_time) + INTERVAL 400 DAY
SETTINGS non_replicated_deduplication_window = 10000;

{{DISTRIBUTED order_lifecycle community_id}};

-- inventory state per warehouse, sku and batch: on hand = received - sold - lost.
CREATE TABLE IF NOT EXISTS {{LOCAL inventory_batches}}{{ON_CLUSTER}}
(
    warehouse_id LowCardinality(String),
    community_id LowCardinality(String),
    sku String,
    batch_id String,
    received SimpleAggregateFunction(sum, UInt64),
    sold SimpleAggregateFunction(sum, UInt64),
    lost SimpleAggregateFunction(sum, UInt64),
    production_date SimpleAggregateFunction(max, Nullable(Date)),
    expiry_date SimpleAggregateFunction(max, Nullable(Date)),
    last_event_time SimpleAggregateFunction(max, DateTime64(3, 'UTC'))
)
ENGINE = {{AggregatingMergeTree}}
ORDER BY (warehouse_id, community_id, sku, batch_id)
SETTINGS non_replicated_deduplication_window = 10000;

{{DISTRIBUTED inventory_batches warehouse_id}};

-- stocktake counts as reported (the latest per warehouse and sku is the reference on-hand).
CREATE TABLE IF NOT EXISTS {{LOCAL inventory_stocktakes}}{{ON_CLUSTER}}
(
    warehouse_id LowCardinality(String),
    community_id LowCardinality(String),
    sku String,
    counted_at DateTime64(3, 'UTC'),
    qty UInt64,
    event_id String
)
ENGINE = {{ReplacingMergeTree}}
PARTITION BY toYYYYMM(counted_at)
ORDER BY (warehouse_id, sku, counted_at, event_id)
TTL toDateTime(counted_at) + INTERVAL 400 DAY
SETTINGS non_replicated_deduplication_window = 10000;

{{DISTRIBUTED inventory_stocktakes warehouse_id}};

-- Cubes built by ClickHouse from the validated block (the engine's fast path, bench/vs-kafka-engine.ts).
--
-- A worker inserts each flush's accepted events ONCE per stream, into a Null table
-- (behaviour_stream, order_stream, inventory_stream: the raw fact columns plus `pipes`), and the
-- materialized views below fill the raw facts and every cube from that block. The worker no
-- longer builds cube rows or serialises id arrays in JavaScript; it decodes, validates,
-- deduplicates by event id and classifies by event time, which ClickHouse cannot do.
--
-- `pipes` is a bitmask of the worker's pipeline set (facts 0, gmv 1, activity 2, heatmap 3,
-- products 4, lifecycle 5, inventory 6: each pipeline's `bit` in pipelines/definitions/): a
-- view fills its cube only from blocks of a set that runs its pipeline, so groups running other
-- sets never count into it.
--
-- Exactly once: the insert carries the flush's deduplication token; with
-- deduplicate_blocks_in_dependent_materialized_views = 1 each view's block gets a token derived
-- from it and the view, and every target keeps a deduplication window, so a replayed flush is
-- dropped by every target that had it (verified on the embedded engine by the crash and oracle tests).
-- The minute cubes feed their hour and day rollups through the views of 0002 as before.

-- The stream tables take their columns from the raw fact tables (0001: one declaration), plus the mask.
CREATE TABLE IF NOT EXISTS {{LOCAL behaviour_stream}}{{ON_CLUSTER}} AS {{LOCAL behaviour_events}} ENGINE = Null;
ALTER TABLE {{LOCAL behaviour_stream}}{{ON_CLUSTER}} ADD COLUMN IF NOT EXISTS pipes UInt64;
{{DISTRIBUTED behaviour_stream community_id}};

CREATE TABLE IF NOT EXISTS {{LOCAL order_stream}}{{ON_CLUSTER}} AS {{LOCAL order_events}} ENGINE = Null;
ALTER TABLE {{LOCAL order_stream}}{{ON_CLUSTER}} ADD COLUMN IF NOT EXISTS pipes UInt64;
{{DISTRIBUTED order_stream community_id}};

CREATE TABLE IF NOT EXISTS {{LOCAL inventory_stream}}{{ON_CLUSTER}} AS {{LOCAL inventory_events}} ENGINE = Null;
ALTER TABLE {{LOCAL inventory_stream}}{{ON_CLUSTER}} ADD COLUMN IF NOT EXISTS pipes UInt64;
{{DISTRIBUTED inventory_stream warehouse_id}};

-- facts (bit 0): every accepted event as a raw fact row.
CREATE MATERIALIZED VIEW IF NOT EXISTS {{LOCAL behaviour_events_from_stream}}{{ON_CLUSTER}} TO {{LOCAL behaviour_events}} AS
SELECT event_id, event_time, action, user_id, community_id, sku, query, session_id, device, channel, lat, lon, source_topic, source_partition, source_offset
FROM {{LOCAL behaviour_stream}}
WHERE bitTest(pipes, 0);

CREATE MATERIALIZED VIEW IF NOT EXISTS {{LOCAL order_events_from_stream}}{{ON_CLUSTER}} TO {{LOCAL order_events}} AS
SELECT event_id, event_time, order_id, status, user_id, community_id, leader_id, line_sku, line_category_id, line_qty, line_unit_price_cents,
       amount_cents, refund_cents, complaint_reason, delivery_lat, delivery_lon, customer_name, customer_phone, customer_address,
       source_topic, source_partition, source_offset
FROM {{LOCAL order_stream}}
WHERE bitTest(pipes, 0);

CREATE MATERIALIZED VIEW IF NOT EXISTS {{LOCAL inventory_events_from_stream}}{{ON_CLUSTER}} TO {{LOCAL inventory_events}} AS
SELECT event_id, event_time, kind, warehouse_id, community_id, sku, batch_id, qty, production_date, expiry_date, loss_reason, order_id,
       source_topic, source_partition, source_offset
FROM {{LOCAL inventory_stream}}
WHERE bitTest(pipes, 0);

-- gmv (bit 1): line measures per category at `paid`; order-level measures as uniq states; a
-- refund split over the order's lines by line value with the largest-remainder method in exact
-- integer cents (ties to the earlier line), so the categories' shares add up to the refund.
CREATE MATERIALIZED VIEW IF NOT EXISTS {{LOCAL gmv_minute_from_stream}}{{ON_CLUSTER}} TO {{LOCAL gmv_minute}} AS
SELECT
    toStartOfMinute(event_time) AS window_start,
    community_id,
    leader_id,
    category_id,
    sumIf(toUInt64(one_qty) * one_price, status = 'paid') AS gmv_cents,
    sumIf(toUInt64(one_qty), status = 'paid') AS items,
    uniqStateIf(order_id, status = 'paid') AS orders,
    uniqStateIf(user_id, status = 'paid') AS paying_users,
    sumIf(refund_share, status = 'refunded') AS refund_cents,
    uniqStateIf(order_id, status = 'refunded') AS refunded_orders,
    uniqStateIf(order_id, status = 'cancelled') AS cancelled_orders
FROM
(
    SELECT
        event_time, community_id, leader_id, order_id, user_id, status, line_category_id, line_qty, line_unit_price_cents,
        toUInt128(if(status = 'refunded', ifNull(refund_cents, 0), 0)) AS refund_total,
        arrayMap((q, p) -> toUInt128(q) * p, line_qty, line_unit_price_cents) AS weights,
        arraySum(weights) AS weight_total,
        arrayMap(w -> if(weight_total = 0, 0, intDiv(refund_total * w, weight_total)), weights) AS floors,
        arrayMap(w -> if(weight_total = 0, 0, (refund_total * w) % weight_total), weights) AS remainders,
        arraySort((i, r) -> (-toInt256(r), i), arrayEnumerate(weights), remainders) AS by_remainder,
        toUInt64(refund_total - arraySum(floors)) AS leftover,
        arrayMap((f, i) -> toUInt64(if(weight_total = 0, if(i = 1, refund_total, 0), f + (indexOf(by_remainder, i) <= leftover))), floors, arrayEnumerate(weights)) AS refund_shares
    FROM {{LOCAL order_stream}}
    WHERE bitTest(pipes, 1) AND status IN ('paid', 'refunded', 'cancelled')
)
ARRAY JOIN line_category_id AS category_id, line_qty AS one_qty, line_unit_price_cents AS one_price, refund_shares AS refund_share
GROUP BY window_start, community_id, leader_id, category_id;

-- activity (bit 2): behaviour actions, and `order` for an order created (the funnel's last step).
CREATE MATERIALIZED VIEW IF NOT EXISTS {{LOCAL activity_minute_from_behaviour}}{{ON_CLUSTER}} TO {{LOCAL activity_minute}} AS
SELECT toStartOfMinute(event_time) AS window_start, community_id, action, count() AS events, uniqState(user_id) AS users
FROM {{LOCAL behaviour_stream}}
WHERE bitTest(pipes, 2)
GROUP BY window_start, community_id, action;

CREATE MATERIALIZED VIEW IF NOT EXISTS {{LOCAL activity_minute_from_order}}{{ON_CLUSTER}} TO {{LOCAL activity_minute}} AS
SELECT toStartOfMinute(event_time) AS window_start, community_id, 'order' AS action, count() AS events, uniqState(user_id) AS users
FROM {{LOCAL order_stream}}
WHERE bitTest(pipes, 2) AND status = 'created'
GROUP BY window_start, community_id;

-- heatmap (bit 3): geohash cells at precisions 5, 6 and 7 (geohashEncode takes longitude first):
-- active users at located behaviour events, paid orders and GMV at the delivery point.
CREATE MATERIALIZED VIEW IF NOT EXISTS {{LOCAL heatmap_minute_from_behaviour}}{{ON_CLUSTER}} TO {{LOCAL heatmap_minute}} AS
SELECT toStartOfMinute(event_time) AS window_start, precision, substring(finest, 1, precision) AS cell, community_id,
       toUInt64(0) AS orders, toUInt64(0) AS gmv_cents, uniqState(user_id) AS users
FROM
(
    SELECT event_time, community_id, user_id, geohashEncode(assumeNotNull(lon), assumeNotNull(lat), 7) AS finest
    FROM {{LOCAL behaviour_stream}}
    WHERE bitTest(pipes, 3) AND lat IS NOT NULL AND lon IS NOT NULL
)
ARRAY JOIN [5, 6, 7] AS precision
GROUP BY window_start, precision, cell, community_id;

CREATE MATERIALIZED VIEW IF NOT EXISTS {{LOCAL heatmap_minute_from_order}}{{ON_CLUSTER}} TO {{LOCAL heatmap_minute}} AS
SELECT toStartOfMinute(event_time) AS window_start, precision, substring(finest, 1, precision) AS cell, community_id,
       count() AS orders, sum(amount_cents) AS gmv_cents, uniqState(user_id) AS users
FROM
(
    SELECT event_time, community_id, user_id, amount_cents, geohashEncode(delivery_lon, delivery_lat, 7) AS finest
    FROM {{LOCAL order_stream}}
    WHERE bitTest(pipes, 3) AND status = 'paid'
)
ARRAY JOIN [5, 6, 7] AS precision
GROUP BY window_start, precision, cell, community_id;

-- products (bit 4): quantity, GMV and order lines by sku at `paid`.
CREATE MATERIALIZED VIEW IF NOT EXISTS {{LOCAL products_minute_from_stream}}{{ON_CLUSTER}} TO {{LOCAL products_minute}} AS
SELECT toStartOfMinute(event_time) AS window_start, community_id, sku, category_id,
       sum(toUInt64(one_qty)) AS qty, sum(toUInt64(one_qty) * one_price) AS gmv_cents, count() AS orders
FROM {{LOCAL order_stream}}
ARRAY JOIN line_sku AS sku, line_category_id AS category_id, line_qty AS one_qty, line_unit_price_cents AS one_price
WHERE bitTest(pipes, 4) AND status = 'paid'
GROUP BY window_start, community_id, sku, category_id;

-- lifecycle (bit 5): per order the first time of each status and its complaints; complaints by minute and reason.
CREATE MATERIALIZED VIEW IF NOT EXISTS {{LOCAL order_lifecycle_from_stream}}{{ON_CLUSTER}} TO {{LOCAL order_lifecycle}} AS
SELECT
    order_id,
    community_id,
    leader_id,
    any(user_id) AS user_id,
    max(amount_cents) AS amount_cents,
    minIf(toNullable(event_time), status = 'created') AS created_at,
    minIf(toNullable(event_time), status = 'paid') AS paid_at,
    minIf(toNullable(event_time), status = 'accepted') AS accepted_at,
    minIf(toNullable(event_time), status = 'sorted') AS sorted_at,
    minIf(toNullable(event_time), status = 'out_for_delivery') AS out_for_delivery_at,
    minIf(toNullable(event_time), status = 'delivered') AS delivered_at,
    minIf(toNullable(event_time), status = 'cancelled') AS cancelled_at,
    minIf(toNullable(event_time), status = 'refunded') AS refunded_at,
    countIf(status = 'complaint') AS complaints,
    min(event_time) AS first_event_time
FROM {{LOCAL order_stream}}
WHERE bitTest(pipes, 5)
GROUP BY order_id, community_id, leader_id;

CREATE MATERIALIZED VIEW IF NOT EXISTS {{LOCAL complaints_minute_from_stream}}{{ON_CLUSTER}} TO {{LOCAL complaints_minute}} AS
SELECT toStartOfMinute(event_time) AS window_start, community_id, leader_id, ifNull(complaint_reason, 'other') AS reason, count() AS complaints
FROM {{LOCAL order_stream}}
WHERE bitTest(pipes, 5) AND status = 'complaint'
GROUP BY window_start, community_id, leader_id, reason;

-- inventory (bit 6): stock per warehouse, sku and batch; movements by minute and kind; stocktakes as reported.
CREATE MATERIALIZED VIEW IF NOT EXISTS {{LOCAL inventory_batches_from_stream}}{{ON_CLUSTER}} TO {{LOCAL inventory_batches}} AS
SELECT warehouse_id, community_id, sku, ifNull(batch_id, '') AS batch_id,
       sumIf(qty, kind = 'receipt') AS received, sumIf(qty, kind = 'sale') AS sold, sumIf(qty, kind = 'loss') AS lost,
       max(production_date) AS production_date, max(expiry_date) AS expiry_date, max(event_time) AS last_event_time
FROM {{LOCAL inventory_stream}}
WHERE bitTest(pipes, 6) AND kind != 'stocktake'
GROUP BY warehouse_id, community_id, sku, batch_id;

CREATE MATERIALIZED VIEW IF NOT EXISTS {{LOCAL inventory_movements_minute_from_stream}}{{ON_CLUSTER}} TO {{LOCAL inventory_movements_minute}} AS
SELECT toStartOfMinute(event_time) AS window_start, warehouse_id, community_id, sku, kind, sum(qty) AS qty, count() AS events
FROM {{LOCAL inventory_stream}}
WHERE bitTest(pipes, 6)
GROUP BY window_start, warehouse_id, community_id, sku, kind;

CREATE MATERIALIZED VIEW IF NOT EXISTS {{LOCAL inventory_stocktakes_from_stream}}{{ON_CLUSTER}} TO {{LOCAL inventory_stocktakes}} AS
SELECT warehouse_id, community_id, sku, event_time AS counted_at, qty, event_id
FROM {{LOCAL inventory_stream}}
WHERE bitTest(pipes, 6) AND kind = 'stocktake';

-- gmv: orders counted exactly. `paid_orders` counts each paid order once, on the row of its first
-- line's category, so a read that neither filters nor groups by category counts orders with
-- sum(paid_orders): exact, where merging the `orders` uniq states is approximate above 65,536
-- orders (a month of the city: 440,128-440,267 against 439,224, varying with merge order) and
-- several times slower (time of day over 28 days: 23-37 against 129-193 ms). A read by category
-- keeps the states: an order's lines span categories. (pipelines/cubes.ts declares paid_orders
-- with `since` 13 and GMV_CUBE.exactCounts; the unit test holds this text to it.)
-- The views change in place (MODIFY QUERY): none is ever missing while workers insert.
-- Rows written before this migration hold no paid_orders: streamcube_measures_since records from
-- when on every bucket carries it — the start of the day after the stream view changed, or the
-- beginning of time when the cube was still empty — and the API reads orders from the sum only in
-- ranges from that instant on (the states before it, as before).

ALTER TABLE {{LOCAL gmv_minute}}{{ON_CLUSTER}} ADD COLUMN IF NOT EXISTS paid_orders SimpleAggregateFunction(sum, UInt64);
{{DISTRIBUTED_ADD_COLUMN gmv_minute paid_orders SimpleAggregateFunction(sum, UInt64)}};
ALTER TABLE {{LOCAL gmv_hour}}{{ON_CLUSTER}} ADD COLUMN IF NOT EXISTS paid_orders SimpleAggregateFunction(sum, UInt64);
{{DISTRIBUTED_ADD_COLUMN gmv_hour paid_orders SimpleAggregateFunction(sum, UInt64)}};
ALTER TABLE {{LOCAL gmv_day}}{{ON_CLUSTER}} ADD COLUMN IF NOT EXISTS paid_orders SimpleAggregateFunction(sum, UInt64);
{{DISTRIBUTED_ADD_COLUMN gmv_day paid_orders SimpleAggregateFunction(sum, UInt64)}};

ALTER TABLE {{LOCAL gmv_hour_mv}}{{ON_CLUSTER}} MODIFY QUERY
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
    uniqMergeState(cancelled_orders) AS cancelled_orders,
    sum(paid_orders) AS paid_orders
FROM {{LOCAL gmv_minute}}
GROUP BY window_start, community_id, leader_id, category_id;

ALTER TABLE {{LOCAL gmv_day_mv}}{{ON_CLUSTER}} MODIFY QUERY
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
    uniqMergeState(cancelled_orders) AS cancelled_orders,
    sum(paid_orders) AS paid_orders
FROM {{LOCAL gmv_minute}}
GROUP BY window_start, community_id, leader_id, category_id;

ALTER TABLE {{LOCAL gmv_minute_from_stream}}{{ON_CLUSTER}} MODIFY QUERY
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
    uniqStateIf(order_id, status = 'cancelled') AS cancelled_orders,
    sumIf(toUInt64(line_no = 1), status = 'paid') AS paid_orders
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
ARRAY JOIN arrayEnumerate(line_category_id) AS line_no, line_category_id AS category_id, line_qty AS one_qty, line_unit_price_cents AS one_price, refund_shares AS refund_share
GROUP BY window_start, community_id, leader_id, category_id;

-- From when on a cube's buckets carry a measure added to it (the largest `since` of its rows wins).
CREATE TABLE IF NOT EXISTS {{LOCAL streamcube_measures_since}}{{ON_CLUSTER}}
(
    cube    LowCardinality(String),
    measure LowCardinality(String),
    since   DateTime('UTC')
)
ENGINE = {{MergeTree}}
ORDER BY (cube, measure);

{{DISTRIBUTED streamcube_measures_since cube}};

INSERT INTO streamcube_measures_since (cube, measure, since)
SELECT 'gmv', 'paid_orders', if((SELECT count() FROM gmv_day) = 0, toDateTime(0, 'UTC'), toStartOfDay(now('UTC')) + INTERVAL 1 DAY);

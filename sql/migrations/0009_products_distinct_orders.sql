-- products: `orders` counts distinct orders per sku and window, so an order with the same sku on
-- two lines (a second price tier, a promotion line) counts once instead of once per line; the new
-- `order_ids` holds the orders' uniq states, so a set of skus (a campaign) counts each order once.
-- (pipelines/cubes.ts declares order_ids with `since` 9; the unit test holds this text to it.)
-- The views change in place (MODIFY QUERY): none is ever missing while workers insert. Rows
-- written before this migration keep their line counts until `streamcube rebuild products`.

ALTER TABLE {{LOCAL products_minute}}{{ON_CLUSTER}} ADD COLUMN IF NOT EXISTS order_ids AggregateFunction(uniq, String);
{{DISTRIBUTED_ADD_COLUMN products_minute order_ids AggregateFunction(uniq, String)}};
ALTER TABLE {{LOCAL products_hour}}{{ON_CLUSTER}} ADD COLUMN IF NOT EXISTS order_ids AggregateFunction(uniq, String);
{{DISTRIBUTED_ADD_COLUMN products_hour order_ids AggregateFunction(uniq, String)}};
ALTER TABLE {{LOCAL products_day}}{{ON_CLUSTER}} ADD COLUMN IF NOT EXISTS order_ids AggregateFunction(uniq, String);
{{DISTRIBUTED_ADD_COLUMN products_day order_ids AggregateFunction(uniq, String)}};

ALTER TABLE {{LOCAL products_hour_mv}}{{ON_CLUSTER}} MODIFY QUERY
SELECT
    toStartOfHour(window_start) AS window_start,
    community_id,
    sku,
    category_id,
    sum(qty) AS qty,
    sum(gmv_cents) AS gmv_cents,
    sum(orders) AS orders,
    uniqMergeState(order_ids) AS order_ids
FROM {{LOCAL products_minute}}
GROUP BY window_start, community_id, sku, category_id;

ALTER TABLE {{LOCAL products_day_mv}}{{ON_CLUSTER}} MODIFY QUERY
SELECT
    toStartOfDay(window_start) AS window_start,
    community_id,
    sku,
    category_id,
    sum(qty) AS qty,
    sum(gmv_cents) AS gmv_cents,
    sum(orders) AS orders,
    uniqMergeState(order_ids) AS order_ids
FROM {{LOCAL products_minute}}
GROUP BY window_start, community_id, sku, category_id;

ALTER TABLE {{LOCAL products_minute_from_stream}}{{ON_CLUSTER}} MODIFY QUERY
SELECT toStartOfMinute(event_time) AS window_start, community_id, sku, category_id,
       sum(toUInt64(one_qty)) AS qty, sum(toUInt64(one_qty) * one_price) AS gmv_cents,
       uniqExact(order_id) AS orders, uniqState(order_id) AS order_ids
FROM {{LOCAL order_stream}}
ARRAY JOIN line_sku AS sku, line_category_id AS category_id, line_qty AS one_qty, line_unit_price_cents AS one_price
WHERE bitTest(pipes, 4) AND status = 'paid'
GROUP BY window_start, community_id, sku, category_id;

-- Restock forecasts (issue 6), written by the scheduled restock job (`streamcube run restock`):
-- per run date, community warehouse and sku, the next days' forecast from the model its rolling
-- backtest chose, the stock that can be sold before it expires, and the suggested order quantity.
-- A re-run of the same day writes rows with a later computed_at; readers take the rows of the
-- newest completed run (restock_runs), so a series a re-run no longer has does not linger.
CREATE TABLE IF NOT EXISTS {{LOCAL restock_forecast}}{{ON_CLUSTER}}
(
    run_date          Date,
    computed_at       DateTime64(3, 'UTC'),
    warehouse_id      LowCardinality(String),
    community_id      LowCardinality(String),
    sku               String,
    category_id       LowCardinality(String),
    model             LowCardinality(String),
    fallback          LowCardinality(String),
    history_days      UInt16,
    history_sold      UInt64,
    forecast          Array(Float64),
    forecast_total    Float64,
    on_hand           Int64,
    usable_on_hand    Int64,
    unusable_on_hand  Int64,
    safety_factor     Float64,
    min_stock         UInt32,
    suggested_qty     UInt32,
    backtest_mae      Nullable(Float64),
    backtest_mape     Nullable(Float64),
    backtest_mase     Nullable(Float64),
    baseline_mase     Nullable(Float64)
)
ENGINE = {{ReplacingMergeTree}}(computed_at)
PARTITION BY toYYYYMM(run_date)
ORDER BY (run_date, warehouse_id, sku)
TTL run_date + INTERVAL 400 DAY;

{{DISTRIBUTED restock_forecast warehouse_id}};

-- One row per completed run (written after its forecasts): what the API serves as the latest.
CREATE TABLE IF NOT EXISTS {{LOCAL restock_runs}}{{ON_CLUSTER}}
(
    run_date     Date,
    computed_at  DateTime64(3, 'UTC'),
    series       UInt32,
    models       Map(String, UInt32),
    mean_mase    Nullable(Float64),
    baseline_mean_mase Nullable(Float64),
    duration_ms  UInt32,
    settings     String
)
ENGINE = {{ReplacingMergeTree}}(computed_at)
ORDER BY (run_date, computed_at);

{{DISTRIBUTED restock_runs run_date}};

-- The stream tables' columns in plain types: String where the raw fact tables keep
-- LowCardinality(String) (and Nullable(String), Array(String) for their LowCardinality forms).
--
-- A stream table is a Null table: nothing is stored in it, its columns only carry the worker's
-- insert to the views. Parsing text straight into a LowCardinality column looks every value up in
-- the column's dictionary one at a time; on the embedded engine that was half the parse of a
-- stream block (20k generated rows, JSONCompactEachRow: orders 127 against 60 ms, behaviour 92
-- against 42 ms of CPU). Plain columns parse at the format's own speed, and each view's target
-- turns a whole column into its LowCardinality form at once, as ClickHouse's Kafka engine does
-- when its String columns reach a LowCardinality table. The cubes and raw facts are unchanged:
-- their columns keep their types, and the views' values are the same strings.
ALTER TABLE {{LOCAL behaviour_stream}}{{ON_CLUSTER}}
    MODIFY COLUMN action String, MODIFY COLUMN community_id String, MODIFY COLUMN device String,
    MODIFY COLUMN channel String, MODIFY COLUMN source_topic String;
{{DISTRIBUTED_ALTER behaviour_stream MODIFY COLUMN action String, MODIFY COLUMN community_id String, MODIFY COLUMN device String, MODIFY COLUMN channel String, MODIFY COLUMN source_topic String}};

ALTER TABLE {{LOCAL order_stream}}{{ON_CLUSTER}}
    MODIFY COLUMN status String, MODIFY COLUMN community_id String, MODIFY COLUMN leader_id String,
    MODIFY COLUMN line_category_id Array(String), MODIFY COLUMN complaint_reason Nullable(String),
    MODIFY COLUMN source_topic String;
{{DISTRIBUTED_ALTER order_stream MODIFY COLUMN status String, MODIFY COLUMN community_id String, MODIFY COLUMN leader_id String, MODIFY COLUMN line_category_id Array(String), MODIFY COLUMN complaint_reason Nullable(String), MODIFY COLUMN source_topic String}};

ALTER TABLE {{LOCAL inventory_stream}}{{ON_CLUSTER}}
    MODIFY COLUMN kind String, MODIFY COLUMN warehouse_id String, MODIFY COLUMN community_id String,
    MODIFY COLUMN loss_reason Nullable(String), MODIFY COLUMN source_topic String;
{{DISTRIBUTED_ALTER inventory_stream MODIFY COLUMN kind String, MODIFY COLUMN warehouse_id String, MODIFY COLUMN community_id String, MODIFY COLUMN loss_reason Nullable(String), MODIFY COLUMN source_topic String}};

-- Which pipelines a group's watermarks speak for. A reader asks "up to when are the windows of
-- this cube complete?": the answer is the minimum over the partitions of the group that writes
-- the cube now, the one that published for its pipeline last. A retired group (its pipelines
-- moved to another group) no longer holds the windows back for the 30 days of its rows' TTL; a
-- group that is down, with nobody else writing its pipelines, still does (its windows are not
-- complete). Rows from workers before this migration name no pipelines: each such group counts
-- as a writer of its own.
ALTER TABLE {{LOCAL streamcube_watermarks}}{{ON_CLUSTER}} ADD COLUMN IF NOT EXISTS pipelines Array(LowCardinality(String)) DEFAULT [];
{{DISTRIBUTED_ADD_COLUMN streamcube_watermarks pipelines Array(LowCardinality(String)) DEFAULT []}};

-- Campaigns registered through the API (/v1/campaigns), for their effect report: one row per
-- version of a campaign, the latest wins; deleted = 1 hides it.
CREATE TABLE IF NOT EXISTS {{LOCAL campaigns}}{{ON_CLUSTER}}
(
    campaign_id String,
    version     UInt64,
    deleted     UInt8,
    definition  String,
    updated_at  DateTime64(3, 'UTC'),
    updated_by  String
)
ENGINE = {{ReplacingMergeTree}}(version)
ORDER BY campaign_id;

{{DISTRIBUTED campaigns campaign_id}};

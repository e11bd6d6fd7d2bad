-- The ingest token an HTTP input came with, so that a redrive re-checks
-- that token's tenant and sources (docs/security.md, "Redrive").
ALTER TABLE {db}.rejected ADD COLUMN IF NOT EXISTS sender String DEFAULT '' AFTER source;

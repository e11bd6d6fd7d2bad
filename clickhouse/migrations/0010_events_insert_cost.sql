-- The insert path of events, made cheaper (docs/storage.md, "Insert cost"):
--
-- * data was a MATERIALIZED copy of raw's payload: every insert parsed raw
--   once more and every part stored, compressed and merged the payload
--   twice. It is now an ALIAS, computed when read; the readers (timeline,
--   delivery details) read a handful of rows, where parsing costs nothing.
-- * raw is compressed with ZSTD(1) instead of ZSTD(3): events are written
--   once and merged a few times, and ZSTD(3) took about twice the CPU of
--   level 1 for a few percent of space on JSON this repetitive. Existing
--   parts keep their codec until they are merged.
ALTER TABLE {db}.events DROP COLUMN IF EXISTS data;

ALTER TABLE {db}.events ADD COLUMN IF NOT EXISTS data String ALIAS JSONExtractRaw(raw, 'data');

ALTER TABLE {db}.events MODIFY COLUMN raw String CODEC(ZSTD(1));

-- Bounded dead letters (docs/reliability.md, "Dead letters"): raw keeps at
-- most 256 KiB of an input; raw_size and raw_sha256 describe the whole of it;
-- original_ref names an original stored once elsewhere (a B2B document's
-- origin_id in documents) instead of copying it into every rejection; stage
-- is where in the pipeline the input was refused (ingest, store, rules, b2b).
ALTER TABLE {db}.rejected ADD COLUMN IF NOT EXISTS stage LowCardinality(String) DEFAULT 'ingest' AFTER channel;

ALTER TABLE {db}.rejected ADD COLUMN IF NOT EXISTS raw_size UInt64 DEFAULT length(raw) AFTER raw;

ALTER TABLE {db}.rejected ADD COLUMN IF NOT EXISTS raw_sha256 String DEFAULT lower(hex(SHA256(raw))) AFTER raw_size;

ALTER TABLE {db}.rejected ADD COLUMN IF NOT EXISTS original_ref String DEFAULT '' AFTER raw_sha256;

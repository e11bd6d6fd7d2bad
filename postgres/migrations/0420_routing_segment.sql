-- Supplier segments on console routing rules (docs/rules.md, "Segments and
-- phased rollout"): a rule with a segment ("pilot", or "!pilot" for every
-- supplier outside it) matches only exceptions of suppliers in it. Empty
-- matches any supplier, as before.
ALTER TABLE console_routing_rules ADD COLUMN IF NOT EXISTS segment text NOT NULL DEFAULT '';

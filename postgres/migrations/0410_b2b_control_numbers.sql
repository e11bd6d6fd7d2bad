-- Our interchange (and group) control numbers for the acknowledgements we
-- send each trading partner (997/999 ISA13/GS06, CONTRL UNB05): one
-- sequence per partner, 1 to 999999999 and round again, kept across
-- restarts (package b2b/intake, postgres.ControlNumbers).
CREATE TABLE IF NOT EXISTS b2b_control_numbers (
    partner_id text        PRIMARY KEY,
    last       bigint      NOT NULL CHECK (last BETWEEN 1 AND 999999999),
    updated_at timestamptz NOT NULL DEFAULT now()
);

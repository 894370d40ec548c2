-- Analytics: the dated exchange-rate table a mixed-currency roll-up converts
-- through (`convert_to`). Keep in lockstep with ../sqlite/0025_fx_rates.sql
-- (the parity test checks).

-- One rate per organisation, pair and calendar day: units of `quote` per
-- unit of `base`, exact, as an integer of billionths (1.0812 is
-- 1081200000; no float). source is manual (entered through the API) or
-- ecb (the European Central Bank's euro reference rates, imported as
-- EUR → X). A conversion on a day uses the latest rate on or before it, at
-- most analytics.fx_max_age_days old (docs/analytics.md, "Currencies").
CREATE TABLE analytics_fx_rates (
    org_id      UUID    NOT NULL,
    base        TEXT    NOT NULL,
    quote       TEXT    NOT NULL,
    day         TEXT    NOT NULL,
    rate_nanos  BIGINT  NOT NULL CHECK (rate_nanos > 0),
    source      TEXT    NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (org_id, base, quote, day)
);

-- SyncValue (kiki-ltv-service): a fit stores its predictions in batches
-- under its own model before the model becomes the organisation's current
-- one. Keep in lockstep with ../sqlite/0015_ltv_fitting.sql (the parity test
-- checks). Column types follow src/schema.rs.

-- `fitting` while a fit is writing the model's predictions (no reader sees
-- the model or its rows), `ready` once it is stored whole. The current
-- model is the ready model with the highest version.
ALTER TABLE ltv_models ADD COLUMN status TEXT NOT NULL DEFAULT 'ready';

-- SyncValue (kiki-ltv-service): transactions by organisation and time, for
-- the new-customer count analytics reads (`LtvService::new_customers`: the
-- orders placed in a range whose customer has no earlier order).
-- Keep in lockstep with ../postgres/0023_ltv_first_orders.sql.
CREATE INDEX ltv_transactions_org_id_occurred_at_idx ON ltv_transactions (org_id, occurred_at);

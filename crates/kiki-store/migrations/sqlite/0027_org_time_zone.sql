-- An organisation's time zone (kiki-identity): the IANA zone its reports
-- count days in (analytics' and the dashboard's default when a request
-- names none). NULL: the deployment's default (`analytics.default_time_zone`).
-- Keep in lockstep with ../postgres/0027_org_time_zone.sql (the parity test checks).
ALTER TABLE organisations ADD COLUMN time_zone TEXT;

-- Scheduled reports: a saved table report sent by mail to members of the
-- organisation on a schedule. Keep in lockstep with
-- ../postgres/0021_analytics_schedules.sql (the parity test checks).

-- report, format and query are those of an export (query without days:
-- each run fixes them, range_days or the previous period of the cadence);
-- recipients is a JSON array of email addresses, each a member's when the
-- schedule was saved and checked again at every run. cadence is daily |
-- weekly | monthly, at `hour` (0-23) of time_zone, on weekday (1 = Monday,
-- weekly) or day_of_month (1-28, monthly). next_run_at is when it is next
-- due (NULL while disabled); a worker takes a run by moving next_run_at on
-- from the value it read, so two workers never send the same run.
-- last_result is the last run's outcome (JSON: sent, skipped with reasons).
CREATE TABLE analytics_schedules (
    id             BLOB    NOT NULL PRIMARY KEY,
    org_id         BLOB    NOT NULL,
    name           TEXT    NOT NULL,
    report         TEXT    NOT NULL,
    format         TEXT    NOT NULL,
    query          TEXT    NOT NULL,
    recipients     TEXT    NOT NULL,
    cadence        TEXT    NOT NULL,
    hour           INTEGER NOT NULL,
    weekday        INTEGER,
    day_of_month   INTEGER,
    time_zone      TEXT    NOT NULL,
    range_days     INTEGER,
    enabled        INTEGER NOT NULL DEFAULT 1,
    next_run_at    TEXT,
    last_run_at    TEXT,
    last_result    TEXT,
    created_by     TEXT    NOT NULL,
    created_at     TEXT    NOT NULL,
    updated_at     TEXT    NOT NULL
) STRICT;
-- An organisation's schedules in the order they were made; the due ones.
CREATE INDEX analytics_schedules_org_id_created_at_idx ON analytics_schedules (org_id, created_at);
CREATE INDEX analytics_schedules_next_run_at_idx ON analytics_schedules (next_run_at);

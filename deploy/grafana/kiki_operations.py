"""Writes deploy/grafana/dashboards/kiki-operations.json, the operations
dashboard Grafana provisions. Edit the panels here, then run
`python3 deploy/grafana/kiki_operations.py > deploy/grafana/dashboards/kiki-operations.json`;
.ci/deploy.sh checks the result (`deploy_check.py dashboards`)."""
import json
DS = {"type": "prometheus", "uid": "prometheus"}
panels = []
y = 0
pid = 1
def row(title):
    global y, pid
    panels.append({"type": "row", "title": title, "id": pid, "collapsed": False,
                   "gridPos": {"h": 1, "w": 24, "x": 0, "y": y}, "panels": []})
    pid += 1; y += 1
def ts(title, targets, unit="short", x=0, w=8, desc=""):
    global pid
    p = {"type": "timeseries", "title": title, "id": pid, "datasource": DS,
         "description": desc,
         "gridPos": {"h": 8, "w": w, "x": x, "y": y},
         "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
         "options": {"legend": {"displayMode": "list", "placement": "bottom"}, "tooltip": {"mode": "multi"}},
         "targets": [{"refId": chr(65 + i), "datasource": DS, "expr": e, "legendFormat": l}
                     for i, (e, l) in enumerate(targets)]}
    pid += 1
    panels.append(p)
def stat(title, expr, unit, x, w, desc=""):
    global pid
    panels.append({"type": "stat", "title": title, "id": pid, "datasource": DS, "description": desc,
                   "gridPos": {"h": 8, "w": w, "x": x, "y": y},
                   "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
                   "targets": [{"refId": "A", "datasource": DS, "expr": expr}]})
    pid += 1
def next_line():
    global y
    y += 8

JOB = '{job=~"$job"}'
row("HTTP")
ts("Requests per second", [('sum by (job) (rate(kiki_http_requests_total{job=~"$job"}[5m]))', "{{job}}")], "reqps", 0)
ts("Share of 5xx answers", [('sum by (job) (rate(kiki_http_requests_total{job=~"$job",status=~"5.."}[5m])) / sum by (job) (rate(kiki_http_requests_total{job=~"$job"}[5m]))', "{{job}}")], "percentunit", 8,
   desc="KikiHighErrorRate fires above 1 % for 10 min.")
ts("Latency p95 (probes excluded)", [('histogram_quantile(0.95, sum by (job, le) (rate(kiki_http_request_duration_seconds_bucket{job=~"$job",route!~"/livez|/readyz|/healthz|/metrics"}[5m])))', "{{job}}")], "s", 16,
   desc="KikiHighLatencyP95 fires above 500 ms for 10 min.")
next_line()
ts("Slowest routes, p95", [('topk(8, histogram_quantile(0.95, sum by (route, le) (rate(kiki_http_request_duration_seconds_bucket{job=~"$job",route!~"/livez|/readyz|/healthz|/metrics"}[5m]))))', "{{route}}")], "s", 0, 12)
ts("In flight and rate-limited", [('sum by (job) (kiki_http_requests_in_flight{job=~"$job"})', "in flight {{job}}"),
                                 ('sum by (job) (rate(kiki_http_rate_limited_total{job=~"$job"}[5m]))', "limited/s {{job}}")], "short", 12, 12)
next_line()
row("Database")
ts("Query time p95", [('histogram_quantile(0.95, sum by (db_system, le) (rate(kiki_db_query_duration_seconds_bucket{job=~"$job"}[5m])))', "{{db_system}}")], "s", 0)
ts("Pool", [('sum by (instance) (kiki_db_pool_connections{job=~"$job"})', "open {{instance}}"),
            ('sum by (instance) (kiki_db_pool_idle{job=~"$job"})', "idle {{instance}}"),
            ('max by (instance) (kiki_db_pool_max{job=~"$job"})', "max {{instance}}")], "short", 8)
ts("Tasks waiting for a connection", [('max by (instance) (kiki_db_pool_waiting{job=~"$job"})', "{{instance}}")], "short", 16,
   desc="KikiDatabasePoolExhausted fires when above 0 for 5 min.")
next_line()
row("Jobs")
ts("Attempts by outcome", [('sum by (kind, outcome) (rate(kiki_jobs_total[15m])) * 900', "{{kind}} {{outcome}}")], "short", 0,
   desc="Attempts per 15 minutes. KikiJobFailures fires when over 20 % of a kind's attempts fail.")
ts("Job time p95", [('histogram_quantile(0.95, sum by (kind, le) (rate(kiki_job_duration_seconds_bucket[30m])))', "{{kind}}")], "s", 8)
ts("Schedules fired and busy-database retries", [('sum by (kind) (increase(kiki_scheduler_runs_total[1h]))', "fired/h {{kind}}"),
                                                 ('sum by (op) (increase(kiki_jobs_store_busy_total[1h]))', "busy/h {{op}}")], "short", 16,
   desc="Busy retries: job bookkeeping that waited for a bulk writer on SQLite (docs/operations.md, KikiJobFailures).")
next_line()
row("Bidder")
ts("Requests, bids and wins", [('sum(rate(kiki_bidder_requests_total[5m]))', "requests/s"),
                               ('sum(rate(kiki_bidder_bids_total[5m]))', "bids/s"),
                               ('sum(rate(kiki_bidder_wins_total[5m]))', "wins/s")], "reqps", 0)
ts("No-bid reasons", [('sum by (nbr) (rate(kiki_bidder_nobid_total[5m]))', "nbr {{nbr}}")], "reqps", 8,
   desc="nbr 15: not enough auction time (KikiBidderTimeouts).")
ts("Decision time p99", [('histogram_quantile(0.99, sum by (le) (rate(kiki_bidder_decision_seconds_bucket[5m])))', "p99")], "s", 16,
   desc="KikiBidderSlowDecisions fires above 10 ms for 10 min.")
next_line()
ts("Pacing and line items", [('avg(kiki_bidder_pacing_throttle)', "pacing throttle"),
                             ('max(kiki_bidder_line_items)', "line items")], "short", 0, 12)
ts("Notices and anomalies", [('sum by (status) (rate(kiki_bidder_notices_total[5m]))', "notices {{status}}"),
                             ('sum by (reason) (rate(kiki_bidder_notice_anomalies_total[5m]))', "refused {{reason}}")], "reqps", 12, 12)
next_line()
row("Ad platforms and other external calls")
ts("Calls by host and answer", [('sum by (host, status) (rate(kiki_outbound_requests_total[10m]))', "{{host}} {{status}}")], "reqps", 0,
   desc="KikiAdPlatformErrors fires when over 20 % of a host's calls fail for 15 min.")
ts("Call time p95", [('histogram_quantile(0.95, sum by (host, le) (rate(kiki_outbound_request_duration_seconds_bucket[10m])))', "{{host}}")], "s", 8)
ts("Retries", [('sum by (host) (rate(kiki_outbound_retries_total[10m]))', "{{host}}")], "reqps", 16)
next_line()
row("Cache, events and backups")
ts("Cache hit ratio", [('sum by (backend) (rate(kiki_cache_hits_total[10m])) / (sum by (backend) (rate(kiki_cache_hits_total[10m])) + sum by (backend) (rate(kiki_cache_misses_total[10m])))', "{{backend}}")], "percentunit", 0)
ts("Events published", [('topk(10, sum by (kind) (rate(kiki_events_published_total[10m])))', "{{kind}}")], "short", 8)
stat("Newest backup age", 'time() - max(kiki_backup_last_success_timestamp_seconds)', "s", 16, 4,
     desc="Only with backups scheduled. KikiBackupStale fires above 26 hours.")
stat("Newest backup size", 'max(kiki_backup_size_bytes)', "bytes", 20, 4)
next_line()

dash = {
    "uid": "kiki-operations",
    "title": "KIKI operations",
    "description": "Every KIKI role's HTTP, database, jobs, bidder, external calls, cache, events and backups, from the metrics on /metrics. Panels name the alert that watches them (docs/operations.md).",
    "tags": ["kiki"],
    "timezone": "utc",
    "schemaVersion": 39,
    "version": 1,
    "editable": False,
    "refresh": "30s",
    "time": {"from": "now-6h", "to": "now"},
    "templating": {"list": [{
        "name": "job", "label": "role", "type": "query", "datasource": DS,
        "query": {"query": "label_values(kiki_uptime_seconds, job)", "refId": "job"},
        "definition": "label_values(kiki_uptime_seconds, job)",
        "includeAll": True, "multi": True, "allValue": ".*",
        "current": {"selected": True, "text": ["All"], "value": ["$__all"]},
        "refresh": 2}]},
    "annotations": {"list": []},
    "panels": panels,
}
print(json.dumps(dash, indent=2))

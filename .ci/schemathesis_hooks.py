"""Schemathesis hooks for the KIKI contract check (.ci/schemathesis.sh).

One hook, `filter_failure`, and one table, `UNSTATABLE`: the request rules of
the API that a JSON Schema cannot state, because they depend on stored data,
on the server's configuration, on the clock, or compare two values of one
request. The schema states everything else (types, ranges, lengths, patterns,
formats, enums, required and forbidden fields, and the rules across fields that
JSON Schema can express: `anyOf` of required fields, `not`, `if`/`then`,
`contains`).

A "schema-valid request rejected" failure (ST202) is dropped only when the
answer is a 422 whose `details.fields` lists nothing but fields named in the
table for that operation, each with the message the table gives, or an answer
without fields (a 422, or the 400 of an OpenRTB endpoint, which names the
broken rule in its message) matching a rule whose field is `None`. Any other
refusal, and every other check, still fails the run. The run prints how many
failures were dropped.
"""

import atexit
import collections
import re
import sys

import schemathesis

# Dropped refusals per operation and field, printed when the run ends.
DROPPED = collections.Counter()

# A cursor is opaque: only a `next_cursor` this API issued is one.
CURSOR = (r"cursor", r"not one this API issued|A new model was fitted since this page")
# Tokens and codes the server issued and stores (hashed).
INVITATION = (
    r"invitation",
    r"invitation or invite code is not valid|invitation was used a moment ago|"
    r"invitation was sent to another email address|invitation only on this server",
)
# The password policy's list of common passwords, and "not the email address".
PASSWORD_POLICY = r"most commonly used passwords|same as the email address"
# Currencies the bidder's exchange-rate table knows (`[bidder.engine.fx]`).
FX = r"No exchange rate is configured"
# Two lines, rows or names of one request that must differ.
TWICE = r"appear twice|appears twice|[Ll]isted twice"

# A campaign's amounts are in its own currency: two values of one request.
SAME_CURRENCY = r"Must be the campaign currency"
# The organisation's daily cap (`PUT /v1/campaign-settings`): stored data.
CAP = r"Above the organisation's cap"
# A plan's (or what-if allocation's, or budget set's) amounts are in the
# currency it states: two values of one request.
SAME_PLAN_CURRENCY = r"Must be the plan currency"
SAME_REQUEST_CURRENCY = r"Must be the request currency"
CAMPAIGN = [
    (r"(daily_budget|total_budget|max_cpa|ad_sets\[\d+\]\.bid_cap)\.currency", SAME_CURRENCY),
    (r"daily_budget", CAP),
    (r"total_budget", r"Less than one day of the daily budget"),
    # Against the clock, and two dates of one request.
    (r"schedule\.start", r"Not before today"),
    (r"schedule\.end", r"Not before the start"),
    # Zone names the built-in time zone database holds (stored data).
    (r"schedule\.time_zone", r"not in the time zone database"),
    # The ad sets' shares sum to 10 000; a cost cap needs its cap; the
    # minimum age not above the maximum.
    (r"ad_sets", r"budget shares sum to"),
    (r"ad_sets\[\d+\]\.bid_cap", r"A cost cap needs its cap"),
    (r"ad_sets\[\d+\]\.targeting\.age_min", r"the minimum not above the maximum"),
]
# A creative has at least one piece of copy and at most 100 in all, across
# four lists.
COPY = [(r"copy", r"At least one headline|At most 100 pieces")]

# A lift plan's days and markets: two dates of one request compared, the
# calendar (a day that does not exist), and two lists of one request.
LIFT_PLAN = [
    (r"plan\.(pre_start|test_start|test_end)", r"calendar date|starts after|ends on or after|lasts at most|span at most"),
    (r"plan\.(treated|excluded_donors)\[\d+\]", TWICE),
    (r"plan\.excluded_donors\[\d+\]", r"is treated"),
    # Which fields a plan needs depends on its `method` (another field of
    # the same plan): the groups of `synthetic_control` and `tbr`, the pairs
    # and cost of `trimmed_match`, the salt and share of `holdout`, and the
    # options and alternatives each method takes.
    (r"plan", r"belongs to a"),
    (r"plan\.treated", r"Name 1 to 100 treated markets|leave `treated` empty"),
    (r"plan\.control", r"Name 1 to 500 control markets"),
    (r"plan\.pairs", r"Name 3 to 500 pairs"),
    (r"plan\.cost_kpi", r"Name the cost measure"),
    (r"plan\.salt", r"salt"),
    (r"plan\.treatment_share", r"strictly between 0 and 1"),
    (r"plan\.(fixed_effects|ridge|excluded_donors)", r"option of `synthetic_control` only"),
    (r"plan\.alternative", r"time-based regression tests|Trimmed Match gives|holdout gives"),
    # Two lists of one request, and two fields of one request compared.
    (r"plan\.control\[\d+\]", TWICE + r"|in the treatment group"),
    (r"plan\.pairs\[\d+\]\.(treated|control)", r"in another pair already"),
    (r"plan\.trim_rate", r"from 0 to `max_trim_rate`"),
]

# Which fields a connection takes depends on its `mode` (another field of the
# same request), and KIKI programmatic is reached through its own bidder.
PLATFORM_CONNECTION = [
    (
        r"industry|currency|account_id|login_customer_id|redirect_uri",
        r"Only a sandbox connection takes this|Only a live connection takes this|"
        r"A live connection names",
    ),
    (r"platform", r"is not an ad platform to connect"),
]

# A click id is the bidder's signed token: whether KIKI issued it for the
# caller's organisation (stored line items, the server's key) and whether the
# order falls in the attribution window (the clock, the stored click time).
# An order's time against the clock and its click's time.
CONVERSION = [
    (r"click_id", r"."),
    (r"occurred_at", r"In the future|Before the ad click"),
]

# Analytics ranges: two dates of one request compared (or one against the
# clock's today), and zone names the built-in time zone database holds.
ANALYTICS = [
    (r"until", r"Must not be before the first day of the range|A range spans at most"),
    (r"tz", r"not in the time zone database"),
    # Converting needs a stored rate for each currency and day of the rows
    # (stored data), and a dimension that converts (`by`, another field).
    (r"convert_to", r"has no usable rate|Converting is available by"),
]
# Exchange rates: a rate of zeros matches the decimal pattern but is not a
# rate, and a pair's quote must differ from its base (two values of one
# request).
FX_RATES = [
    (r"rates\[\d+\]\.rate", r"Must be greater than 0"),
    (r"rates\[\d+\]\.quote", r"Must differ from the base"),
]
ANALYTICS_SUMMARY = ANALYTICS + [
    # Which fields a comparison needs depends on `compare`, another field.
    (r"compare_(since|until)", r"Required with `compare=custom`"),
    (r"compare_until", r"Must not be before the first day of the range|A range spans at most"),
]
# Ranking by an amount needs one currency when the stored rows are in several.
ANALYTICS_PERFORMERS = ANALYTICS + [(r"currency", r"in several currencies")]

# A scheduled report: its recipients must be active members whose role may
# export (stored data) and not listed twice; which day field it takes depends
# on its `cadence` (another field of the same request); zone names the
# built-in database holds; its query is checked as its report route checks
# it, and takes no days (the export's query type, shared, has them). A name
# of spaces only is refused as Rust's `trim` reads spaces, which no regex
# dialect of the schema states the same way.
SCHEDULE = ANALYTICS_PERFORMERS + [
    (r"name", r"Must be 1 to 120 characters"),
    (r"recipients\[\d+\]", r"not an active member|may not read and export|" + TWICE),
    (r"weekday", r"needs its weekday|Only a weekly schedule"),
    (r"day_of_month", r"needs its day of the month|Only a monthly schedule"),
    (r"time_zone", r"not in the time zone database"),
    (r"query\.(since|until)", r"days are fixed at each run"),
    # A summary's comparison days would not move with the runs.
    (r"query\.compare_(since|until)", r"fixed comparison days would not move"),
    (r"query", r"Not a query of this report"),
]

UNSTATABLE = {
    ("POST", "/v1/conversions"): CONVERSION,
    # The site key must be one an organisation holds (stored data).
    ("POST", "/v1/conversions/collect"): CONVERSION + [(r"site_key", r"Not a site key")],
    # A host the URL standard accepts, and two entries of one list that are
    # one origin once normalised (`https://A.example/` and `https://a.example`).
    ("PUT", "/v1/conversions/site"): [(r"allowed_origins\[\d+\]", r"An origin|" + TWICE)],
    ("GET", "/v1/conversions"): [CURSOR],
    ("GET", "/v1/analytics/summary"): ANALYTICS_SUMMARY,
    ("GET", "/v1/analytics/timeseries"): ANALYTICS,
    ("GET", "/v1/analytics/breakdown"): ANALYTICS,
    ("GET", "/v1/analytics/performers"): ANALYTICS_PERFORMERS,
    ("GET", "/v1/analytics/drilldown"): ANALYTICS,
    ("GET", "/v1/analytics/variants"): ANALYTICS,
    # A page's cursor is one this API issued; a CSV holds every row, so it
    # takes none (`format`, another field of the request).
    ("GET", "/v1/analytics/rows"): ANALYTICS + [CURSOR, (r"cursor", r"A CSV holds every row")],
    # An export job's query is checked as its report route checks it (the
    # variant comparison needs `query.campaign_id`, which depends on `report`).
    ("POST", "/v1/analytics/exports"): ANALYTICS_PERFORMERS
    + [(r"query", r"Not a query of this report")],
    ("PUT", "/v1/analytics/fx-rates"): FX_RATES,
    ("GET", "/v1/analytics/fx-rates"): [CURSOR],
    ("POST", "/v1/analytics/schedules"): SCHEDULE,
    ("PUT", "/v1/analytics/schedules/{id}"): SCHEDULE,
    ("POST", "/v1/platforms/connections"): PLATFORM_CONNECTION,
    # The time zone database decides which names are zones.
    ("PATCH", "/v1/organisations/{id}"): [(r"time_zone", r"The time zone must be an IANA zone name")],
    ("GET", "/v1/notifications"): [CURSOR],
    # Each kind at most once (the schema generator of the settings body
    # does not emit `uniqueItems` for a list of enums).
    ("PUT", "/v1/notifications/settings"): [(r"enabled_kinds\[\d+\]", r"is listed twice")],
    ("GET", "/v1/audit"): [CURSOR],
    ("GET", "/v1/decisions"): [CURSOR],
    ("GET", "/v1/outbox"): [CURSOR],
    ("GET", "/v1/ltv/models"): [CURSOR],
    ("GET", "/v1/ltv/customers"): [CURSOR],
    ("GET", "/v1/simulations"): [CURSOR],
    ("GET", "/v1/simulations/{id}/mirror"): [CURSOR],
    ("GET", "/v1/rebalancing"): [CURSOR],
    ("POST", "/v1/auth/register"): [
        INVITATION,
        (r"email", r"invitation was sent to another email address"),
        (r"org_id", r"does not accept registrations without an invitation"),
        (r"password", PASSWORD_POLICY),
    ],
    ("POST", "/v1/auth/password-reset/confirm"): [
        (r"token", r"reset link is not valid"),
        (r"new_password", PASSWORD_POLICY),
    ],
    ("POST", "/v1/invitations/accept"): [INVITATION],
    # The expiry must lie in the future: a rule against the clock.
    ("POST", "/v1/api-keys"): [(r"expires_at", r"must be in the future")],
    ("POST", "/v1/bidder/line-items"): [
        (r"flight\.end", r"must end after it starts"),
        (r"targeting\.dayparts\[\d+\]", r"start_hour < end_hour"),
        (r"(budget\.(daily|total)|ltv_baseline|bid_strategy\.(cpa|cpm)|max_cpm)", FX),
    ],
    ("PUT", "/v1/bidder/line-items/{id}"): [
        (r"flight\.end", r"must end after it starts"),
        (r"targeting\.dayparts\[\d+\]", r"start_hour < end_hour"),
        (r"(budget\.(daily|total)|ltv_baseline|bid_strategy\.(cpa|cpm)|max_cpm)", FX),
    ],
    ("PUT", "/v1/bidder/segments"): [
        (r"segments\[\d+\]\.segment", TWICE),
        (r"segments\[\d+\]\.ltv\.currency", r"Must be the bidder currency"),
        (r"members\[\d+\]\.user", TWICE),
        (r"members\[\d+\]\.segment", r"Not one of `segments`"),
    ],
    ("POST", "/v1/ltv/transactions"): [
        # `ltv.earliest_transaction_date` to `ltv.max_future_days` after now.
        (r"timestamp", r"outside the plausible span"),
    ],
    # A CSV file is one string to JSON Schema: its header and rows are a
    # file format, checked row by row (and documented in the operation).
    ("POST", "/v1/ltv/transactions", "text/csv"): [
        (r"file|header|customer_id|timestamp|amount|order_id|segment|platform|kind", r".+"),
        # A column named by a parameter must be in the file's header.
        (r"customer_col|date_col|amount_col", r"The file has no column"),
    ],
    ("POST", "/v1/ltv/fits"): [
        # Against the stored transactions of the organisation.
        (r"observation_end", r"before the first transaction"),
        (r"calibration_end", r"must end after the first transaction"),
        (r"model", r"cannot be used on this data"),
        # The engine's checks of the stored data (no repeat purchase, no
        # transaction in the window, …) answer without a field.
        (None, r"."),
    ],
    ("POST", "/v1/ltv/predict"): [
        # recency <= T, frequency 0 => recency 0, and what the model can score.
        (r"rows\[\d+\]", r".+"),
        (r"model_id", r"Stored predictions exist for the current model only"),
    ],
    # The exchange-facing endpoints answer 400 with the broken rule named.
    ("POST", "/openrtb2/bid"): [
        (None, r"repeats the id .* of an earlier impression"),
        # JSON Schema's `integer` includes 3.0; the bid path reads integers as
        # exchanges write them, without a decimal point (its reader mirrors
        # serde's derive, which refuses `3.0` for an integer field).
        (None, r"invalid type: floating point `-?[0-9.e+]+`, expected (i64|u32|u64)"),
    ],
    ("GET", "/openrtb2/win"): [(None, FX)],
    ("POST", "/openrtb2/win"): [(None, FX)],
    ("GET", "/openrtb2/billing"): [(None, FX)],
    ("POST", "/openrtb2/billing"): [(None, FX)],
    # The landing page must be on the running line item's advertiser domains.
    ("GET", "/openrtb2/click"): [(None, r"not a landing page of this line item's advertiser")],
    ("POST", "/v1/simulations"): [
        # Plans and LTV figures whose simulated totals overflow 64-bit micros.
        (None, r"not a finite amount that fits in micros"),
        # The market model estimated from the given LTV figures and the
        # history: a standard deviation far above its mean gives a spread
        # the simulation refuses (a ratio of two fields).
        (r"model\.platforms\[\d+\]\..+", r"."),
        (r"plan\.allocations\[\d+\]", TWICE),
        (r"plan\.allocations\[\d+\]\.daily_budget", r"add up to more than can be represented"),
        # The plan's amounts and LTV figures are in the plan's currency: two
        # values of one request.
        (r"plan\.(allocations\[\d+\]\.daily_budget|max_cpa|baseline_revenue|baseline_ad_spend|organic_revenue|budget_cap)\.currency", SAME_PLAN_CURRENCY),
        (r"ltv\[\d+\]\.(mean|std_dev)\.currency", SAME_PLAN_CURRENCY),
        (r"plan\.duration_days", r"too large to represent"),
        # The baseline may be left out only when the organisation has
        # recorded performance history to take it from (stored data).
        (r"plan\.organic_revenue", r"no performance history to take it from"),
    ],
    ("POST", "/v1/allocations"): [
        # Curves and budgets whose optimum overflows 64-bit micros.
        (None, r"not a finite amount that fits in micros"),
        (r"platforms\[\d+\]\.platform", TWICE),
        (r"platforms\[\d+\]\.max_daily_budget", r"must not be below the minimum"),
        (r"platforms", r"minimum daily budgets add up to more than the total budget"),
        # Amounts in the request's currency: two values of one request.
        (r"(total_budget|target\.max_cpa\.max_cpa|platforms\[\d+\]\.(value_per_conversion|min_daily_budget|max_daily_budget|reference_daily_budget))\.currency", SAME_REQUEST_CURRENCY),
    ],
    ("PUT", "/v1/twin/budgets"): [
        (r"platforms\[\d+\]\.platform", TWICE),
        (r"platforms\[\d+\]\.max_daily_budget", r"must not be below the minimum"),
        (r"platforms\[\d+\]\.daily_budget", r"must lie within its minimum and maximum"),
        (r"platforms\[\d+\]\.(daily_budget|min_daily_budget|max_daily_budget)\.currency", SAME_REQUEST_CURRENCY),
    ],
    ("POST", "/v1/twin/performance"): [
        (r"rows\[\d+\]", TWICE),
        (r"rows\[\d+\]\.clicks", r"must not exceed impressions"),
        # A row's amounts are in the row's `currency`: two values of one row.
        (r"rows\[\d+\]\.(spend|revenue)\.currency", r"Must be the row currency"),
        (r"rows", r"rows per request"),
    ],
    ("POST", "/v1/campaigns"): CAMPAIGN,
    ("PUT", "/v1/campaigns/{id}"): CAMPAIGN,
    ("POST", "/v1/campaigns/{id}/budget"): [
        (r"(daily|total)_budget\.currency", SAME_CURRENCY),
        (r"total_budget", r"Less than one day of the daily budget"),
        (r"daily_budget", CAP),
    ],
    ("GET", "/v1/campaigns"): [CURSOR],
    # Whether the landing page answers, and where its host is: the network,
    # not the request.
    ("POST", "/v1/campaigns/plan"): [(r"url", r".")],
    # The model's host must resolve, to public addresses only (DNS: outside state).
    ("PUT", "/v1/campaign-settings/llm"): [(r"base_url", r"could not be resolved|private or local network")],
    # The cap is in the threshold's currency: two values of one request.
    ("PUT", "/v1/campaign-settings"): [
        (r"max_daily_budget\.currency", r"Must be the approval threshold's currency"),
    ],
    ("GET", "/v1/approvals"): [CURSOR],
    ("GET", "/v1/creatives"): [CURSOR],
    # Overriding the gate's stored verdict needs a reason; one of Unicode
    # white space only (U+0085 included) is none, as Rust's `trim` reads it,
    # which no regex dialect of the schema states the same way.
    ("POST", "/v1/simulations/{id}/decision"): [
        (r"reason", r"Say why the gate's verdict is overridden"),
    ],
    ("POST", "/v1/approvals/{id}/decision"): [
        # Approving a launch the twin's gate refused: the stored verdict.
        (r"override_reason", r"gate refused this launch"),
    ],
    ("POST", "/v1/creatives"): COPY,
    ("PUT", "/v1/creatives/{id}"): COPY,
    ("POST", "/v1/creatives/review"): COPY,
    ("POST", "/v1/creatives/generate"): [
        # `campaigns.max_variants` (configuration).
        (r"count", r"variants"),
    ],
    ("POST", "/v1/experiments/lift"): LIFT_PLAN,
    ("PUT", "/v1/experiments/lift/{id}"): LIFT_PLAN,
    ("GET", "/v1/experiments/lift"): [CURSOR],
    ("GET", "/v1/experiments/lift/{id}/analyses"): [CURSOR],
    ("GET", "/v1/experiments/lift/{id}/designs"): [CURSOR],
    # Registration has no body: it checks the stored plan's markets and days
    # against the stored KPI panel, so every refusal is about stored data.
    ("POST", "/v1/experiments/lift/{id}/register"): [(r"plan(\..+)?", r".")],
    ("POST", "/v1/experiments/lift/{id}/designs"): [
        # Against the experiment's stored KPI panel: its markets and days.
        (r"(treated|required_markets|excluded_markets|excluded_donors)\[\d+\]", r"no market|listed twice"),
        (r"pre_periods", r"The KPI panel has"),
        # Two amounts of one request share a currency.
        (r"cost_per_incremental_unit\.currency", r"Must be the budget's currency"),
    ],
    # The rows of one upload together: every market needs every day, at
    # least two markets; a day must exist in the calendar.
    # Users are a holdout's only (the experiment's stored plan), and at
    # most `lift.max_panel_cells` of them (configuration).
    ("POST", "/v1/experiments/lift/{id}/panel"): [
        (r"rows(\[\d+\]\.date)?", r"."),
        (r"users", r"reads a daily KPI panel|allowed"),
    ],
    # A CSV file is one string to JSON Schema: its header and rows are a
    # file format, checked row by row (and documented in the operation).
    ("POST", "/v1/experiments/lift/{id}/panel", "text/csv"): [(r".+", r".+")],
}


def _unstatable(rules, field, message):
    return any(
        f is not None and re.fullmatch(f, field) and re.search(m, message) for f, m in rules
    )


def _rules(case):
    key = (case.operation.method.upper(), case.operation.path)
    media = (case.media_type or "").split(";")[0].strip().lower()
    return UNSTATABLE.get((*key, media)) or UNSTATABLE.get(key)


def _report():
    if DROPPED:
        print(f"\nRefusals of rules a schema cannot state, dropped: {sum(DROPPED.values())}", file=sys.stderr)
        for (operation, rule), n in sorted(DROPPED.items()):
            print(f"  {n:5}  {operation}  {rule}", file=sys.stderr)


atexit.register(_report)


def _drop(case, rule):
    DROPPED[(f"{case.operation.method.upper()} {case.operation.path}", rule)] += 1
    return False


def _null_from_a_link(case):
    """A stateful step whose link put a response's `null` into a path.

    Schemathesis 4.32.5 infers links from names (a simulation's nullable
    `model_id` to `GET /v1/ltv/models/{id}`) and sends a `null` it extracts
    as the text `None`, yet still counts the request as schema-valid: no
    `format: uuid` path parameter accepts `None`, and the answer is the
    documented 400. Only that case is dropped.
    """
    meta = case.meta
    if meta is None or meta.phase.name != "stateful":
        return False
    return any(v is None or v == "None" for v in (case.path_parameters or {}).values())


@schemathesis.hook
def filter_failure(context, failure, case, response):
    """Keeps every failure but a 422 that names only unstatable rules."""
    if getattr(failure, "code", None) == "ST202" and _null_from_a_link(case):
        return _drop(case, "a link's null in the path")
    # A body over the size limit (`http.body_limit_bytes`, the LTV upload's
    # own, the bid path's) is refused with the declared 413: JSON Schema
    # counts items, not bytes.
    if getattr(failure, "code", None) == "ST202" and response.status_code == 413:
        return _drop(case, "413 body over the size limit")
    if getattr(failure, "code", None) != "ST202" or response.status_code not in (400, 422):
        return True
    rules = _rules(case)
    if not rules:
        return True
    try:
        error = response.json()["error"]
        details = error.get("details") or {}
    except (ValueError, KeyError, TypeError, AttributeError):
        return True
    fields = details.get("fields") if response.status_code == 422 else None
    if not fields:
        message = error.get("message", "")
        for f, m in rules:
            if f is None and re.search(m, message):
                return _drop(case, f"{response.status_code} /{m}/")
        return True
    # An upload lists its first 50 bad values: every one must be listed.
    if details.get("total", len(fields)) != len(fields):
        return True
    for f in fields:
        if not _unstatable(rules, f.get("field", ""), f.get("message", "")):
            return True
    names = sorted({re.sub(r"\[\d+\]", "[]", f.get("field", "")) for f in fields})
    return _drop(case, "422 " + ", ".join(names))

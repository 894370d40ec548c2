//! Redis-backed budget ledger and frequency store, shared by bidder replicas
//! (docs/bidder.md, "Budgets" and "Frequency caps").
//!
//! The engine's traits are synchronous and the bid path never waits for
//! Redis: `spent` and frequency counts are answered from local caches,
//! `record_spend`, `give_back` and impressions are queued and written by the
//! background task ([`SharedCounters::run`]) with `INCRBY`/`INCR`, and the
//! caches are refreshed from Redis every second. Only `grant` talks to Redis
//! synchronously (one Lua script), and the engine calls it only from
//! `Bidder::maintain`, which the service runs on a blocking thread.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use kiki_bidder::budget::{BudgetLimits, SpendTotals};
use kiki_bidder::freq::{FreqKey, InMemoryFrequency};
use kiki_bidder::{BudgetLedger, FrequencyStore, LineItemId};
use parking_lot::{Mutex, RwLock};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use tokio_util::sync::CancellationToken;

/// Day keys live a little longer than the day so late notices still land.
const DAY_KEY_TTL_SECS: i64 = 3 * 86_400;
const REDIS_TIMEOUT: Duration = Duration::from_secs(1);
/// Most frequency keys refreshed from Redis per second.
const MAX_FREQ_REFRESH: usize = 20_000;

/// `KEYS[1]` = day granted, `KEYS[2]` = total granted; `ARGV` = want, daily
/// limit, total limit (-1 = none), day-key TTL. Grants within both limits.
const GRANT_LUA: &str = r"
local want = tonumber(ARGV[1])
local daily = tonumber(ARGV[2])
local total = tonumber(ARGV[3])
local gd = tonumber(redis.call('GET', KEYS[1]) or '0')
local gt = tonumber(redis.call('GET', KEYS[2]) or '0')
local room = daily - gd
if total >= 0 and total - gt < room then room = total - gt end
local g = want
if room < g then g = room end
if g <= 0 then return 0 end
redis.call('INCRBY', KEYS[1], g)
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[4]))
redis.call('INCRBY', KEYS[2], g)
return g
";

#[derive(Debug)]
enum Op {
    IncrBy {
        key: String,
        by: i64,
        ttl: Option<i64>,
    },
    FreqIncr {
        key: String,
        window_secs: u32,
    },
}

/// The Redis connection and the local caches shared by the ledger and the
/// frequency store.
pub struct SharedCounters {
    conn: ConnectionManager,
    rt: tokio::runtime::Handle,
    prefix: String,
    grant: redis::Script,
    queue: Mutex<Vec<Op>>,
    spent: RwLock<HashMap<(LineItemId, u32), SpendTotals>>,
    /// The local mirror of the frequency windows, under the engine's
    /// counting rule.
    freq: InMemoryFrequency,
    freq_watch: Mutex<HashSet<(u64, u32)>>,
}

impl std::fmt::Debug for SharedCounters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedCounters")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

fn secs(now_ms: i64) -> u32 {
    now_ms.div_euclid(1000).clamp(0, i64::from(u32::MAX)) as u32
}

impl SharedCounters {
    /// Connects to Redis. `prefix` namespaces the keys (`kiki:bidder:` by default).
    pub async fn connect(url: &str, prefix: &str) -> anyhow::Result<Arc<SharedCounters>> {
        let client = redis::Client::open(url)?;
        let cfg = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(REDIS_TIMEOUT))
            .set_response_timeout(Some(REDIS_TIMEOUT))
            .set_number_of_retries(1);
        let conn = tokio::time::timeout(
            REDIS_TIMEOUT * 3,
            ConnectionManager::new_with_config(client, cfg),
        )
        .await
        .map_err(|_| anyhow::anyhow!("connecting to Redis timed out"))??;
        Ok(Arc::new(SharedCounters {
            conn,
            rt: tokio::runtime::Handle::current(),
            prefix: prefix.to_owned(),
            grant: redis::Script::new(GRANT_LUA),
            queue: Mutex::new(Vec::new()),
            spent: RwLock::new(HashMap::new()),
            freq: InMemoryFrequency::with_shards(64),
            freq_watch: Mutex::new(HashSet::new()),
        }))
    }

    fn budget_key(&self, li: LineItemId, day: Option<u32>, what: &str) -> String {
        match day {
            Some(d) => format!("{}budget:{}:{d}:{what}", self.prefix, li.0),
            None => format!("{}budget:{}:total:{what}", self.prefix, li.0),
        }
    }

    fn freq_key(&self, key: FreqKey) -> String {
        format!("{}freq:{:016x}", self.prefix, key.0)
    }

    fn queue_incr(&self, key: String, by: i64, ttl: Option<i64>) {
        self.queue.lock().push(Op::IncrBy { key, by, ttl });
    }

    /// Claims, for this replica, the once-per-bid counts a notice would make:
    /// `SET claim:{bid}:spend NX PX retention` and the same for `:imp`, in one
    /// round trip. Returns the claims this replica did **not** get (another
    /// replica counted them first). Each claim lives as long as the engine
    /// remembers finished bid ids.
    pub async fn claim(
        &self,
        key: u64,
        wanted: kiki_bidder::Claims,
        retention_ms: i64,
    ) -> redis::RedisResult<kiki_bidder::Claims> {
        let mut lost = kiki_bidder::Claims::default();
        let parts: Vec<(&str, bool)> = [("spend", wanted.spend), ("imp", wanted.impression)]
            .into_iter()
            .filter(|(_, w)| *w)
            .collect();
        if parts.is_empty() {
            return Ok(lost);
        }
        let mut pipe = redis::pipe();
        for (what, _) in &parts {
            pipe.cmd("SET")
                .arg(format!("{}claim:{key:016x}:{what}", self.prefix))
                .arg(1)
                .arg("NX")
                .arg("PX")
                .arg(retention_ms.max(1));
        }
        let mut conn = self.conn.clone();
        let set: Vec<Option<String>> = pipe.query_async(&mut conn).await?;
        for ((what, _), got) in parts.iter().zip(set) {
            if got.is_none() {
                match *what {
                    "spend" => lost.spend = true,
                    _ => lost.impression = true,
                }
            }
        }
        Ok(lost)
    }

    /// Marks a tracker of a bid as counted across replicas: `SET
    /// seen:{tracker}:{bid} 1 NX PX ttl`. True for the first replica to ask.
    pub async fn first_seen(
        &self,
        tracker: &str,
        bid: u64,
        ttl_ms: i64,
    ) -> redis::RedisResult<bool> {
        let mut conn = self.conn.clone();
        let set: Option<String> = redis::cmd("SET")
            .arg(format!("{}seen:{tracker}:{bid:016x}", self.prefix))
            .arg(1)
            .arg("NX")
            .arg("PX")
            .arg(ttl_ms.max(1))
            .query_async(&mut conn)
            .await?;
        Ok(set.is_some())
    }

    /// Writes the queued increments (one pipeline).
    pub async fn flush(&self) -> redis::RedisResult<usize> {
        let ops = std::mem::take(&mut *self.queue.lock());
        if ops.is_empty() {
            return Ok(0);
        }
        let mut pipe = redis::pipe();
        for op in &ops {
            match op {
                Op::IncrBy { key, by, ttl } => {
                    pipe.cmd("INCRBY").arg(key).arg(*by).ignore();
                    if let Some(t) = ttl {
                        pipe.cmd("EXPIRE").arg(key).arg(*t).ignore();
                    }
                }
                Op::FreqIncr { key, window_secs } => {
                    pipe.cmd("INCR").arg(key).ignore();
                    pipe.cmd("EXPIRE")
                        .arg(key)
                        .arg(*window_secs)
                        .arg("NX")
                        .ignore();
                }
            }
        }
        let mut conn = self.conn.clone();
        match pipe.query_async::<()>(&mut conn).await {
            Ok(()) => Ok(ops.len()),
            Err(e) => {
                // Put them back in front so nothing acknowledged is lost.
                let mut q = self.queue.lock();
                let newer = std::mem::take(&mut *q);
                *q = ops;
                q.extend(newer);
                Err(e)
            }
        }
    }

    /// Reloads spend of the line items pacing asked about, and the watched
    /// frequency keys, from Redis.
    pub async fn refresh(&self, now_ms: i64) -> redis::RedisResult<()> {
        let keys: Vec<(LineItemId, u32)> = self.spent.read().keys().copied().collect();
        let mut conn = self.conn.clone();
        if !keys.is_empty() {
            let mut pipe = redis::pipe();
            for (li, day) in &keys {
                pipe.cmd("GET")
                    .arg(self.budget_key(*li, Some(*day), "spent"));
                pipe.cmd("GET").arg(self.budget_key(*li, None, "spent"));
            }
            let vals: Vec<Option<i64>> = pipe.query_async(&mut conn).await?;
            let today = secs(now_ms) / 86_400;
            let mut map = self.spent.write();
            for (i, k) in keys.iter().enumerate() {
                let day = vals.get(2 * i).copied().flatten().unwrap_or(0);
                let total = vals.get(2 * i + 1).copied().flatten().unwrap_or(0);
                if k.1 + 1 < today {
                    map.remove(k);
                } else {
                    map.insert(
                        *k,
                        SpendTotals {
                            day_micros: day,
                            total_micros: total,
                        },
                    );
                }
            }
        }
        let watch: Vec<(u64, u32)> = {
            let mut w = self.freq_watch.lock();
            let v: Vec<_> = w.iter().copied().take(MAX_FREQ_REFRESH).collect();
            w.clear();
            v
        };
        if !watch.is_empty() {
            let mut pipe = redis::pipe();
            for (k, _) in &watch {
                let key = self.freq_key(FreqKey(*k));
                pipe.cmd("GET").arg(&key);
                pipe.cmd("TTL").arg(&key);
            }
            let vals: Vec<Option<i64>> = pipe.query_async(&mut conn).await?;
            for (i, (k, window)) in watch.iter().enumerate() {
                let count = vals.get(2 * i).copied().flatten().unwrap_or(0);
                let ttl = vals.get(2 * i + 1).copied().flatten().unwrap_or(-2);
                self.freq.restore(
                    FreqKey(*k),
                    *window,
                    u32::try_from(ttl).unwrap_or(if ttl > 0 { *window } else { 0 }),
                    u32::try_from(count).unwrap_or(if count > 0 { u32::MAX } else { 0 }),
                    now_ms,
                );
            }
        }
        Ok(())
    }

    /// The background loop: flush every 100 ms, refresh every second; a last
    /// flush when `cancel` fires.
    pub async fn run(self: Arc<Self>, clock: Arc<dyn kiki_core::Clock>, cancel: CancellationToken) {
        let mut tick = tokio::time::interval(Duration::from_millis(100));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut n: u64 = 0;
        loop {
            tokio::select! {
                _ = cancel.cancelled() => break,
                _ = tick.tick() => {}
            }
            if let Err(e) = self.flush().await {
                tracing::warn!(error = %e, "bidder: cannot write counters to Redis; retrying");
            }
            n += 1;
            if n.is_multiple_of(10) {
                let now_ms = (clock.now().unix_timestamp_nanos() / 1_000_000) as i64;
                if let Err(e) = self.refresh(now_ms).await {
                    tracing::warn!(error = %e, "bidder: cannot refresh counters from Redis");
                }
            }
        }
        self.final_flush().await;
    }

    /// Flushes what is queued (used at shutdown, after the leases were given back).
    pub async fn final_flush(&self) {
        for _ in 0..3 {
            match self.flush().await {
                Ok(_) => return,
                Err(e) => tracing::warn!(error = %e, "bidder: final flush to Redis failed"),
            }
        }
    }

    /// The ledger view of these counters.
    pub fn ledger(self: &Arc<Self>) -> Arc<RedisLedger> {
        Arc::new(RedisLedger(self.clone()))
    }

    /// The frequency view of these counters.
    pub fn frequency(self: &Arc<Self>) -> Arc<RedisFrequency> {
        Arc::new(RedisFrequency(self.clone()))
    }
}

/// `BudgetLedger` on Redis.
#[derive(Debug)]
pub struct RedisLedger(Arc<SharedCounters>);

impl BudgetLedger for RedisLedger {
    fn grant(&self, li: LineItemId, day: u32, want: i64, limits: BudgetLimits) -> i64 {
        if want <= 0 {
            return 0;
        }
        let c = &self.0;
        let mut inv = c.grant.prepare_invoke();
        inv.key(c.budget_key(li, Some(day), "granted"))
            .key(c.budget_key(li, None, "granted"))
            .arg(want)
            .arg(limits.daily_micros)
            .arg(limits.total_micros.unwrap_or(-1))
            .arg(DAY_KEY_TTL_SECS);
        let mut conn = c.conn.clone();
        // Called from `Bidder::maintain` on a blocking thread, never from the bid
        // path (the ledger is not local, so the engine only flags refills there).
        let res = c.rt.block_on(async move {
            tokio::time::timeout(REDIS_TIMEOUT, inv.invoke_async::<i64>(&mut conn)).await
        });
        match res {
            Ok(Ok(g)) => g.max(0),
            Ok(Err(e)) => {
                tracing::warn!(error = %e, line_item.id = %li, "bidder: budget grant failed");
                0
            }
            Err(_) => {
                tracing::warn!(line_item.id = %li, "bidder: budget grant timed out");
                0
            }
        }
    }

    fn give_back(&self, li: LineItemId, day: u32, micros: i64) {
        if micros <= 0 {
            return;
        }
        let c = &self.0;
        c.queue_incr(
            c.budget_key(li, Some(day), "granted"),
            -micros,
            Some(DAY_KEY_TTL_SECS),
        );
        c.queue_incr(c.budget_key(li, None, "granted"), -micros, None);
    }

    fn record_spend(&self, li: LineItemId, day: u32, micros: i64) {
        if micros == 0 {
            return;
        }
        let c = &self.0;
        c.queue_incr(
            c.budget_key(li, Some(day), "spent"),
            micros,
            Some(DAY_KEY_TTL_SECS),
        );
        c.queue_incr(c.budget_key(li, None, "spent"), micros, None);
        let mut map = c.spent.write();
        let e = map.entry((li, day)).or_default();
        e.day_micros += micros;
        e.total_micros += micros;
    }

    fn spent(&self, li: LineItemId, day: u32) -> SpendTotals {
        if let Some(s) = self.0.spent.read().get(&(li, day)) {
            return *s;
        }
        // First question about this line item and day: watch it from now on.
        self.0.spent.write().entry((li, day)).or_default();
        SpendTotals::default()
    }

    fn is_local(&self) -> bool {
        false
    }
}

/// `FrequencyStore` on Redis with a local mirror.
#[derive(Debug)]
pub struct RedisFrequency(Arc<SharedCounters>);

impl FrequencyStore for RedisFrequency {
    fn count(&self, key: FreqKey, window_secs: u32, now_ms: i64) -> u32 {
        let c = &self.0;
        {
            let mut w = c.freq_watch.lock();
            if w.len() < MAX_FREQ_REFRESH {
                w.insert((key.0, window_secs));
            }
        }
        c.freq.count(key, window_secs, now_ms)
    }

    fn record(&self, key: FreqKey, window_secs: u32, now_ms: i64) {
        let c = &self.0;
        c.freq.record(key, window_secs, now_ms);
        c.queue.lock().push(Op::FreqIncr {
            key: c.freq_key(key),
            window_secs: window_secs.max(1),
        });
    }

    fn purge(&self, now_ms: i64) -> usize {
        self.0.freq.purge(now_ms)
    }

    fn len(&self) -> usize {
        self.0.freq.len()
    }
}

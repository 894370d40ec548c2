//! Stored simulations and market models: their rows, how a row becomes the
//! API's view, and the reads (one simulation, a page of them, a market model).

use super::*;
use crate::store::simulations::SimRow;

/// `GET /v1/twin/models/{id}`: an estimated market model and its data window.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct MarketModelView {
    pub id: Uuid,
    pub org_id: Uuid,
    pub currency: String,
    pub industry: String,
    /// First and last day of the performance history used (none: priors only).
    pub first_day: Option<String>,
    pub last_day: Option<String>,
    pub history_days: i64,
    /// The `kiki_twin::MarketModel`: per platform CPM, CTR, CVR, order value
    /// and LTV distributions, saturation, adstock, seasonality and sources.
    #[schema(value_type = Object)]
    pub model: Value,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

fn corrupt(what: &str, id: Uuid, e: impl std::fmt::Display) -> TwinServiceError {
    TwinServiceError::Internal(format!("simulation {id}: stored {what} unreadable: {e}"))
}

impl SimRow {
    /// The plan's currency: the currency of amounts stored without one
    /// beside them (the `*_micros` fields of rows written before amounts
    /// were money objects).
    fn currency(&self) -> kiki_core::Currency {
        self.plan
            .0
            .get("currency")
            .and_then(Value::as_str)
            .and_then(|c| kiki_core::Currency::parse_exact(c).ok())
            .unwrap_or(kiki_core::Currency::USD)
    }

    /// Stored JSON of either age, read as today's `T`.
    fn stored<T: serde::de::DeserializeOwned>(&self, what: &str, v: &Value) -> Result<T> {
        kiki_twin::stored::read(v.clone(), self.currency()).map_err(|e| corrupt(what, self.id, e))
    }

    pub(crate) fn plan(&self) -> Result<Plan> {
        self.stored("plan", &self.plan.0)
    }

    pub(crate) fn options(&self) -> Result<SimulationOptions> {
        self.stored("options", &self.options.0)
    }

    pub(crate) fn report(&self) -> Result<Option<TwinReport>> {
        self.report
            .as_ref()
            .map(|r| self.stored("report", &r.0))
            .transpose()
    }

    fn into_view(self, with_report: bool) -> Result<SimulationView> {
        let status = SimulationStatus::parse(&self.status)
            .ok_or_else(|| corrupt("status", self.id, &self.status))?;
        let gate: Option<GateDecision> = self
            .gate
            .as_ref()
            .map(|g| self.stored("gate", &g.0))
            .transpose()?;
        let risk_level: Option<RiskLevel> = self
            .risk_level
            .as_ref()
            .map(|r| serde_json::from_value(Value::String(r.clone())))
            .transpose()
            .map_err(|e| corrupt("risk level", self.id, e))?;
        let approval = self.approved.map(|approved| {
            let by = self.approved_by.clone().unwrap_or_else(|| "engine".into());
            let (kind, who) = match by.split_once(':') {
                Some((_, who)) => ("user".to_owned(), Some(who.to_owned())),
                None => (by, None),
            };
            LaunchApproval {
                approved,
                decided_by_kind: kind,
                decided_by: who,
                decided_at: self.approved_at,
            }
        });
        Ok(SimulationView {
            id: self.id,
            org_id: self.org_id,
            status,
            plan: self.plan()?,
            options: self.options()?,
            model_id: self.model_id,
            confidence: self.confidence,
            risk_level,
            fee: gate.as_ref().map(|g| g.fee),
            margin: gate.as_ref().map(|g| g.inputs.margin.into()),
            gate,
            approval,
            report: if with_report { self.report()? } else { None },
            start_date: self.start_day.as_deref().and_then(parse_day),
            job_id: self.job_id,
            error: self.error,
            created_by: self.created_by,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

impl TwinService {
    pub(crate) async fn sim_row(&self, org: Option<OrgId>, id: Uuid) -> Result<Option<SimRow>> {
        Ok(store::simulations::get(&self.db, org, id).await?)
    }

    /// A simulation of the scope's active organisation, with its report
    /// (reads by id follow the one tenancy rule: the active organisation).
    pub async fn get_simulation(
        &self,
        scope: &TenantScope,
        id: Uuid,
    ) -> Result<Option<SimulationView>> {
        let row = store::simulations::get(&self.db, Some(scope.org_id()), id).await?;
        row.map(|r| r.into_view(true)).transpose()
    }

    /// A stored market model (what a simulation was run against), with the
    /// data window it was estimated from, of the scope's active organisation.
    pub async fn market_model(
        &self,
        scope: &TenantScope,
        id: Uuid,
    ) -> Result<Option<MarketModelView>> {
        let row = store::simulations::market_model(&self.db, scope.org_id(), id).await?;
        Ok(row.map(|r| MarketModelView {
            id: r.id,
            org_id: r.org_id,
            currency: r.currency,
            industry: r.industry,
            first_day: r.first_day,
            last_day: r.last_day,
            history_days: r.history_days,
            model: r.model.0,
            created_at: r.created_at,
        }))
    }

    /// The active organisation's simulations, newest first, without reports.
    pub async fn list_simulations(
        &self,
        scope: &TenantScope,
        page: &PageRequest,
    ) -> Result<Page<SimulationView>> {
        let limit = page.limit();
        let key = key_of(page)?;
        let rows = store::simulations::list(&self.db, scope.org_id(), page.fetch(), key).await?;
        let items = rows
            .into_iter()
            .map(|r| r.into_view(false))
            .collect::<Result<Vec<_>>>()?;
        Ok(Page::keyset(items, limit, |v| (v.created_at, v.id)))
    }
}

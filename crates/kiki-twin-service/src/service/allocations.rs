//! What-if allocations: response curves given in the request, or fitted
//! from the organisation's history through the twin's estimator, then
//! `kiki_allocator::allocate`. Nothing is stored: no budget changes, so no
//! decision is taken (the rebalancer's shifts are the recorded action).

use std::collections::BTreeSet;

use kiki_allocator::{AllocationRequest, PlatformCurveInput};
use kiki_core::{FieldError, TenantScope};
use kiki_twin::{EstimationConfig, EstimationInput, Platform};
use time::Duration;

use super::TwinService;
use crate::domain::{AllocationApiRequest, AllocationResponse};
use crate::error::{Result, TwinServiceError};

impl TwinService {
    /// `POST /v1/allocations`.
    pub async fn allocate(
        &self,
        scope: &TenantScope,
        req: AllocationApiRequest,
    ) -> Result<AllocationResponse> {
        let org = scope.org_id();
        let mut errors = Vec::new();
        let mut platforms = Vec::with_capacity(req.platforms.len());
        for (i, l) in req.platforms.iter().enumerate() {
            match Platform::parse(&l.platform) {
                Some(p) => platforms.push(p),
                None => errors.push(FieldError::new(
                    format!("platforms[{i}].platform"),
                    Platform::unknown_message(&l.platform),
                )),
            }
            if l.curve.is_some() && l.value_per_conversion.is_none() {
                errors.push(FieldError::new(
                    format!("platforms[{i}].value_per_conversion"),
                    "Give the value of a conversion with a supplied curve.",
                ));
            }
            for (name, m) in [
                ("value_per_conversion", l.value_per_conversion),
                ("min_daily_budget", l.min_daily_budget),
                ("max_daily_budget", l.max_daily_budget),
                ("reference_daily_budget", l.reference_daily_budget),
            ] {
                if let Some(m) = m
                    && m.currency != req.currency
                {
                    errors.push(FieldError::new(
                        format!("platforms[{i}].{name}.currency"),
                        format!("Must be the request currency ({}).", req.currency),
                    ));
                }
            }
            if let Some(r) = l.reference_daily_budget
                && r.micros <= 0
            {
                errors.push(FieldError::new(
                    format!("platforms[{i}].reference_daily_budget"),
                    "The reference daily budget must be greater than zero.",
                ));
            }
        }
        if req.total_budget.currency != req.currency {
            errors.push(FieldError::new(
                "total_budget.currency",
                format!("Must be the request currency ({}).", req.currency),
            ));
        }
        if req.platforms.is_empty() {
            errors.push(FieldError::new("platforms", "Give at least one platform."));
        }
        if req.total_budget.micros <= 0 {
            errors.push(FieldError::new(
                "total_budget",
                "The total daily budget must be greater than zero.",
            ));
        }
        if !errors.is_empty() {
            return Err(TwinServiceError::Invalid(errors));
        }
        let to_fit: BTreeSet<Platform> = req
            .platforms
            .iter()
            .zip(&platforms)
            .filter(|(l, _)| l.curve.is_none())
            .map(|(_, p)| *p)
            .collect();
        let model = if to_fit.is_empty() {
            None
        } else {
            let settings = self.org_settings(org).await?;
            let today = self.now().date();
            let from = today - Duration::days(i64::from(self.config.history_days));
            let fit: Vec<Platform> = to_fit.into_iter().collect();
            let history = self
                .history(org, req.currency, from, today, Some(&fit))
                .await?;
            let ltv = self.ltv.platform_ltv(scope, req.currency).await;
            let input = EstimationInput {
                currency: req.currency,
                industry: settings.industry,
                platforms: fit.iter().map(|p| p.as_str().to_owned()).collect(),
                history,
                ltv,
                config: EstimationConfig::default(),
            };
            Some(
                tokio::task::spawn_blocking(move || kiki_twin::estimate(&input))
                    .await
                    .map_err(|e| TwinServiceError::Internal(format!("estimation task: {e}")))?
                    .map_err(|e| TwinServiceError::from_twin("", e))?,
            )
        };
        let margin = self.margin(scope).await?;
        let n = req.platforms.len() as i64;
        let equal_share = (req.total_budget.micros / n.max(1)).max(1);
        let micros = |m: Option<kiki_core::Money>| m.map(|m| m.micros);
        let mut sources = Vec::with_capacity(req.platforms.len());
        let mut lines = Vec::with_capacity(req.platforms.len());
        for (l, p) in req.platforms.iter().zip(&platforms) {
            let line = match (&l.curve, &model) {
                (Some(curve), _) => {
                    sources.push("supplied".to_owned());
                    PlatformCurveInput {
                        platform: l.platform.clone(),
                        ad_set_id: l.ad_set_id.clone(),
                        curve: *curve,
                        value_per_conversion_micros: micros(l.value_per_conversion).unwrap_or(0),
                        min_daily_budget_micros: micros(l.min_daily_budget).unwrap_or(0),
                        max_daily_budget_micros: micros(l.max_daily_budget),
                    }
                }
                (None, Some(m)) => {
                    let pm = m.find(*p, l.ad_set_id.as_deref()).ok_or_else(|| {
                        TwinServiceError::Internal(format!("no fitted model for {p:?}"))
                    })?;
                    sources.push("fitted".to_owned());
                    let mut line = PlatformCurveInput::from_model(
                        pm,
                        req.value_basis,
                        micros(l.reference_daily_budget).unwrap_or(equal_share),
                        micros(l.min_daily_budget).unwrap_or(0),
                        micros(l.max_daily_budget),
                    );
                    line.ad_set_id = l.ad_set_id.clone();
                    if let Some(v) = l.value_per_conversion {
                        line.value_per_conversion_micros = v.micros;
                    }
                    line
                }
                (None, None) => {
                    return Err(TwinServiceError::Internal(
                        "a line without a curve and no fitted model".into(),
                    ));
                }
            };
            lines.push(line);
        }
        let request = AllocationRequest {
            currency: req.currency,
            total_budget_micros: req.total_budget.micros,
            objective: req.objective,
            platforms: lines,
            target: req.target,
            contribution_margin: margin.contribution_margin,
        };
        let result = tokio::task::spawn_blocking(move || kiki_allocator::allocate(&request))
            .await
            .map_err(|e| TwinServiceError::Internal(format!("allocation task: {e}")))?
            .map_err(|e| match TwinServiceError::from_alloc("", e) {
                // The engine's request names amounts `<name>_micros`; the
                // API's are money objects named `<name>`.
                TwinServiceError::Invalid(fields) => TwinServiceError::Invalid(
                    fields
                        .into_iter()
                        .map(|f| FieldError::new(f.field.replace("_micros", ""), f.message))
                        .collect(),
                ),
                other => other,
            })?;
        Ok(AllocationResponse {
            result,
            curve_sources: sources,
            margin,
        })
    }
}

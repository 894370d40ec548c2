//! Creatives: variants written by the template engine (or a person), each
//! reviewed against the ad policy, the brand-safety rules of the
//! organisation and the platform's copy limits. A rejected creative puts its
//! campaign on `safety_hold` until it is fixed or removed.

use kiki_creative::{AdCopy, Channel, Verdict};

use super::*;
use crate::store::creatives::CreativeRow;

/// An image or video address a platform can fetch.
fn media_url_ok(url: &str) -> bool {
    (url.starts_with("https://") || url.starts_with("http://"))
        && url.len() <= 2_048
        && !url.contains(kiki_core::is_schema_space)
        && url.split("://").nth(1).is_some_and(|rest| {
            rest.split(['/', '?', '#'])
                .next()
                .is_some_and(|host| !host.is_empty())
        })
}

fn copy_problems(copy: &AdCopy, media_url: Option<&str>) -> Vec<kiki_core::FieldError> {
    let mut errors = Vec::new();
    if copy.fields().is_empty() {
        errors.push(kiki_core::FieldError::new(
            "copy",
            "At least one headline, description, primary text or path.",
        ));
    }
    for (field, text) in copy.fields() {
        if text.chars().count() > 5_000 {
            errors.push(kiki_core::FieldError::new(
                format!("copy.{field}"),
                "At most 5000 characters.",
            ));
        }
    }
    if copy.fields().len() > 100 {
        errors.push(kiki_core::FieldError::new(
            "copy",
            "At most 100 pieces of copy.",
        ));
    }
    if let Some(u) = media_url
        && !media_url_ok(u)
    {
        errors.push(kiki_core::FieldError::new(
            "media_url",
            "An http or https address with a host, up to 2048 characters.",
        ));
    }
    errors
}

impl CreativeRow {
    pub(crate) fn into_view(self) -> Result<CreativeView> {
        let bad = |what: &str, e: &dyn std::fmt::Display| {
            CampaignsError::Internal(format!(
                "creative {}: stored {what} unreadable: {e}",
                self.id
            ))
        };
        let channel = channel_of(&self.channel).ok_or_else(|| bad("channel", &self.channel))?;
        let source =
            CreativeSource::parse(&self.source).ok_or_else(|| bad("source", &self.source))?;
        let copy = serde_json::from_value(self.copy.0.clone()).map_err(|e| bad("copy", &e))?;
        let review: CreativeReview =
            serde_json::from_value(self.review.0.clone()).map_err(|e| bad("review", &e))?;
        let image = self
            .image
            .as_ref()
            .map(|v| serde_json::from_value(v.0.clone()))
            .transpose()
            .map_err(|e| bad("image", &e))?;
        let video = self
            .video
            .as_ref()
            .map(|v| serde_json::from_value(v.0.clone()))
            .transpose()
            .map_err(|e| bad("video", &e))?;
        Ok(CreativeView {
            id: self.id,
            org_id: self.org_id,
            campaign_id: self.campaign_id,
            channel,
            source,
            variation: u32::try_from(self.variation).unwrap_or(0),
            copy,
            image,
            video,
            media_url: self.media_url,
            verdict: review.verdict,
            review,
            rating: self.rating.and_then(|r| u8::try_from(r).ok()),
            created_by: self.created_by,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

/// One creative to store.
struct Draft {
    channel: Channel,
    source: CreativeSource,
    variation: u32,
    copy: AdCopy,
    image: Option<Value>,
    video: Option<Value>,
    media_url: Option<String>,
}

impl CampaignsService {
    /// `POST /v1/creatives/review`: the review of copy, stored nowhere.
    pub async fn review(&self, scope: &TenantScope, req: ReviewRequest) -> Result<CreativeReview> {
        let errors = copy_problems(&req.copy, None);
        if !errors.is_empty() {
            return Err(CampaignsError::Invalid(errors));
        }
        let settings = self.settings_of(scope.org_id()).await?;
        Ok(review_copy(req.channel, &req.copy, &settings.policy))
    }

    /// Stores creatives with their reviews; a rejected one on a campaign
    /// puts the campaign on safety hold (a rule's move, with its decision
    /// record). Returns the ids in order.
    async fn store_creatives(
        &self,
        p: &Principal,
        meta: &RequestMeta,
        campaign: Option<Uuid>,
        drafts: Vec<Draft>,
    ) -> Result<Vec<Uuid>> {
        let org = p.scope.org_id();
        let campaign_row = match campaign {
            Some(c) => Some(self.row(org, c).await?),
            None => None,
        };
        let settings = self.settings_of(org).await?;
        let actor = p.actor();
        let by = actor_text(&actor);
        let now = self.now();
        let mut ids = Vec::with_capacity(drafts.len());
        let mut rejected = Vec::new();
        let mut tx = self.record.begin().await?;
        for d in drafts {
            let review = review_copy(d.channel, &d.copy, &settings.policy);
            let id = Uuid::now_v7();
            if review.verdict == Verdict::Rejected {
                rejected.push(id);
            }
            store::creatives::insert(
                &mut tx,
                store::creatives::NewCreative {
                    id,
                    org,
                    campaign,
                    channel: channel_name(d.channel),
                    source: d.source.as_str(),
                    variation: d.variation,
                    copy: json_of(&d.copy)?,
                    image: d.image,
                    video: d.video,
                    media_url: d.media_url.as_deref(),
                    verdict: verdict_name(review.verdict),
                    review: json_of(&review)?,
                    by: &by,
                    now,
                },
            )
            .await?;
            tx.audit(
                audit_event(org, actor.clone(), "campaigns.creative.created", Some(meta))
                    .target("creative", id)
                    .details(json!({
                        "campaign_id": campaign,
                        "source": d.source,
                        "verdict": review.verdict,
                        "rules": review.policy.findings.iter().map(|f| f.rule).collect::<Vec<_>>(),
                    })),
            )
            .await?;
            ids.push(id);
        }
        if let Some(row) = campaign_row {
            self.hold_if_rejected(&mut tx, &row, &rejected, actor, meta)
                .await?;
        }
        tx.commit().await?;
        Ok(ids)
    }

    /// Puts `row` on safety hold when `rejected` names creatives and its
    /// status allows a hold.
    async fn hold_if_rejected(
        &self,
        tx: &mut Change<'_>,
        row: &CampaignRow,
        rejected: &[Uuid],
        actor: Actor,
        meta: &RequestMeta,
    ) -> Result<()> {
        if rejected.is_empty() || next_status(row.status()?, Action::Hold).is_err() {
            return Ok(());
        }
        let ids: Vec<String> = rejected.iter().map(Uuid::to_string).collect();
        let reason = format!("The policy review rejected creative {}.", ids.join(", "));
        store::approvals::withdraw_pending(tx, row.org(), row.id, None, self.now()).await?;
        self.apply_move(
            tx,
            row,
            Move {
                action: Action::Hold,
                actor,
                reason: Some(&reason),
                automated: Some(format!(
                    "{reason} A campaign with a rejected creative cannot run; it leaves the hold (back to draft) once the creative is fixed or removed."
                )),
                extras: Default::default(),
                meta: Some(meta),
            },
        )
        .await?;
        Ok(())
    }

    async fn creative_views(&self, scope: &TenantScope, ids: &[Uuid]) -> Result<Vec<CreativeView>> {
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            out.push(
                self.creative(scope, *id)
                    .await?
                    .ok_or(CampaignsError::NotFound("creative"))?,
            );
        }
        Ok(out)
    }

    /// `POST /v1/creatives/generate`: variants from the brief by the
    /// built-in template engine, each reviewed and stored.
    pub async fn generate(
        &self,
        p: &Principal,
        meta: &RequestMeta,
        req: GenerateRequest,
    ) -> Result<Vec<CreativeView>> {
        let max = self.config.max_variants;
        if req.count == 0 || req.count > max {
            return Err(CampaignsError::field(
                "count",
                format!("1 to {max} variants."),
            ));
        }
        let b = &req.brief;
        let mut errors = Vec::new();
        for (field, value, limit) in [
            ("brief.brand", &b.brand, 100),
            ("brief.product", &b.product, 200),
            ("brief.key_message", &b.key_message, 500),
            ("brief.audience", &b.audience, 500),
            ("brief.industry", &b.industry, 50),
            ("brief.landing_url", &b.landing_url, 2_048),
        ] {
            let n = kiki_core::trim_schema(value).chars().count();
            if n == 0 || value.chars().count() > limit {
                errors.push(kiki_core::FieldError::new(
                    field,
                    format!("1 to {limit} characters, not only spaces."),
                ));
            }
        }
        if b.visual_guidelines.len() > 20
            || b.visual_guidelines.iter().any(|g| g.chars().count() > 500)
        {
            errors.push(kiki_core::FieldError::new(
                "brief.visual_guidelines",
                "At most 20 guidelines of up to 500 characters.",
            ));
        }
        if b.call_to_action
            .as_ref()
            .is_some_and(|c| kiki_core::trim_schema(c).is_empty() || c.chars().count() > 60)
        {
            errors.push(kiki_core::FieldError::new(
                "brief.call_to_action",
                "1 to 60 characters, not only spaces.",
            ));
        }
        if !errors.is_empty() {
            return Err(CampaignsError::Invalid(errors));
        }
        let (variants, source) = self
            .write_variants(p, meta, b, req.channel, req.count)
            .await?;
        let drafts = variants
            .into_iter()
            .map(|v| {
                Ok(Draft {
                    channel: v.channel,
                    source,
                    variation: v.variation,
                    copy: v.copy,
                    image: Some(json_of(&v.image)?),
                    video: Some(json_of(&v.video)?),
                    media_url: None,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let ids = self
            .store_creatives(p, meta, req.campaign_id, drafts)
            .await?;
        self.creative_views(&p.scope, &ids).await
    }

    /// Variants from the configured language model (fitted to the channel's
    /// limits), else, or when it fails, from the template engine.
    async fn write_variants(
        &self,
        p: &Principal,
        meta: &RequestMeta,
        brief: &kiki_creative::CreativeBrief,
        channel: Channel,
        count: u32,
    ) -> Result<(Vec<kiki_creative::CreativeVariant>, CreativeSource)> {
        let Some(llm) = self.llm_for(&p.scope).await? else {
            return Ok((
                kiki_creative::generate(brief, channel, count),
                CreativeSource::Template,
            ));
        };
        let limits: Vec<String> = channel
            .limits()
            .iter()
            .map(|l| {
                format!(
                    "{:?}: {}..={} pieces of at most {} characters",
                    l.field, l.min_count, l.max_count, l.max_chars
                )
            })
            .collect();
        let system = format!(
            "You write ad copy for {} ads. Write exactly {count} distinct variants. Follow the brief; \
             make no claim the brief does not make (no guarantees, no superlatives without a source, \
             no questions about the reader's personal attributes, no capitals for emphasis). The \
             platform's limits: {}. Answer with one JSON object that follows this JSON Schema:\n{}",
            channel.display_name(),
            limits.join("; "),
            kiki_creative::copy_answer_schema()
        );
        let user = serde_json::to_string_pretty(brief)?;
        let model = llm.config().model.clone();
        let answer = llm
            .ask_json::<kiki_creative::CopyAnswer>(&system, &user, |a| a.validate())
            .await;
        let org = p.scope.org_id();
        let (variants, source, details) = match answer {
            Ok(a) => {
                let mut v = kiki_creative::fit_answer(brief, channel, &a.value);
                v.truncate(count as usize);
                (
                    v,
                    CreativeSource::Llm,
                    json!({"writer": "llm", "model": model, "repaired": a.repaired, "usage": a.usage, "transcript": a.transcript}),
                )
            }
            Err(e) => {
                tracing::warn!(error = %e, model = %model, "copy model failed; template engine used");
                (
                    kiki_creative::generate(brief, channel, count),
                    CreativeSource::Template,
                    json!({"writer": "template", "model": model, "fallback_reason": kiki_core::DomainError::public_message(&e)}),
                )
            }
        };
        let mut tx = self.record.begin().await?;
        tx.audit(
            audit_event(org, p.actor(), "campaigns.creative.asked_model", Some(meta))
                .details(details),
        )
        .await?;
        tx.commit().await?;
        Ok((variants, source))
    }

    /// `POST /v1/creatives`: a creative a person wrote, reviewed and stored.
    pub async fn create_creative(
        &self,
        p: &Principal,
        meta: &RequestMeta,
        req: NewCreative,
    ) -> Result<CreativeView> {
        let errors = copy_problems(&req.copy, req.media_url.as_deref());
        if !errors.is_empty() {
            return Err(CampaignsError::Invalid(errors));
        }
        let ids = self
            .store_creatives(
                p,
                meta,
                req.campaign_id,
                vec![Draft {
                    channel: req.channel,
                    source: CreativeSource::User,
                    variation: 0,
                    copy: req.copy,
                    image: None,
                    video: None,
                    media_url: req.media_url,
                }],
            )
            .await?;
        Ok(self.creative_views(&p.scope, &ids).await?.remove(0))
    }

    /// `PUT /v1/creatives/{id}`: new copy, reviewed again.
    pub async fn update_creative(
        &self,
        p: &Principal,
        meta: &RequestMeta,
        id: Uuid,
        req: CreativeUpdate,
    ) -> Result<CreativeView> {
        let errors = copy_problems(&req.copy, req.media_url.as_deref());
        if !errors.is_empty() {
            return Err(CampaignsError::Invalid(errors));
        }
        let org = p.scope.org_id();
        let row = store::creatives::get(&self.db, org, id)
            .await?
            .ok_or(CampaignsError::NotFound("creative"))?;
        let channel = channel_of(&row.channel).ok_or_else(|| {
            CampaignsError::Internal(format!("creative {id}: channel {}", row.channel))
        })?;
        let settings = self.settings_of(org).await?;
        let review = review_copy(channel, &req.copy, &settings.policy);
        let campaign = match row.campaign_id {
            Some(c) => store::campaigns::get(&self.db, org, c).await?,
            None => None,
        };
        let actor = p.actor();
        let mut tx = self.record.begin().await?;
        if !store::creatives::rewrite(
            &mut tx,
            org,
            id,
            json_of(&req.copy)?,
            req.media_url.as_deref(),
            verdict_name(review.verdict),
            json_of(&review)?,
            self.now(),
        )
        .await?
        {
            return Err(CampaignsError::NotFound("creative"));
        }
        tx.audit(
            audit_event(org, actor.clone(), "campaigns.creative.updated", Some(meta))
                .target("creative", id)
                .details(json!({ "verdict": review.verdict })),
        )
        .await?;
        if let Some(c) = campaign
            && review.verdict == Verdict::Rejected
        {
            self.hold_if_rejected(&mut tx, &c, &[id], actor, meta)
                .await?;
        }
        tx.commit().await?;
        self.creative(&p.scope, id)
            .await?
            .ok_or(CampaignsError::NotFound("creative"))
    }

    /// `DELETE /v1/creatives/{id}`: removed from use (kept for the record).
    pub async fn remove_creative(&self, p: &Principal, meta: &RequestMeta, id: Uuid) -> Result<()> {
        let org = p.scope.org_id();
        let mut tx = self.record.begin().await?;
        if !store::creatives::remove(&mut tx, org, id, self.now()).await? {
            return Err(CampaignsError::NotFound("creative"));
        }
        tx.audit(
            audit_event(org, p.actor(), "campaigns.creative.removed", Some(meta))
                .target("creative", id),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// `POST /v1/creatives/{id}/image`: an image from the creative's image
    /// prompt through the configured images endpoint; its address becomes
    /// the creative's media.
    pub async fn generate_image(
        &self,
        p: &Principal,
        meta: &RequestMeta,
        id: Uuid,
        req: ImageRequest,
    ) -> Result<CreativeView> {
        let org = p.scope.org_id();
        let creative = self
            .creative(&p.scope, id)
            .await?
            .ok_or(CampaignsError::NotFound("creative"))?;
        let Some(llm) = self
            .llm_for(&p.scope)
            .await?
            .filter(|l| l.config().image_model.is_some())
        else {
            return Err(CampaignsError::Conflict(
                "No image model is configured (`[campaigns.llm] image_model`, or `image_model` in PUT /v1/campaign-settings/llm); the creative's image prompt is there for your own tools.".into(),
            ));
        };
        let prompt = match &creative.image {
            Some(i) => format!("{} Avoid: {}.", i.prompt, i.negative_prompt),
            None => format!(
                "An advertising image for: {}",
                creative
                    .copy
                    .fields()
                    .iter()
                    .map(|(_, t)| *t)
                    .collect::<Vec<_>>()
                    .join(" / ")
            ),
        };
        let size = req.size.unwrap_or(ImageSize::Square);
        let answer = llm
            .generate_image(&prompt, size.as_str())
            .await
            .map_err(|e| {
                CampaignsError::Conflict(format!(
                    "The images endpoint gave no image: {}",
                    kiki_core::DomainError::public_message(&e)
                ))
            })?;
        let Some(url) = answer
            .url
            .filter(|u| u.starts_with("https://") || u.starts_with("http://"))
        else {
            return Err(CampaignsError::Conflict(
                "The images endpoint answered with image data but no address; configure it to answer with URLs.".into(),
            ));
        };
        let mut tx = self.record.begin().await?;
        if !store::creatives::set_media(&mut tx, org, id, &url, self.now()).await? {
            return Err(CampaignsError::NotFound("creative"));
        }
        tx.audit(
            audit_event(
                org,
                p.actor(),
                "campaigns.creative.image_generated",
                Some(meta),
            )
            .target("creative", id)
            .details(json!({
                "model": llm.config().image_model,
                "size": size.as_str(),
                "prompt": llm.redact(&prompt),
                "revised_prompt": answer.revised_prompt,
            })),
        )
        .await?;
        tx.commit().await?;
        self.creative(&p.scope, id)
            .await?
            .ok_or(CampaignsError::NotFound("creative"))
    }

    /// `POST /v1/creatives/{id}/rating`.
    pub async fn rate_creative(
        &self,
        p: &Principal,
        id: Uuid,
        req: RatingRequest,
    ) -> Result<CreativeView> {
        if !(1..=5).contains(&req.stars) {
            return Err(CampaignsError::field("stars", "1 to 5."));
        }
        let org = p.scope.org_id();
        if !store::creatives::set_rating(&self.db, org, id, req.stars, self.now()).await? {
            return Err(CampaignsError::NotFound("creative"));
        }
        self.creative(&p.scope, id)
            .await?
            .ok_or(CampaignsError::NotFound("creative"))
    }

    /// A creative of the active organisation.
    pub async fn creative(&self, scope: &TenantScope, id: Uuid) -> Result<Option<CreativeView>> {
        store::creatives::get(&self.db, scope.org_id(), id)
            .await?
            .map(CreativeRow::into_view)
            .transpose()
    }

    /// The creatives with these ids in the organisations the scope reaches
    /// (an agency's clients included), removed ones too (their ads'
    /// figures remain): what analytics labels creative variants with. At
    /// most 1000 ids are read; an unknown id is left out.
    pub async fn creatives_by_ids(
        &self,
        scope: &TenantScope,
        ids: &[Uuid],
    ) -> Result<Vec<CreativeView>> {
        store::creatives::by_ids(&self.db, scope.reachable(), ids)
            .await?
            .into_iter()
            .map(CreativeRow::into_view)
            .collect()
    }

    /// The creative library, newest first, optionally of one campaign.
    pub async fn creatives(
        &self,
        scope: &TenantScope,
        campaign: Option<Uuid>,
        page: &PageRequest,
    ) -> Result<Page<CreativeView>> {
        let limit = page.limit();
        let key = key_of(page)?;
        let rows =
            store::creatives::list(&self.db, scope.org_id(), campaign, page.fetch(), key).await?;
        let items = rows
            .into_iter()
            .map(CreativeRow::into_view)
            .collect::<Result<Vec<_>>>()?;
        Ok(Page::keyset(items, limit, |v| (v.created_at, v.id)))
    }
}

/// A verdict's stored name.
fn verdict_name(v: Verdict) -> &'static str {
    match v {
        Verdict::Approved => "approved",
        Verdict::NeedsReview => "needs_review",
        Verdict::Rejected => "rejected",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdict_names_are_their_serde_names() {
        for v in [Verdict::Approved, Verdict::NeedsReview, Verdict::Rejected] {
            assert_eq!(
                serde_json::to_value(v).unwrap(),
                Value::String(verdict_name(v).into())
            );
        }
    }

    #[test]
    fn media_addresses_need_a_scheme_and_a_host() {
        assert!(media_url_ok("https://cdn.example/a.png"));
        assert!(!media_url_ok("ftp://cdn.example/a.png"));
        assert!(!media_url_ok("https:///a.png"));
        assert!(!media_url_ok("https://cdn.example/a b.png"));
    }
}

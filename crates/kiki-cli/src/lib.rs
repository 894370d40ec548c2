//! The module list of `kiki serve`: every bounded context the binary mounts,
//! with the wiring between them written in one place. The binary, the
//! generated tenant-isolation test and the document snapshots read it.
//! Also the live demo (`kiki serve --demo`), which its tests seed too.

pub mod demo;

/// Every service module `kiki serve` mounts, in start-up order, and how they
/// are wired to each other: the one place a context's dependency on another
/// is stated. A module wired to another's service fails start-up, naming
/// both, when that module is not listed before it.
pub fn modules() -> Vec<std::sync::Arc<dyn kiki_server::Module>> {
    use kiki_bidder_service::BidderModule;
    use kiki_ltv_service::LtvModule;
    use kiki_twin_service::TwinModule;
    vec![
        // Sign-in, organisations, members, API keys, audit log, decisions.
        std::sync::Arc::new(kiki_identity_service::IdentityModule::new()),
        std::sync::Arc::new(LtvModule::new()),
        // Segment values follow the LTV model.
        std::sync::Arc::new(BidderModule::new().with_ltv_module()),
        // Simulations and the rebalancer read LTV per platform.
        std::sync::Arc::new(TwinModule::new().with_ltv_module()),
        // Ad platforms: connections, the sandbox market, the performance
        // sync into the twin's history and (sandbox) the LTV transactions.
        std::sync::Arc::new(
            kiki_platforms_service::PlatformsModule::new()
                .with_twin_module()
                .with_ltv_module(),
        ),
        // Campaigns: the launch gate runs on the twin; the planner reads LTV.
        // KIKI programmatic ad sets run as the bidder's line items; the
        // others on their platforms through the organisation's connections.
        std::sync::Arc::new(
            kiki_campaigns_service::CampaignsModule::new()
                .with_ltv_module()
                .with_bidder_module()
                .with_platforms_module(),
        ),
        // Lift experiments: registered plans, KPI panels, analyses, designs.
        std::sync::Arc::new(kiki_lift_service::LiftModule::new()),
        // Conversions: click ids and pCVR are the bidder's (listed before).
        std::sync::Arc::new(kiki_conversions_service::ConversionsModule::new()),
        // Analytics: roll-ups fed by the platforms' metrics syncs and, as
        // platform `kiki`, by the bidder's delivery and the conversions
        // credited to its line items; creative variants labelled from the
        // campaigns' creatives; the summary's new customers from LTV, its
        // uplift from the twin.
        std::sync::Arc::new(
            kiki_analytics_service::AnalyticsModule::new()
                .with_platforms_module()
                .with_bidder_module()
                .with_conversions_module()
                .with_campaigns_module()
                .with_ltv_module()
                .with_twin_module(),
        ),
        // Notifications: approvals, rollbacks, the kill switch and platform
        // connections from their events; budgets (campaigns) against spend
        // and ROAS (analytics) when metrics land.
        std::sync::Arc::new(
            kiki_notifications_service::NotificationsModule::new()
                .with_campaigns_module()
                .with_analytics_module()
                .with_platforms_module(),
        ),
        // The web dashboard: its overview reads the analytics service.
        std::sync::Arc::new(kiki_dashboard::DashboardModule::new()),
    ]
}

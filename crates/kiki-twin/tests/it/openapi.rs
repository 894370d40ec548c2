//! Every type the service layer will expose has an OpenAPI schema.

use kiki_twin::{
    EstimationInput, GateConfig, GateDecision, MarketModel, MirrorConfig, MirrorReport, Plan,
    SimulationOptions, SimulationResult, TwinConfig, TwinReport, mirror::DailyActual,
};
use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(components(schemas(
    Plan,
    SimulationOptions,
    SimulationResult,
    TwinConfig,
    TwinReport,
    GateConfig,
    GateDecision,
    MarketModel,
    EstimationInput,
    DailyActual,
    MirrorConfig,
    MirrorReport
)))]
struct Doc;

#[test]
fn the_public_types_render_as_an_openapi_document() {
    let json = Doc::openapi().to_json().unwrap();
    for name in [
        "\"Plan\"",
        "\"TwinReport\"",
        "\"GateDecision\"",
        "\"MirrorReport\"",
    ] {
        assert!(json.contains(name), "{name} missing");
    }
    // Platforms are documented as the enum even though plans carry strings.
    assert!(json.contains("\"linkedin\""));
    assert!(json.contains("\"CRITICAL\""));
}

//! Mutual-exclusion layers: disjoint bucket ranges per member flag, plus an
//! optional holdout that gets every member's default variant.

use verdict_core::Layer;

use super::definition_routes::definition_routes;
use crate::flags::save_layer;

definition_routes! {
    definition: Layer,
    response: LayerResponse,
    saver: save_layer,
    tag: "layers",
    collection: "/api/v1/layers",
    item: "/api/v1/layers/{key}",
    example: json!({"key": "monetization", "holdout": {"start": 0, "end": 1000}, "members": [
        {"flag": "vip_paywall_copy", "range": {"start": 1000, "end": 5500}},
        {"flag": "cta_copy", "range": {"start": 5500, "end": 10000}}]}),
    summaries: [
        "Creates a layer.",
        "Lists every layer.",
        "Reads one layer.",
        "Replaces a layer (the key in the body must match the path).",
        "Deletes a layer (its flags return to their own targeting).",
    ],
    handlers: [create_layer, list_layers, get_layer, replace_layer, delete_layer],
}

//! Reusable audience segments (e.g. `vip_users`: `tier in [vip]`), referenced by
//! flag rules. Deleting a segment a flag uses is refused.

use verdict_core::Segment;

use super::definition_routes::definition_routes;
use crate::flags::save_segment;

definition_routes! {
    definition: Segment,
    response: SegmentResponse,
    saver: save_segment,
    tag: "segments",
    collection: "/api/v1/segments",
    item: "/api/v1/segments/{key}",
    example: json!({"key": "vip_users", "conditions": [{"attribute": "tier", "op": "in", "value": ["vip"]}]}),
    summaries: [
        "Creates a segment.",
        "Lists every segment.",
        "Reads one segment.",
        "Replaces a segment (the key in the body must match the path).",
        "Deletes a segment (refused while a flag rule uses it).",
    ],
    handlers: [create_segment, list_segments, get_segment, replace_segment, delete_segment],
}

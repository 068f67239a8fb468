//! Pure flag evaluation and deterministic variant assignment.

//! Pure statistics engine for experiment analysis.

//! Differential tests against Go kubefedctl v0.10.0 (being written).

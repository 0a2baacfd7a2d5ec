"""Internal helpers shared by every plastix module: errors, rng, validation."""

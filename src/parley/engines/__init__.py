"""Chat engines, prompt formats and stop-word filtering."""

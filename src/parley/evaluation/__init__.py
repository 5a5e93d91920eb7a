"""Quality measurements over the whole pipeline."""

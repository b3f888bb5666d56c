"""Reports: the evidence bundle of a run and what is rendered from it (HTML, exports)."""

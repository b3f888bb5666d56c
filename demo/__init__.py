"""The demo estate: its audit.toml, ARM estate, recording, evidence and the stand-ins it is recorded against."""

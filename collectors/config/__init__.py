"""The estate part of audit.toml, as typed settings the collectors and controls take.

One module per concern: `policy` (what "good" means), `inventory` (Azure, SSH hosts, TLS endpoints,
probes), `databases` (database servers and applications), `attestations` (what people vouch for),
`waivers` (accepted exceptions) and `estate` (`EstateConfig`, the sections together with the checks
that span them). The whole file, `[tickets]` included, is read by controls/harness/config_file.py.
"""

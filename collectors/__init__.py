"""Collectors: read-only I/O against the estate, turned into typed facts with provenance.

Collectors never judge; they gather what the controls need, once per run, and say where each
fact came from (API call or command, UTC time, sha256 of the raw response).
"""

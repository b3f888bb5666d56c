"""Hosts reached over SSH (paramiko): Windows through PowerShell over OpenSSH, and Linux."""

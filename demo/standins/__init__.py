"""Stand-ins for real infrastructure: the emulators and real servers the demo is recorded against.

The tests, demo/make_recording.py and the benchmarks (bench/) all start the same ones:

- `arm_emulator`: Azure Resource Manager over HTTPS, serving an estate file
  (`python -m demo.standins.arm_emulator demo/estate`);
- `sshd_server`: a real OpenSSH sshd with several "hosts" on loopback addresses;
  `windows_powershell` is the stand-in for powershell.exe it runs for Windows hosts,
  answering with the recorded fact-script outputs in `windows_recordings/`;
- `tls_servers`: real nginx and `openssl s_server` endpoints with certificates of a test CA;
- `postgres_server`: a real PostgreSQL cluster (initdb in a temporary folder);
  `postgres_clusters` plants the issue-6 faults in one and keeps another clean;
- `recorded_databases`: SQL Server catalog rows and a RavenDB server over HTTPS, answering from
  the recordings in `database_recordings/`;
- `smtp_server`: a real SMTP server (aiosmtpd) collecting the ticket e-mails;
- `ticket_emulators`: Jira, GitHub, Azure DevOps and a webhook receiver over HTTPS;
- `loopback`: free ports on loopback addresses.
"""

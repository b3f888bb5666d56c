"""Exposure probes: TCP connects from the auditor's own vantage point to sensitive ports.

Which ports an attacker can reach is checked the way an attacker sees it, from the network.
Targets are the `[[hosts]]` addresses × `policy.sensitive_ports`, the `[[probes]]` entries
and the SQL server FQDNs discovered in Azure (port 1433), de-duplicated by (address, port);
each `[[hosts]]` address is also connected to on the SSH port the auditor uses (a presence
probe: it proves the host is there, and is judged only if it is a sensitive port too). Every
connect is non-blocking with a timeout, run on a bounded thread pool, and its outcome is told
apart (the ICMP type and code, and who sent it, are read from the socket's error queue):

- `open`: the three-way handshake completed (something accepts connections);
- `refused`: a RST (ECONNREFUSED) came back, the host answers but nothing listens;
- `filtered`: no answer before the timeout, or ICMP "administratively prohibited" (a firewall
  rejecting), *and* the host is shown to be there: another probed port of the same address
  answered (open or refused), or the ICMP answer came from the address itself;
- `unreachable`: ICMP host or network unreachable (EHOSTUNREACH, ENETUNREACH without an
  administratively-prohibited code): never filtered;
- a name that does not resolve, a connect that the vantage point itself could not send (no
  local route, a local policy), or an address that answered on no probed port at all (host
  down, a mistyped address, every port dropped) is an `error` subject, "host unreachable from
  <vantage point>": it proves nothing either way, so it is never a pass.

The vantage point (host name, the source address the OS chose, when) is recorded in every
fact and in the Source call text, because "not reachable" only means something from where.

`facts` holds the fact the controls judge (`PortProbe`, free of I/O); `observations` what a run
observed, as a recording keeps it, and how that becomes subjects; `connect` sends one connect
and tells its answer apart; `collect` chooses the targets and runs them into `probes.ports`.
"""

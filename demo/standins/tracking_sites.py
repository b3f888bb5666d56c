"""A web shop and a stand-in analytics host on loopback, served by Debian's nginx, for 6d tests.

    with TrackingSites(tmp_path) as sites:
        args = [sites.host_resolver_rules()]   # Chromium: www.google-analytics.com -> loopback
        url = sites.page_url("/tracks-at-once.html")

One nginx serves two HTTPS servers on 127.0.0.1:
- the shop (`shop_port`): every answer sets a `PHPSESSID` session cookie; its pages are
  `/tracks-at-once.html` (loads the analytics script right away), `/asks-consent.html`
  (loads it only after the visitor clicks "Accept"), `/tracks-later.html` (loads it from a timer
2.5 s after the load event, when the network has long been idle), `/plain.html` (no script at all);
  anything else is 404;
- the analytics stand-in (`tracker_port`), answering for www.google-analytics.com: its
  `/analytics.js` sets a `_ga` cookie on the page (as Google's script does) and the response
  sets a third-party `_gid` cookie for google-analytics.com.

Chromium reaches the analytics host only through `--host-resolver-rules` (`host_resolver_rules()`),
so nothing leaves the machine. Certificates come from a trustme CA; the collector ignores
certificate errors, so the stand-in's certificate need not match the analytics name. Every
process is started here and stopped by its pid on exit.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from types import TracebackType

import trustme

from demo.standins.loopback import free_ports
from demo.standins.tls_servers import (
    MODERN_CIPHERS,
    CertFiles,
    issue_cert,
    nginx_binary,
    nginx_command,
    spawn,
    wait_for_port,
    write_nginx_conf,
)

TRACKER_HOST = "www.google-analytics.com"
ANALYTICS_SCRIPT = f"https://{TRACKER_HOST}/analytics.js"

PAGES = {
    "tracks-at-once.html": f"""<!doctype html>
<html lang="nl"><head><meta charset="utf-8"><title>Winkel</title>
<script async src="{ANALYTICS_SCRIPT}"></script>
</head><body><h1>Welkom</h1><p>Deze pagina laadt analytics meteen.</p></body></html>
""",
    "asks-consent.html": f"""<!doctype html>
<html lang="nl"><head><meta charset="utf-8"><title>Contact</title></head>
<body><h1>Contact</h1>
<div id="banner">Wij gebruiken cookies. <button id="accept">Accepteren</button></div>
<script>
document.getElementById("accept").addEventListener("click", function () {{
  var s = document.createElement("script");
  s.src = "{ANALYTICS_SCRIPT}";
  document.head.appendChild(s);
}});
</script>
</body></html>
""",
    "tracks-later.html": f"""<!doctype html>
<html lang="nl"><head><meta charset="utf-8"><title>Aanbiedingen</title></head>
<body><h1>Aanbiedingen</h1>
<script>
window.addEventListener("load", function () {{
  setTimeout(function () {{
    var s = document.createElement("script");
    s.src = "{ANALYTICS_SCRIPT}";
    document.head.appendChild(s);
  }}, 2500);
}});
</script>
</body></html>
""",
    "plain.html": """<!doctype html>
<html lang="nl"><head><meta charset="utf-8"><title>Over ons</title></head>
<body><h1>Over ons</h1></body></html>
""",
}

ANALYTICS_JS = """(function () {
  document.cookie = "_ga=GA1.1.1234567890.1700000000; path=/; max-age=63072000";
  var beacon = new Image();
  beacon.src = "https://www.google-analytics.com/collect?v=1&t=pageview";
})();
"""


def _nginx_string(text: str) -> str:
    """Return `text` as a single-quoted nginx string (the pages hold no single quote or backslash)."""
    if "'" in text or "\\" in text:
        raise ValueError("an nginx page text holds a single quote or a backslash")
    return "'" + text + "'"


class TrackingSites:
    """Starts one nginx serving the shop and the analytics stand-in; stops it (by pid) on exit."""

    def __init__(
        self,
        folder: Path,
        *,
        shop_cert: CertFiles | None = None,
        host: str = "127.0.0.1",
        hsts: str | None = None,
        modern_tls: bool = False,
    ) -> None:
        """The keywords serve the demo, whose shop is also judged by 6f and 12f: the shop's certificate
        (default: its own CA's, for shop.example), the host name of its URLs, a Strict-Transport-Security
        value, and TLS 1.2+ with forward-secret AEAD suites only (default: nginx's own settings)."""
        self.folder = folder
        self.shop_cert = shop_cert
        self.host = host
        self.hsts = hsts
        self.modern_tls = modern_tls
        self.process: subprocess.Popen[bytes] | None = None
        self.shop_port, self.tracker_port = free_ports(2)

    def __enter__(self) -> TrackingSites:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def page_url(self, path: str) -> str:
        """Return the shop's URL of `path` ("/tracks-at-once.html")."""
        return f"https://{self.host}:{self.shop_port}{path}"

    @property
    def shop_url(self) -> str:
        """Return the shop's endpoint URL (`https://127.0.0.1:<port>/`)."""
        return self.page_url("/")

    def host_resolver_rules(self) -> str:
        """Return the Chromium switch that sends the analytics host to the stand-in on loopback."""
        return f"--host-resolver-rules=MAP {TRACKER_HOST} 127.0.0.1:{self.tracker_port}"

    def start(self) -> None:
        """Write the pages, certificates and nginx.conf, start nginx and wait for both ports."""
        binary = nginx_binary()
        prefix = self.folder / "tracking-nginx"
        (prefix / "tmp").mkdir(parents=True, exist_ok=True)
        ca = trustme.CA()
        shop_cert = self.shop_cert or issue_cert(prefix, ca, "shop", "shop.example")
        tracker_cert = issue_cert(prefix, ca, "tracker", TRACKER_HOST)
        shop_pages = "".join(
            f"location = /{name} {{ default_type text/html; return 200 {_nginx_string(text)}; }}\n        "
            for name, text in PAGES.items()
        )
        hsts = f'add_header Strict-Transport-Security "{self.hsts}" always;' if self.hsts else ""
        if self.modern_tls:
            hsts += f"\n        ssl_protocols TLSv1.2 TLSv1.3;\n        ssl_ciphers {MODERN_CIPHERS};"
        servers = f"""server {{
        listen 127.0.0.1:{self.shop_port} ssl;
        ssl_certificate {shop_cert.cert};
        ssl_certificate_key {shop_cert.key};
        add_header Set-Cookie "PHPSESSID=3f9c2a; Path=/; HttpOnly; Secure; SameSite=Lax" always;
        {hsts}
        {shop_pages}location / {{ return 404; }}
    }}
    server {{
        listen 127.0.0.1:{self.tracker_port} ssl;
        ssl_certificate {tracker_cert.cert};
        ssl_certificate_key {tracker_cert.key};
        add_header Set-Cookie "_gid=GA1.1.987; Domain=google-analytics.com; Path=/; Secure; SameSite=None";
        location = /analytics.js {{ default_type application/javascript; return 200 {_nginx_string(ANALYTICS_JS)}; }}
        location = /collect {{ default_type image/gif; return 200 "GIF89a"; }}
        location / {{ return 404; }}
    }}"""
        config = write_nginx_conf(
            prefix,
            servers,
            connections=256,
            types="text/html html; application/javascript js; image/gif gif;",
        )
        self.process = spawn(
            nginx_command(binary, prefix, config), prefix / "stdout.log", stdin=subprocess.DEVNULL
        )
        wait_for_port(self.shop_port, self.process, prefix / "error.log")
        wait_for_port(self.tracker_port, self.process, prefix / "error.log")

    def stop(self) -> None:
        """Stop the nginx this harness started (by its pid)."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        self.process = None

"""Web pages opened in headless Chromium with no consent given, as facts for 6d.tracking-after-consent."""

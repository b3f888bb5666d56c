"""Local HTTPS emulators of ticket trackers (Jira Cloud, GitHub; base.py is shared with other emulators)."""

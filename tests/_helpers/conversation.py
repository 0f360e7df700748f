"""The test user and her first prompt, for the tests that need no particular ones."""

from __future__ import annotations

ALICE = {"next-auth.session-token": "alice"}  # a session cookie: any value signs in to the mock
HELLO = [{"role": "user", "content": "hello"}]

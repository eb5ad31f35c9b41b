"""The reliability suite: crashes, concurrency, faults, hostile input and secrets.

Each module drives ripen the way a user's machine would stress it (a process
killed mid-round, two terminals on one session, a flaky service, odd text and
files) and asserts what the user cares about: every paid round kept, no credit
charged for a failure, no file half-written, no key written down. Every test is
bounded in time so the whole suite fits a CI run.
"""

"""The one base of every failure a user should read.

Its message says what was wrong and what to do next; the command line and every step print it as one line
and exit 1 (``medallion.runtime.failures``). Each module's own error derives from it, so one type is caught.
"""

from __future__ import annotations


class MedallionError(Exception):
    """A failure whose message is written for the person running the command."""


class StepFailed(MedallionError, RuntimeError):
    """A step cannot finish; the message says why and what to do."""

"""The test runner behind ``make test-django-suite``: Django's own runner, plus an outcome file.

``runtests.py`` takes its runner from ``settings.TEST_RUNNER`` (``settings.py`` in this directory sets it).
With ``LIFECYCLE_SUITE=on``, lifecycle's instruments are installed once, before the tests (and before
``--parallel`` forks its workers), without adding the app to INSTALLED_APPS (Django's tests list their own
apps: adding one changes what some of them check, which is an artefact of the test settings, not
something a site meets), and every test runs inside an open trace that is finished and summarized after
it, as a request's would be. With ``LIFECYCLE_SUITE=off`` the same runner runs the same tests plainly.

Either way each test's outcome is written to ``LIFECYCLE_SUITE_OUTCOMES`` (JSON: test id -> "pass",
"fail", "error", "skip", "xfail" or "xpass"), which ``run.py`` compares.
"""

from __future__ import annotations

import json
import os
import unittest

from django.test.runner import DiscoverRunner

ON = os.environ.get("LIFECYCLE_SUITE") == "on"


class OutcomeResult(unittest.TextTestResult):
    """A text result that also remembers each test's outcome (the parent's result under --parallel,
    which the workers' events are replayed into)."""

    outcomes: dict[str, str] = {}

    def _note(self, test, outcome: str) -> None:
        test_id = test.id() if hasattr(test, "id") else str(test)
        # A test that fails after succeeding (tearDown, subtests) keeps its worst outcome.
        if self.outcomes.get(test_id) in ("fail", "error") and outcome == "pass":
            return
        self.outcomes[test_id] = outcome

    def addSuccess(self, test):
        super().addSuccess(test)
        self._note(test, "pass")

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self._note(test, "fail")

    def addError(self, test, err):
        super().addError(test, err)
        self._note(test, "error")

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        self._note(test, "skip")

    def addExpectedFailure(self, test, err):
        super().addExpectedFailure(test, err)
        self._note(test, "xfail")

    def addUnexpectedSuccess(self, test):
        super().addUnexpectedSuccess(test)
        self._note(test, "xpass")

    def addSubTest(self, test, subtest, err):
        super().addSubTest(test, subtest, err)
        if err is not None:
            self._note(test, "fail" if issubclass(err[0], test.failureException) else "error")


def _trace_every_test() -> None:
    """Run each test (unittest's ``TestCase.run``) inside a trace of its own."""
    from lifecycle import safety
    from lifecycle.instruments import install_all
    from lifecycle.recorder import Recording
    from lifecycle.redact.trace import redact_trace
    from lifecycle.summary import finalize

    install_all()
    original_run = unittest.TestCase.run

    def run(self, result=None):
        rec = Recording("request", self.id(), {"test": self.id()}, max_spans=5000)
        rec.activate()
        try:
            return original_run(self, result)
        finally:
            rec.deactivate()
            try:
                rec.end(rec.request_span)
                finalize(redact_trace(rec.finish(), rec.secrets))
            except Exception as exc:
                safety.report("finishing a test's trace", exc)
            if safety.failures and safety.failures != _written:
                _write_failures(safety.failures)

    unittest.TestCase.run = run


_written: dict[str, int] = {}  # what _write_failures last wrote in this process


def _write_failures(failures: dict[str, int]) -> None:
    """The recorder's failures in this process (a --parallel worker has its own), beside the outcomes."""
    _written.clear()
    _written.update(failures)
    path = os.environ.get("LIFECYCLE_SUITE_OUTCOMES")
    if path:
        with open(f"{path}.{os.getpid()}.failures", "w") as out:
            json.dump(failures, out, sort_keys=True)


class Runner(DiscoverRunner):
    def setup_test_environment(self, **kwargs):
        super().setup_test_environment(**kwargs)
        if ON:
            _trace_every_test()

    def get_resultclass(self):
        # Django's --debug-sql / --pdb results are not used by run.py.
        return OutcomeResult

    def run_suite(self, suite, **kwargs):
        try:
            return super().run_suite(suite, **kwargs)
        finally:
            path = os.environ.get("LIFECYCLE_SUITE_OUTCOMES")
            if path:
                from lifecycle import safety

                with open(path, "w") as out:
                    json.dump(OutcomeResult.outcomes, out, indent=0, sort_keys=True)
                if safety.failures:
                    _write_failures(safety.failures)

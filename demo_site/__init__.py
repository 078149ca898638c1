"""The demo project: a small bookshop instrumented by django-request-lifecycle; also the test project."""

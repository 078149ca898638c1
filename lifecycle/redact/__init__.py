"""Redaction: one policy for every carrier; secrets are replaced before anything leaves the process.

- ``words``: the policy. Which names are secret (``REDACT_FIELDS``, ``REDACT_HEADERS``,
  ``REDACT_WHOLE_NAMES``, matched as words: ``auth`` is secret, ``author`` is not) and which values look
  like credentials (JWTs, ``Bearer ...``).
- ``values``: each carrier by that policy: query strings and fragments, URLs (userinfo, URL-valued headers
  such as ``Referer`` and ``Location``), request and response headers, bodies of any content type (form,
  JSON with its ``{"name": "password", "value": ...}`` shape, ``key=value`` text, XML), free text
  (exception messages), SQL parameters (``REDACT_SQL_PATTERNS``), cache keys.
- ``paths``: URL path arguments with secret names (``reset/<uidb64>/<token>/``), before and after
  resolution.
- ``marks``: what views mark with Django's ``@sensitive_post_parameters`` and ``@sensitive_variables``.
- ``trace``: a finished trace, before its summary: SQL parameters, and known secret values everywhere.

``tests/test_redaction.py`` plants a secret in each carrier and searches every output for it.
"""

from __future__ import annotations

from lifecycle.conf import REDACTED
from lifecycle.redact import marks, paths
from lifecycle.redact.values import (
    ALL,
    URL_HEADERS,
    body,
    cache_key,
    cap,
    error,
    form_value,
    header_value,
    headers,
    json_value,
    pairs,
    query_string,
    response_headers,
    scrub,
    sensitive_sql,
    sql_param_values,
    sql_params,
    text,
    url,
    value,
)
from lifecycle.redact.words import looks_secret, sensitive_header, sensitive_name, words_of

__all__ = [
    "ALL", "REDACTED", "URL_HEADERS", "body", "cache_key", "cap", "error", "form_value", "header_value", "headers",
    "json_value", "looks_secret", "marks", "pairs", "paths", "query_string", "response_headers", "scrub",
    "sensitive_header", "sensitive_name", "sensitive_sql", "sql_param_values", "sql_params", "text", "url", "value",
    "words_of",
]

"""``LifecycleMiddleware``: the first entry of MIDDLEWARE; one trace per request.

It opens a :class:`~lifecycle.recorder.Recording` in a ContextVar, lets the instruments add spans while
the rest of the chain runs, then finishes the trace, keeps it in the recent-trace store and hands it to
the publisher. A streaming response's trace ends when the server closes the response, and its content
is produced with the recording active, so queries made while streaming are part of it. A response whose
content is the server's business is left as it is: a ``FileResponse`` hands its file to the WSGI
server's ``wsgi.file_wrapper`` (sendfile) only while its content is its own, so its ``stream`` span
runs from the view's return to the response's close, when the server has sent the last byte.

The request is the site's: the middleware reads nothing of it before the view, and captures its body at
the end from what the site itself read (``lifecycle.capture.add_body``).

Nothing here may break a request: a failure of ours is logged once (``lifecycle.safety``) and the
request goes on as if the recorder were not installed.
"""

from __future__ import annotations

from functools import partial

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.conf import settings
from django.http import FileResponse, StreamingHttpResponse

from lifecycle import capture, conf, frames, policy, redact, store
from lifecycle.export import stream as otlp_stream
from lifecycle.live.publisher import get_publisher
from lifecycle.recorder import Recording, clear_current, current
from lifecycle.redact.trace import redact_trace
from lifecycle.safety import report
from lifecycle.summary import finalize


class LifecycleMiddleware:
    sync_capable = True
    async_capable = True

    def __init__(self, get_response):
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)
        self._ignored: tuple[str, ...] | None = None
        self._ignored_urls: tuple = ()  # (STATIC_URL, MEDIA_URL) the prefixes were computed for
        conf.on_reset(self._reset)

    def _reset(self) -> None:
        self._ignored = None

    # -- deciding ----------------------------------------------------------------------------------------

    def ignored_prefixes(self) -> tuple[str, ...]:
        urls = (getattr(settings, "STATIC_URL", None), getattr(settings, "MEDIA_URL", None))
        if self._ignored is None or urls != self._ignored_urls:
            prefixes = list(conf.get("IGNORE_PATHS"))
            prefixes.append(_local_prefix(urls[0]))
            if conf.get("IGNORE_MEDIA"):
                prefixes.append(_local_prefix(urls[1]))
            try:
                from django.urls import reverse

                prefixes.append(reverse("lifecycle:dashboard"))
            except Exception:
                pass  # the dashboard URLs are not included: nothing of ours to ignore
            self._ignored = tuple(p for p in prefixes if p)
            self._ignored_urls = urls
        return self._ignored

    def should_record(self, request) -> bool:
        if current() is not None or request.path.startswith(self.ignored_prefixes()):
            return False
        return policy.should_record(request)

    # -- recording ---------------------------------------------------------------------------------------

    def begin(self, request) -> Recording | None:
        try:
            if not self.should_record(request):
                return None
            publisher = get_publisher()
            # Redacted before anything is published: the trace.start row carries the path.
            path, secrets = redact.paths.request_path(request)
            rec = Recording(
                "request", f"{request.method} {path}",
                {"method": request.method, "path": path},
                max_spans=conf.get("MAX_SPANS"),
                # Span events only when one could reach a dashboard now (none open, a WSGI process with
                # an in-memory layer: about 50 events a page built for nobody); the finished trace is
                # published either way.
                listener=publisher.span_event if conf.get("LIVE_SPANS") and publisher.wanted() else None,
            )
            rec.secrets.extend(secrets)
            rec.trace.request = capture.request_info(request, path, body=False)
            publisher.trace_started(rec)
        except Exception as exc:
            report("starting a trace", exc)
            return None
        return rec if _activate(rec) else None

    def end(self, rec: Recording, request, response) -> None:
        """Finish and hand on the trace of ``request``."""
        try:
            rec.end(rec.request_span)
            trace = rec.finish()
            # Each part on its own: a request that failed in an odd way still has a trace of what is known.
            try:
                trace.request["user"] = capture.user_info(request)
            except Exception as exc:
                report("capturing the user", exc)
            try:
                capture.add_body(trace.request, request)
            except Exception as exc:
                report("capturing the request body", exc)
            if response is not None:
                try:
                    trace.response = capture.response_info(response)
                except Exception as exc:
                    report("capturing the response", exc)
            hand_on(trace, rec.secrets)
        except Exception as exc:
            report("finishing a trace", exc)

    def handle_response(self, rec: Recording, request, response):
        try:
            if getattr(response, "streaming", False):
                on_close = partial(self.end, rec, request, response)
                if _content_is_the_servers(response):
                    _stream_until_closed(rec, response, on_close)
                else:
                    _stream_within(rec, response, on_close)
                return response
        except Exception as exc:
            report("streaming response", exc)
        self.end(rec, request, response)
        return response

    def __call__(self, request):
        if self.is_async:
            return self.__acall__(request)
        rec = self.begin(request)
        if rec is None:
            return self.get_response(request)
        try:
            response = self.get_response(request)
        except BaseException:
            _deactivate(rec)
            self.end(rec, request, None)
            raise
        _deactivate(rec)
        return self.handle_response(rec, request, response)

    frames.stop_at(__call__.__code__)

    async def __acall__(self, request):
        try:
            # The server's loop: the publisher drains there, also for events from sync views' threads.
            get_publisher().bind_running_loop()
        except Exception as exc:
            report("binding the publisher", exc)
        rec = self.begin(request)
        if rec is None:
            return await self.get_response(request)
        try:
            response = await self.get_response(request)
        except BaseException:
            _deactivate(rec)
            self.end(rec, request, None)
            raise
        _deactivate(rec)
        return self.handle_response(rec, request, response)


def hand_on(trace, secrets) -> None:
    """A finished trace redacted (``secrets``: the recording's known secret values), summarized, kept in the
    recent-trace store and published: the end of every trace, a request's or a consumer's."""
    finalize(redact_trace(trace, secrets))
    data = trace.to_json()
    row = store.add(trace, data)
    get_publisher().trace_finished(trace, data, row)
    otlp_stream.trace_finished(data)


def _local_prefix(url) -> str:
    """The path prefix of a STATIC_URL or MEDIA_URL served by this site; "" for another host's, for none,
    and for "/" (which would ignore every request)."""
    if not url or not isinstance(url, str) or "://" in url or url.startswith("//") or url == "/":
        return ""
    return url if url.startswith("/") else "/" + url


def _activate(rec: Recording) -> bool:
    try:
        rec.activate()
        return True
    except Exception as exc:
        report("activating a trace", exc)
        _deactivate(rec)
        return False


def _deactivate(rec: Recording) -> None:
    try:
        rec.deactivate()
    except Exception as exc:
        report("deactivating a trace", exc)
        # Never leave the trace current: this thread's next request would not be recorded, and its
        # queries would land in this trace.
        clear_current()


# Setters of ``streaming_content`` known to do nothing but store the new iterator (FileResponse's, once
# its file has gone: a FileResponse built on an iterator).
# (The property's private setter is not in django-stubs.)
_PLAIN_SETTERS = (StreamingHttpResponse._set_streaming_content,  # type: ignore[attr-defined]
                  FileResponse._set_streaming_content)  # type: ignore[attr-defined]


def _content_is_the_servers(response) -> bool:
    """Whether replacing the streaming content would change what the server does with ``response``: a
    FileResponse's file goes to the WSGI server's ``wsgi.file_wrapper`` (sendfile) only while it is
    ``response.file_to_stream``, which setting ``streaming_content`` clears; a class with a setter of its
    own may do anything when it is called."""
    if getattr(response, "file_to_stream", None) is not None:
        return True
    return getattr(type(response), "_set_streaming_content", None) not in _PLAIN_SETTERS


def _stream_until_closed(rec: Recording, response, on_close) -> None:
    """A ``stream`` span from now to the response's close, and the trace's end then; the content is left
    untouched. Under a ``wsgi.file_wrapper`` Django makes the file's ``close`` the response's, so the
    server's close (after the last byte) runs ``_resource_closers``; other servers close the response."""
    span = rec.begin("stream", "streaming response", {})

    def closed() -> None:
        _end_stream(rec, span)
        on_close()

    response._resource_closers.append(closed)


def _stream_within(rec: Recording, response, on_close) -> None:
    """Produce the streaming content with ``rec`` active and end the trace when the response closes."""
    span = rec.begin("stream", "streaming response", {})
    content = response.streaming_content
    if getattr(response, "is_async", False):
        async def agen():
            try:
                async for chunk in content:
                    yield chunk
            finally:
                _end_stream(rec, span)
        inner = agen()

        async def activated():
            while True:
                active = _activate(rec)
                try:
                    chunk = await inner.__anext__()
                except StopAsyncIteration:
                    return
                finally:
                    if active:
                        _deactivate(rec)
                yield chunk
        response.streaming_content = activated()
    else:
        iterator = iter(content)

        def activated_sync():
            try:
                while True:
                    active = _activate(rec)
                    try:
                        chunk = next(iterator)
                    except StopIteration:
                        return
                    finally:
                        if active:
                            _deactivate(rec)
                    yield chunk
            finally:
                _end_stream(rec, span)
        response.streaming_content = activated_sync()
    response._resource_closers.append(on_close)


def _end_stream(rec: Recording, span) -> None:
    try:
        rec.end(span)
    except Exception as exc:
        report("streaming response", exc)

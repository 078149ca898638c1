"""``make demo`` runs this before the server: a busy port gets one clear sentence instead of a hang.

Daphne's runserver prints "Listen failure: Couldn't listen on ..." and then waits forever with nothing
served, so the port is checked first: ``python demo_site/check_port.py HOST PORT`` exits 0 when the
port can be listened on, else prints what to run instead (the next free port) and exits 1.
"""

from __future__ import annotations

import socket
import sys

# How far past the busy port a free one is looked for, to suggest it.
SEARCH = 20


def port_free(host: str, port: int) -> bool:
    """True if a server could listen on ``host:port`` now (every address ``host`` resolves to)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror:
        return True  # an unknown host is the server's error to report, not a busy port
    for family, kind, proto, _name, address in infos:
        with socket.socket(family, kind, proto) as sock:
            # As servers do: a connection of a stopped server lingering in TIME_WAIT does not block the port.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind(address)
                sock.listen(1)
            except OSError:
                return False
    return True


def next_free(host: str, port: int) -> int | None:
    for candidate in range(port + 1, min(port + 1 + SEARCH, 65536)):
        if port_free(host, candidate):
            return candidate
    return None


def main(argv: list[str]) -> int:
    if len(argv) != 2 or not argv[1].isdigit():
        print("usage: check_port.py HOST PORT", file=sys.stderr)
        return 2
    host, port = argv[0].strip("[]"), int(argv[1])
    if port_free(host, port):
        return 0
    free = next_free(host, port)
    advice = f"Run `make demo PORT={free}`." if free else "Run `make demo PORT=...` with a free port."
    print(f"Port {port} is in use on {host} (another `make demo`?). {advice}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

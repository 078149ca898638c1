from __future__ import annotations


def install_all() -> None:
    pass

"""A TCP relay in front of the test S3 server that runs an action (stop the server) when a request matches.

Clients (boto3, S3A) talk to the relay; it forwards bytes both ways and watches the request lines. When a
rule's pattern is seen for the n-th time, the relay runs the rule's action *before* forwarding that
request, then drops the connection: the request never reaches the server. This puts a fault exactly at
a chosen step (the first manifest PUT, a Delta commit PUT) instead of at a lucky moment.
"""

from __future__ import annotations

import contextlib
import re
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class Rule:
    pattern: re.Pattern
    action: Callable[[], None] | None  # None: only count the matching requests
    nth: int = 1
    after: Rule | None = None  # only count once that rule has seen a request
    seen: list[bytes] = field(default_factory=list)
    fired: bool = False


class FaultProxy:
    def __init__(self, upstream_port: int):
        self.upstream_port = upstream_port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.rules: list[Rule] = []
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def on_request(self, pattern: str, action: Callable[[], None] | None = None, nth: int = 1,
                   after: Rule | None = None) -> Rule:
        """Run ``action`` when a request line matching ``pattern`` (a regex) is seen for the n-th time
        (counting only after rule ``after`` saw one)."""
        rule = Rule(re.compile(pattern.encode()), action, nth, after)
        with self._lock:
            self.rules.append(rule)
        return rule

    def clear(self) -> None:
        with self._lock:
            self.rules.clear()

    def close(self) -> None:
        self.listener.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        try:
            upstream = socket.create_connection(("127.0.0.1", self.upstream_port), timeout=5)
            upstream.settimeout(None)
        except OSError:  # the server is down: the client sees its connection closed
            client.close()
            return
        threading.Thread(target=self._pump, args=(upstream, client, False), daemon=True).start()
        self._pump(client, upstream, True)

    def _matches(self, window: bytes, new_from: int) -> bool:
        """Run the rules on request lines that end in the new bytes; True when one fired."""
        with self._lock:
            for rule in self.rules:
                if rule.fired or (rule.after is not None and not rule.after.seen):
                    continue
                for m in rule.pattern.finditer(window):
                    if m.end() > new_from:
                        rule.seen.append(m.group(0))
                        if rule.action is not None and len(rule.seen) == rule.nth:
                            rule.fired = True
                            rule.action()
                            return True
        return False

    def _pump(self, src: socket.socket, dst: socket.socket, inspect: bool) -> None:
        tail = b""
        try:
            while data := src.recv(65536):
                if inspect:
                    window = tail + data
                    if self._matches(window, len(tail)):
                        break
                    tail = window[-4096:]
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
                s.close()

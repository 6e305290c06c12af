"""The local SMTP sink of `dagforge serve`: where alert mails go when the user has no smtp_default.

An aiosmtpd server on a free port of 127.0.0.1 takes every mail, keeps it as an .eml file in a
folder, and tells `seen` its recipients and subject, so that alert settings can be seen working
without a mail server. The generated DAGs send through the `smtp_default` connection; `url` is that
connection for AIRFLOW_CONN_SMTP_DEFAULT.
"""

from __future__ import annotations

import email
import email.policy
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

FROM = "airflow@localhost"


class MailSink:
    def __init__(self, folder: Path, seen: Callable[[list[str], str], object]) -> None:
        self.folder = folder
        self.seen = seen
        self.count = len(list(folder.glob("*.eml"))) if folder.is_dir() else 0
        with socket.socket() as s:  # a free port, handed to aiosmtpd
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self._controller: Any = None

    @property
    def url(self) -> str:
        """The smtp_default connection that delivers here (plain SMTP: the sink speaks no TLS)."""
        return (
            f"smtp://127.0.0.1:{self.port}?disable_tls=true&disable_ssl=true"
            f"&from_email={FROM.replace('@', '%40')}"
        )

    def start(self) -> None:
        from aiosmtpd.controller import Controller

        self.folder.mkdir(parents=True, exist_ok=True)
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    async def handle_DATA(self, server: object, session: object, envelope: Any) -> str:
        """aiosmtpd's hook: one mail received."""
        data: bytes = envelope.original_content or b""
        message = email.message_from_bytes(data, policy=email.policy.default)
        self.count += 1
        (self.folder / f"{self.count:05d}.eml").write_bytes(data)
        self.seen(list(envelope.rcpt_tos), str(message["Subject"] or ""))
        return "250 Message accepted for delivery"

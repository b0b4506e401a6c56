"""A client for AnkiConnect, the add-on that lets programs talk to a running Anki over HTTP.

Protocol version 6: a POST of `{action, version, params, key}`; the reply is always
`{result, error}`, where a failure is a message in `error`, not an HTTP status. Every way this
can go wrong for an author (Anki not running, the add-on missing or too old, a wrong API key, an
Anki too busy to answer) becomes one `AnkiConnectError` line saying what to do.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import click

from .errors import Problem, SourceError

API_VERSION = 6
ADDON_CODE = "2055492159"
INSTALL_HINT = (
    f"install AnkiConnect in Anki (Tools → Add-ons → Get Add-ons…, code {ADDON_CODE}) and "
    "restart Anki"
)
UPDATE_HINT = "update it (in Anki: Tools → Add-ons → Check for Updates) and restart Anki"
CONNECT_SECONDS = 3.0
"""Anki on this machine accepts a connection at once, or is not running."""


class AnkiConnectError(SourceError):
    """Anki could not be reached or refused a request; one line saying what to do."""

    def __init__(self, message: str) -> None:
        # One line and no problem list: not SourceError's "N errors" summary.
        click.ClickException.__init__(self, message)
        self.problems: list[Problem] = []
        self.summary: str | None = message


@dataclass(frozen=True, slots=True)
class AnkiNote:
    """A note as `notesInfo` describes it."""

    note_id: int
    model_name: str
    fields: Mapping[str, str]
    tags: tuple[str, ...]
    mod: int | None
    """Seconds; None from add-on versions whose `notesInfo` does not say."""


class Client:
    def __init__(self, url: str, key: str | None, timeout: float) -> None:
        import requests

        self.url = url
        self.key = key
        self.timeout = timeout
        self._session = requests.Session()

    def close(self) -> None:
        self._session.close()

    def _request(self, action: str, params: Mapping[str, Any]) -> dict[str, Any]:
        request: dict[str, Any] = {"action": action, "version": API_VERSION, "params": params}
        if self.key is not None:
            request["key"] = self.key
        return request

    def call(self, action: str, **params: Any) -> Any:
        return self._result(action, self._post(self._request(action, params), action))

    def multi(self, actions: Sequence[tuple[str, Mapping[str, Any]]]) -> list[Any]:
        """Several actions in one round trip; each checked like a single call."""
        requests_ = [self._request(action, params) for action, params in actions]
        replies = self._result("multi", self._post(self._request("multi", {"actions": requests_}),
                                                   "multi"))  # fmt: skip
        if not isinstance(replies, list) or len(replies) != len(actions):
            raise AnkiConnectError(f"{self.url}: AnkiConnect's answer to 'multi' makes no sense")
        return [self._result(action, reply) for (action, _), reply in zip(actions, replies)]

    def check_version(self) -> int:
        """The add-on's API version; an error naming what to do when it is older than 6."""
        version = self.call("version")
        if not isinstance(version, int) or version < API_VERSION:
            raise AnkiConnectError(
                f"AnkiConnect at {self.url} speaks API version {version}, and ml-anki push needs "
                f"version {API_VERSION}: {UPDATE_HINT}"
            )
        return version

    def notes_info(self, note_ids: Sequence[int]) -> list[AnkiNote]:
        found = []
        for info in self.call("notesInfo", notes=list(note_ids)):
            if not info:
                continue  # a note deleted between the search and this question
            found.append(
                AnkiNote(
                    note_id=int(info["noteId"]),
                    model_name=str(info.get("modelName", "")),
                    fields={name: str(f["value"]) for name, f in info["fields"].items()},
                    tags=tuple(info.get("tags", ())),
                    mod=info.get("mod"),
                )
            )
        return found

    def store_media(self, name: str, data: bytes) -> str:
        stored = self.call(
            "storeMediaFile", filename=name, data=base64.b64encode(data).decode("ascii")
        )
        return str(stored)

    def _post(self, request: Mapping[str, Any], action: str) -> Any:
        import requests

        try:
            response = self._session.post(
                self.url, json=request, timeout=(CONNECT_SECONDS, self.timeout)
            )
        except requests.exceptions.ConnectTimeout:
            raise AnkiConnectError(
                f"nothing answers at {self.url} within {CONNECT_SECONDS:.0f} s: start Anki (and "
                f"if AnkiConnect is not installed, {INSTALL_HINT}), or check --url"
            ) from None
        except requests.exceptions.Timeout:
            raise AnkiConnectError(
                f"Anki did not answer '{action}' within {self.timeout:g} s (is a dialog open in "
                "Anki, or is it syncing?); try again, or give it longer with --timeout"
            ) from None
        except requests.exceptions.ConnectionError:
            raise AnkiConnectError(
                f"nothing answers at {self.url}: start Anki (and if AnkiConnect is not "
                f"installed, {INSTALL_HINT}), or check --url"
            ) from None
        except requests.exceptions.RequestException as exc:
            raise AnkiConnectError(f"cannot talk to {self.url}: {exc}") from None
        try:
            reply = response.json()
        except ValueError:
            reply = None
        if not isinstance(reply, dict) or "error" not in reply or "result" not in reply:
            raise AnkiConnectError(
                f"{self.url} answered (HTTP {response.status_code}), but not as AnkiConnect "
                f"does: is --url right? If Anki runs there, {INSTALL_HINT}"
            )
        return reply

    def _result(self, action: str, reply: Any) -> Any:
        if not isinstance(reply, dict) or "error" not in reply:
            raise AnkiConnectError(f"{self.url}: AnkiConnect's answer to '{action}' makes no sense")
        error = reply["error"]
        if error is None:
            return reply.get("result")
        if error == "valid api key must be provided":
            if self.key is None:
                raise AnkiConnectError(
                    f"AnkiConnect at {self.url} requires an API key: pass the one in its config "
                    '(Anki: Tools → Add-ons → AnkiConnect → Config, "apiKey") with --key'
                )
            raise AnkiConnectError(
                f"AnkiConnect at {self.url} refused the API key given with --key: use the one in "
                'its config (Anki: Tools → Add-ons → AnkiConnect → Config, "apiKey")'
            )
        if error == "unsupported action":
            raise AnkiConnectError(
                f"AnkiConnect at {self.url} is too old: it has no '{action}' action; {UPDATE_HINT}"
            )
        raise AnkiConnectError(f"AnkiConnect could not {action}: {error}")

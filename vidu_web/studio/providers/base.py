"""The shape every video provider's adapter has, in the pipeline's own words.

An adapter speaks to one family of video API (Vidu and the gateways that keep its contract;
later the OpenAI-format video API, Kling, ...). The pipeline only sees what is here: a
``Created`` after a create, an ``Answer`` after a query or a callback (its ``state`` already
one of ours), and ``ProviderError`` for anything that went wrong. Nothing here imports Django.
"""

from __future__ import annotations

from dataclasses import dataclass

# The states an answer can report, in our words (a provider's "success" is SUCCEEDED here; the
# task itself then becomes "archiving" until our copy exists).
QUEUED, PROCESSING, SUCCEEDED, FAILED, CANCELLED = "queued", "processing", "succeeded", "failed", "cancelled"
FINAL = (SUCCEEDED, FAILED, CANCELLED)


@dataclass
class ProviderError(Exception):
    """An error answer, or no usable answer, from a provider.

    ``retryable``: trying the same request later may work (429, 5xx, refused connections).
    ``outcome_unknown``: the request went out and no answer came back, so a create must never
    be sent again. ``friendly`` is a sentence a creator can read.
    """

    status: int
    reason: str
    message: str = ""
    friendly: str = ""
    retry_after: float | None = None
    outcome_unknown: bool = False
    retryable: bool = False
    not_cancellable: bool = False  # a cancel the provider refused because it is too late

    def __post_init__(self) -> None:
        super().__init__(str(self))

    def __str__(self) -> str:
        return f"{self.status or 'no answer'} {self.reason}: {self.message}"


@dataclass(frozen=True)
class Output:
    """One video a provider made, with its (expiring) URLs."""

    id: str
    url: str
    cover_url: str = ""
    watermarked_url: str = ""
    duration: float = 0
    fps: float = 0
    width: int | None = None
    height: int | None = None


@dataclass(frozen=True)
class Created:
    """A create's answer: the provider's id for the task and what it said about it."""

    id: str
    upstream_state: str
    credits: int | None = None
    seed: int | None = None
    prompt: str = ""  # the prompt the provider wrote (is_rec), when its answer carries one


@dataclass(frozen=True)
class Answer:
    """What a provider says about a task (a query's answer or a callback's body)."""

    id: str
    state: str  # one of QUEUED, PROCESSING, SUCCEEDED, FAILED, CANCELLED
    upstream_state: str  # the provider's own word, kept for the admin
    progress: int | None = None
    credits: int | None = None
    err_code: str = ""
    error: str = ""  # why it failed, for a creator
    payload: str = ""  # what we sent as our own reference (our task's UUID), if echoed
    outputs: tuple[Output, ...] = ()
    prompt: str = ""  # the prompt the provider wrote (is_rec), when its answer carries one

    @property
    def is_final(self) -> bool:
        return self.state in FINAL


class Adapter:
    """One family of video API. Subclasses fill in each method; see ``vidu.py``.

    An instance is bound to one endpoint (where the task was created) and the install's key,
    and is used from one thread at a time (``providers.for_task`` keeps one per thread).
    """

    family = ""
    # Whether callbacks carry a signature we can check with our key (then their body is applied
    # at once); otherwise a callback only makes us query the task now.
    signs_callbacks = False

    def __init__(self, name: str, endpoint: str, api_key: str, timeout: tuple[float, float], auth_scheme: str = ""):
        self.name, self.endpoint, self.timeout = name, endpoint, timeout

    def build_request(self, task, images: list[bytes], callback_url: str) -> dict:
        """The create body for ``task`` (its prompt, parameters, ``images`` and our UUID)."""
        raise NotImplementedError

    def create(self, mode: str, body: dict) -> Created:
        raise NotImplementedError

    def query(self, upstream_id: str) -> Answer:
        raise NotImplementedError

    def cancel(self, upstream_id: str) -> None:
        raise NotImplementedError

    def account(self):
        """The account's balance (``vidu_web.vidu.types.Account``), or None when the provider
        has no such call; raises ProviderError when it failed."""
        return None

    def parse_callback(self, body: bytes) -> Answer:
        """A callback's body as an Answer; ValueError when it can't be read."""
        raise NotImplementedError

    def verify_callback(self, url: str, headers: dict, nonces=None) -> None:
        """Raise ValueError unless the callback's signature is right (only when ``signs_callbacks``);
        ``nonces`` remembers the ones seen (``add(nonce, now) -> bool``)."""
        raise ValueError("this provider doesn't sign callbacks")

    def close(self) -> None:
        pass

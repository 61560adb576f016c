"""The Vidu sandbox: a plain WSGI app that speaks the contract of docs/vidu-api.md §2-§7.

Vidu's API, under both ``/ent/v2`` and ``/v2``:
  POST {prefix}/text2video | img2video | start-end2video | reference2video
  POST {prefix}/extend | upscale-new | multiframe   (vidu-api.md §2b)
  GET  {prefix}/tasks/{id}/creations
  POST {prefix}/tasks/{id}/cancel
  GET  {prefix}/credits   (the key's account: credits left, concurrency, tasks waiting)
Any ``Authorization: Token <key>`` or ``Bearer <key>`` works; the key owns its tasks (another key
gets 404), counts their concurrency (``max_running`` = 5 in processing, the rest queueing) and
signs their callbacks. Errors always use Vidu's body ``{code, reason, message, metadata.trace_id}``.

Each task goes created -> queueing -> processing -> success, one ``step`` per stage and
``processing_steps`` steps of processing with ``progress`` rising 0..100; ``off_peak`` tasks queue
for ``off_peak_steps``. Success carries one creation whose ``url``, ``cover_url`` and (with
``watermark: true``) ``watermarked_url`` are presigned URLs on this server, fresh at each query,
expiring after ``url_ttl`` / ``cover_ttl`` seconds (403 with an S3 XML error when expired or
edited). The video is one of six small real clips in ``media/``, chosen by the seed. Its
creation's ``video.duration`` is the length asked for (the clip itself is 3 s), ``fps`` 24 and
``resolution`` the clip's real frame size.

The second-wave endpoints (§2b), checked by the same validator as the first four:
  extend       takes a ``video_creation_id`` of a successful task of the same key (unknown: 404
               CreationNotFound; not finished: 400 OperationInProcess); the source must be 4-60 s
               long (400 FieldInvalid). The result plays the source's clip and reports the
               source's length plus the seconds added. A ``video_url`` on this sandbox's own
               /files/ resolves to its task; any other URL is taken on trust as a 5 s 720p
               24 fps video (nothing is downloaded).
  upscale-new  the source must be at most 300 s long and under 60 fps, and the
               ``upscale_resolution`` above the source's (its nominal resolution: 720p for a 720p
               task, whatever the sample clip's size; else 400 FieldInvalid). The result is the
               SAME clip as the source (not a larger one): it reports the clip's real frame size,
               and counts as the asked resolution for a later upscale.
  multiframe   start image plus 2-9 keys; the video reports the sum of the keys' seconds.
Credits grow with the seconds made (extend: the seconds added; multiframe: the keys' sum) and
the resolution; an upscale's with the source's length and the resolution asked. ``is_rec: true``
adds 10 credits, and the create and query answers then carry the ``prompt`` the sandbox "wrote".

Cancel answers ``{}`` while the task is created or queueing (and again for a task already
cancelled); afterwards 400 ``BadRequest`` with the message ``task state is scheduled, can not
cancel``. A cancelled task queries as ``failed``, ``err_code`` ``UserCancelled``.

Charges (vidu-api.md 6b): each key has ``credit_balance`` credits; a create costing more than is
left answers 400 ``CreditInsufficient``. A task that ends ``failed`` (cancelled, or by a marker)
gives its credits back, and still reports them in ``credits`` (the charge that was refunded).

Markers in the prompt, for tests and demos:
  [fail:Reason]    the task runs one step of processing, then ends ``failed`` with err_code Reason,
                   e.g. [fail:CreationPolicyViolation].
  [reject:Reason]  the create itself is refused with Reason and its status from §6, e.g.
                   [reject:CreditInsufficient] -> 400, [reject:Unauthorized] -> 401,
                   [reject:Forbidden] -> 403, [reject:QuotaExceeded] -> 429 (with Retry-After: 1),
                   [reject:InternalServiceFailure] -> 500; any other Reason -> 400.
  [bigvideo:N]     the video URL streams N MB: a real clip followed by zeros, made on the fly
                   (for memory benchmarks of the copy step).
  [length:S]       the task's video reports S seconds (e.g. [length:301], to test extend and
                   upscale's limits on their source).
  [fps:F]          the task's video reports F frames per second (e.g. [fps:60]).

Fault mode (``fault_rate`` 0..1, ``fault_kinds`` from 429, 500, hang, badjson, ``fault_seed``):
that share of API requests (never /files/ or /_sandbox/) answers 429 TooManyRequests with
Retry-After: 1, 500 InternalServiceFailure, hangs ``hang_seconds`` before answering, or answers
200 with broken JSON. For creates, 429 and 500 come before anything is created; a hang or broken
JSON comes after the task was created, so the client can't know the outcome.

Control endpoints (no auth): GET /_sandbox/health, GET /_sandbox/counts (creates per payload),
GET|POST /_sandbox/config (change any option of ``config.Config`` at runtime), POST
/_sandbox/reset (forget all tasks and counts, restore the options it started with),
GET /_sandbox/callbacks (the latest callback attempts).
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import threading
import time
from datetime import UTC, datetime
from urllib.parse import urlsplit

from vidu_web.vidu import catalog
from vidu_web.vidu.images import BODY_LIMIT

from . import media, rules
from .callbacks import Courier
from .config import Config
from .faults import Faults
from .store import Task, TaskStore
from .web import Request, Response, error_response, json_response, raw_json_response

log = logging.getLogger(__name__)

PREFIXES = ("/ent/v2/", "/v2/")
TASK_PATH = re.compile(r"^tasks/([^/]+)/(creations|cancel)$")
FILE_PATH = re.compile(r"^/files/(\d+)/(video\.mp4|watermarked\.mp4|cover\.jpeg)$")
AUTH = re.compile(r"^(Token|Bearer) +(\S+)\s*$")
NOT_CANCELLABLE = "task state is scheduled, can not cancel"


class SandboxApp:
    """The WSGI application; one instance holds one sandbox's tasks and settings."""

    def __init__(self, **options: object) -> None:
        self.initial = Config().updated(options)
        self.config = self.initial
        self.store = TaskStore()
        self.faults = Faults(self.config.fault_seed)
        self.secret = secrets.token_bytes(32)  # signs the presigned file URLs
        self.courier = Courier(self.store, self.render, lambda: self.config)
        self._closing = threading.Event()

    def close(self) -> None:
        """Stop the callback threads and release requests that are hanging on purpose."""
        self._closing.set()
        self.courier.stop()

    def __call__(self, environ: dict, start_response):
        request = Request.from_environ(environ, BODY_LIMIT)
        try:
            response = self.dispatch(request)
        except Exception:  # a sandbox bug must still answer in Vidu's shape
            log.exception("sandbox failed on %s %s", request.method, request.path)
            response = error_response(500, "InternalServiceFailure", "the sandbox failed; see its log")
        return response(start_response)

    def dispatch(self, request: Request) -> Response:
        if request.path.startswith("/_sandbox/"):
            return self.control(request)
        if request.path.startswith("/files/"):
            return self.serve_file(request)
        for prefix in PREFIXES:
            if request.path.startswith(prefix):
                return self.api(request, request.path[len(prefix):])
        return error_response(404, "NotFound", f"no such path: {request.path}")

    # -- Vidu's API --------------------------------------------------------------------------

    def api(self, request: Request, route: str) -> Response:
        handler, methods, task_id = self._route(route)
        if handler is None:
            return error_response(404, "NotFound", f"no such path: {request.path}")
        if request.method not in methods:
            return error_response(405, "MethodNotAllowed", f"{request.method} is not allowed here",
                                  [("Allow", ", ".join(methods))])
        key = self._api_key(request)
        if key is None:
            return error_response(401, "Unauthorized", "missing or malformed Authorization header: "
                                  "use 'Token <key>' or 'Bearer <key>'")
        fault = self.faults.draw(self.config)
        if fault in ("429", "500"):
            return _fault_response(fault)
        response = handler(request, key, task_id or route)
        if fault == "hang":
            self._closing.wait(self.config.hang_seconds)
        if fault == "badjson" and response.status == 200:
            return raw_json_response(b'{"task_id": "1234", "state": "cre')
        return response

    def _route(self, route: str):
        if route in catalog.ENDPOINTS:
            return self.create, ("POST",), None
        if route == "credits":
            return self.credits, ("GET",), None
        match = TASK_PATH.match(route)
        if match is None:
            return None, (), None
        if match[2] == "creations":
            return self.query, ("GET",), match[1]
        return self.cancel, ("POST",), match[1]

    @staticmethod
    def _api_key(request: Request) -> str | None:
        match = AUTH.match(request.headers.get("authorization", ""))
        return match[2] if match else None

    def create(self, request: Request, key: str, mode: str) -> Response:
        sent, refusal = _json_object(request)
        if refusal:
            return refusal
        try:
            params = rules.plain_model(sent)
            rules.check(mode, params)
            source = self._source(key, mode, params)
        except rules.Refusal as exc:
            headers = [("Retry-After", "1")] if exc.status == 429 else []
            return error_response(exc.status, exc.reason, exc.message, headers)
        with self.store.lock:  # two creates at once must not both take the last credits
            remain = self.store.account(key, time.time(), self.config)["remain"]
            if rules.credits_for(rules.effective(mode, params)) > remain:
                return error_response(400, "CreditInsufficient", f"the account has {max(remain, 0)} credits left")
            task = self._new_task(key, mode, params, request.base_url, source)
        return json_response(self._create_body(task, sent.get("model")))

    def _source(self, key: str, mode: str, params: dict) -> Task | None:
        """The finished task whose video an extend or upscale names, checked against §2b's limits.

        Returns None for a ``video_url`` not on this sandbox (taken on trust, see above)."""
        if mode not in (catalog.EXTEND, catalog.UPSCALE):
            return None
        source = None
        creation_id = params.get("video_creation_id")
        if creation_id is not None:
            with self.store.lock:
                source = self.store.by_creation.get(str(creation_id))
            if source is None or source.key != key:
                raise rules.Refusal(404, "CreationNotFound", f"creation {creation_id} not found")
        else:
            match = FILE_PATH.match(urlsplit(params["video_url"]).path)
            with self.store.lock:
                source = self.store.by_creation.get(match[1]) if match else None
        if source is None:
            return None
        now = time.time()
        self.store.get(source.id, now, self.config)
        if source.state_at(now) != "success":
            raise rules.Refusal(400, "OperationInProcess", "the source video is not finished")
        problems = catalog.check_source(mode, source.video_seconds, source.video_fps)
        if mode == catalog.UPSCALE:
            problems = problems or catalog.check_upscale(params.get("upscale_resolution") or catalog.UPSCALE_DEFAULT,
                                                         source.side)
        if problems:
            name, message = next(iter(problems.items()))
            raise rules.Refusal(400, "FieldInvalid", f"{name}: {message}")
        return source

    def _new_task(self, key: str, mode: str, params: dict, base_url: str, source: Task | None = None) -> Task:
        config, now = self.config, time.time()
        echoed = rules.effective(mode, params)
        seed = params.get("seed") or secrets.randbelow(2**31 - 1) + 1
        queued_at = now + config.step
        wait = config.step * (config.off_peak_steps if echoed["off_peak"] else 1)
        fail = rules.markers(params).get("fail", "")
        look = self._look(mode, params, echoed, seed, source)
        task = Task(
            id=self.store.new_id(), key=key, mode=mode, params=echoed, seed=seed,
            credits=rules.credits_for(echoed, look["video_seconds"]),
            created_at=now, queued_at=queued_at, eligible_at=queued_at + wait,
            processing_time=config.step * (1 if fail else config.processing_steps),
            fail_reason=fail, big_bytes=rules.big_video_bytes(params),
            callback_url=echoed.get("callback_url", ""), base_url=base_url,
            rec_prompt=rules.recommended_prompt(mode, params) if params.get("is_rec") else "", **look,
        )
        self.store.add(task)
        if task.callback_url:
            self.courier.watch(task)
        return task

    @staticmethod
    def _look(mode: str, params: dict, echoed: dict, seed: int, source: Task | None) -> dict:
        """What the task's video reports (length, fps, nominal side) and which clip it plays."""
        if mode in (catalog.EXTEND, catalog.UPSCALE):
            # A video_url from elsewhere: taken on trust as a 5 s 720p clip at 24 fps.
            base = {"video_seconds": 5.0, "video_fps": 24.0, "side": 720, "clip_seed": seed, "clip_ratio": "16:9"}
            if source is not None:
                base = {"video_seconds": source.video_seconds, "video_fps": source.video_fps, "side": source.side,
                        "clip_seed": source.clip_seed, "clip_ratio": source.clip_ratio}
            if mode == catalog.EXTEND:
                return {**base, "video_seconds": base["video_seconds"] + echoed["duration"],
                        "side": catalog.RESOLUTION_SIDES[echoed["resolution"]]}
            return {**base, "side": catalog.UPSCALE_RESOLUTIONS[echoed["upscale_resolution"]]}
        seconds = echoed.get("duration") or sum(k["duration"] for k in echoed.get("image_settings", []))
        length, fps = rules.marker_number(params, "length"), rules.marker_number(params, "fps")
        return {"video_seconds": float(seconds if length is None else length), "video_fps": 24.0 if fps is None else fps,
                "side": catalog.RESOLUTION_SIDES.get(echoed["resolution"], 720), "clip_seed": seed,
                "clip_ratio": echoed.get("aspect_ratio", "16:9")}

    @staticmethod
    def _create_body(task: Task, model: str | None) -> dict:
        """The create answer: the task's parameters as it will run, the model as it was spelled."""
        body = {"task_id": task.id, "state": "created", **task.params}
        if model is not None:
            body["model"] = model
        if task.rec_prompt:
            body["prompt"] = task.rec_prompt
        body.update(seed=task.seed, credits=task.credits, created_at=_rfc3339(task.created_at))
        body.pop("callback_url", None)
        return body

    def query(self, request: Request, key: str, task_id: str) -> Response:
        now = time.time()
        task = self.store.get(task_id, now, self.config)
        if task is None or task.key != key:
            return error_response(404, "TaskNotFound", f"task {task_id} not found")
        with self.store.lock:
            return json_response(self.render(task, now))

    def cancel(self, request: Request, key: str, task_id: str) -> Response:
        params, refusal = _json_object(request, empty_ok=True)
        if refusal:
            return refusal
        if params.get("id") not in (None, task_id):
            return error_response(400, "BadRequest", "the id in the body doesn't match the path")
        task = self.store.get(task_id, time.time(), self.config)
        if task is None or task.key != key:
            return error_response(404, "TaskNotFound", f"task {task_id} not found")
        if not self.store.cancel(task, time.time(), self.config):
            return error_response(400, "BadRequest", NOT_CANCELLABLE)
        return json_response({})

    def credits(self, request: Request, key: str, _route: str) -> Response:
        """The account, in Vidu's shape: one metered line (``show_detail`` changes nothing here)."""
        account = self.store.account(key, time.time(), self.config)
        return json_response({"remains": [{
            "type": "metered", "credit_remain": max(account["remain"], 0),
            "concurrency_limit": self.config.max_running, "current_concurrency": account["running"],
            "queue_count": account["queued"],
        }], "packages": []})

    def render(self, task: Task, at: float) -> dict:
        """The query response for ``task`` as of ``at`` (also a callback's body)."""
        state = task.state_at(at)
        err_code = "UserCancelled" if task.cancelled else (task.fail_reason if state == "failed" else "")
        params = task.params
        return {
            "id": task.id, "state": state, "err_code": err_code, "credits": task.credits,
            "payload": params["payload"], "bgm": params["bgm"], "audio": params["audio"],
            "off_peak": params["off_peak"], "progress": task.progress_at(at), "cus_priority": 0,
            "creations": [self._creation(task, at)] if state == "success" else [],
            **({"prompt": task.rec_prompt} if task.rec_prompt else {}),
        }

    def _creation(self, task: Task, at: float) -> dict:
        clip = media.pick_clip(task.clip_seed, task.clip_ratio)
        path = f"/files/{task.creation_id}/"
        config = self.config

        def url(name: str, ttl: int) -> str:
            return media.presign(self.secret, task.base_url, path + name, ttl, at)

        return {
            "id": task.creation_id,
            "url": url("video.mp4", config.url_ttl),
            "cover_url": url("cover.jpeg", config.cover_ttl),
            "watermarked_url": url("watermarked.mp4", config.url_ttl) if task.params["watermark"] else "",
            "moderation_url": [],
            "video": {"duration": task.video_seconds, "fps": task.video_fps,
                      "resolution": {"width": clip.width, "height": clip.height}},
        }

    # -- files -------------------------------------------------------------------------------

    def serve_file(self, request: Request) -> Response:
        if request.method not in ("GET", "HEAD"):
            return Response(405, [b""], [("Allow", "GET, HEAD"), ("Content-Length", "0")])
        problem = media.check_presigned(self.secret, request.path, request.query)
        if problem:
            return _xml_error(403, *problem)
        match = FILE_PATH.match(request.path)
        with self.store.lock:
            task = self.store.by_creation.get(match[1]) if match else None
        if task is None:
            return _xml_error(404, "NoSuchKey", "The specified key does not exist.")
        clip = media.pick_clip(task.clip_seed, task.clip_ratio)
        if match[2] == "cover.jpeg":
            return _stream(request, media.read_bytes(clip.cover_path), None, "image/jpeg")
        return _stream(request, media.read_bytes(clip.video_path), task.big_bytes or None, "video/mp4")

    # -- control -----------------------------------------------------------------------------

    def control(self, request: Request) -> Response:
        name = request.path.removeprefix("/_sandbox/").strip("/")
        if name == "health" and request.method == "GET":
            return json_response({"ok": True, "tasks": len(self.store.tasks)})
        if name == "counts" and request.method == "GET":
            return json_response(self.store.counts())
        if name == "callbacks" and request.method == "GET":
            return json_response(list(self.courier.sent))
        if name == "config" and request.method in ("GET", "POST"):
            return self._configure(request) if request.method == "POST" else json_response(self.config.to_json())
        if name == "reset" and request.method == "POST":
            self.reset()
            return json_response({})
        return error_response(404, "NotFound", f"no such control endpoint: {request.method} {request.path}")

    def _configure(self, request: Request) -> Response:
        changes, refusal = _json_object(request)
        if refusal:
            return refusal
        try:
            self.configure(**changes)
        except ValueError as exc:
            return error_response(400, "FieldInvalid", str(exc))
        return json_response(self.config.to_json())

    def configure(self, **changes: object) -> None:
        self.config = self.config.updated(changes)
        if "fault_seed" in changes:
            self.faults.reseed(self.config.fault_seed)

    def reset(self) -> None:
        self.store.reset()
        self.courier.forget_all()
        self.config = self.initial
        self.faults.reseed(self.config.fault_seed)


def _json_object(request: Request, empty_ok: bool = False) -> tuple[dict, Response | None]:
    """The body as a JSON object, or Vidu's 400 saying why not."""
    if request.too_large:
        return {}, error_response(400, "BadRequest", f"request body over {BODY_LIMIT // (1024 * 1024)} MB")
    if empty_ok and not request.body.strip():
        return {}, None
    try:
        data = json.loads(request.body)
    except (ValueError, RecursionError):
        return {}, error_response(400, "BadRequest", "the body is not valid JSON")
    if not isinstance(data, dict):
        return {}, error_response(400, "BadRequest", "the body must be a JSON object")
    return data, None


def _fault_response(kind: str) -> Response:
    if kind == "429":
        return error_response(429, "TooManyRequests", "sandbox fault mode: slow down", [("Retry-After", "1")])
    return error_response(500, "InternalServiceFailure", "sandbox fault mode: internal failure")


def _xml_error(status: int, code: str, message: str) -> Response:
    body = media.s3_error(code, message)
    return Response(status, [body], [("Content-Type", "application/xml"), ("Content-Length", str(len(body)))])


def _stream(request: Request, data: bytes, total: int | None, content_type: str) -> Response:
    """``data`` (padded with zeros to ``total``), honouring a single Range, streamed in chunks."""
    total = max(total or len(data), len(data))
    start, end, status = 0, total - 1, 200
    headers = [("Content-Type", content_type), ("Accept-Ranges", "bytes"), ("Cache-Control", "max-age=86400")]
    try:
        wanted = media.parse_range(request.headers["range"], total) if "range" in request.headers else False
    except ValueError:
        wanted = False  # a Range we don't understand: send the whole file, as HTTP allows
    if wanted is not False:
        if wanted is None:
            return Response(416, [b""], [("Content-Range", f"bytes */{total}"), ("Content-Length", "0")])
        (start, end), status = wanted, 206
        headers.append(("Content-Range", f"bytes {start}-{end}/{total}"))
    headers.append(("Content-Length", str(end - start + 1)))
    body = [] if request.method == "HEAD" else media.iter_bytes(data, total, start, end)
    return Response(status, body, headers)


def _rfc3339(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")

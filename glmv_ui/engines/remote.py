"""The remote engine: any OpenAI-compatible ``/chat/completions`` endpoint, streamed over SSE.

GLM-4.5V needs several GPUs, so most people reach it through vLLM, SGLang or the vendor's API.
This engine speaks that protocol with ``httpx``, reads the event stream with ``httpx-sse`` (line
ends, comments, multi-line data: the framing the SSE standard defines) and hands the rest of the
stack the same raw text the local engine produces:

- Reasoning that the server splits out (``reasoning_content`` or ``reasoning`` deltas, as vLLM and
  SGLang do with ``--reasoning-parser glm45``) is folded back into ``<think>…</think>`` before the
  first answer delta; a server that leaves ``<think>`` in the content is passed through as it is.
- Images, PDF pages and slides go as PNG data URLs; video frames as JPEG data URLs, each preceded
  by its timestamp (``video_mode="frames"``), or as one mp4 data URL encoded with PyAV
  (``video_mode="video"``) for servers that take ``video_url``. Parts are sent at the size the
  media budgets left them; nothing is upscaled.
- The thinking switch goes the way the server expects: ``chat_template_kwargs.enable_thinking``
  (vLLM, SGLang, ``transformers serve``), the vendor API's ``thinking.type``, or not at all.
- ``top_k``, ``repetition_penalty``, ``seed`` and ``stream_options`` are extensions some servers
  refuse. When a server answers 400/422 naming some of them, they are dropped and the request is
  sent again (at most twice); the engine remembers them for later requests.

The API key is read from an environment variable at each request and lives only in the request
headers: it never appears in ``repr``, messages or exports, and any echo of it in a server's error
text is masked. Stop is checked between events; the response is then closed, which the server
sees as a disconnect. What a chunk means (text, reasoning, usage) is :mod:`.remote_reply`'s job.
``httpx`` and ``httpx-sse`` are imported when a request is made, not with the package.
"""

from __future__ import annotations

import base64
import io
import json
import os
import re
import threading
import time
from collections.abc import Iterator
from contextlib import closing
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit, urlunsplit

from ..config import AppConfig
from ..errors import ConfigError, EngineConnectionError, GenerationError, MissingDependencyError
from ..media.dataurl import data_url
from ..messages import (
    AssistantMessage,
    ImagePart,
    Message,
    SystemMessage,
    TextPart,
    UserMessage,
    UserPart,
    VideoPart,
)
from .base import Chunk, GenerationRequest
from .remote_reply import Reply, error_text

if TYPE_CHECKING:
    import httpx

    from ..caps import Capabilities
    from ..media.parts import MediaPart

__all__ = ["RemoteEngine", "encode_mp4", "guess_family", "remote_caps"]

ThinkingStyle = Literal["chat_template_kwargs", "vendor", "none"]
VideoMode = Literal["frames", "video"]

# Request fields a server may refuse; dropped (once) when an error names them.
_OPTIONAL_FIELDS = (
    "stream_options",
    "top_k",
    "repetition_penalty",
    "seed",
    "chat_template_kwargs",
    "thinking",
)


def remote_caps(model: str | None, family: str | None = None) -> Capabilities:
    """What a served model can do, from what the client can know: ``family`` when given (the
    ``GLMV_REMOTE_FAMILY`` setting), a known checkpoint's id as served, else the documented
    default, a hybrid-reasoning ``glm4v_moe`` model (thinking switched through
    ``chat_template_kwargs``). The served name is never parsed."""
    from ..caps import for_family
    from ..models import KNOWN_MODELS

    if family:
        return for_family(family)
    if model in KNOWN_MODELS:
        return KNOWN_MODELS[model].caps
    return for_family("glm4v_moe")


def guess_family(model: str | None) -> str:
    """The model type :func:`remote_caps` settles on for a served ``model`` id."""
    return remote_caps(model).family


def _display_url(url: str) -> str:
    """The URL as shown in messages: no user info, query or fragment (they may carry secrets)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def _origin(endpoint: str) -> str:
    """What the API key is bound to: scheme, host, port and path of the chat endpoint."""
    return _display_url(endpoint).lower()


def _endpoint(base_url: str) -> str:
    """``…/chat/completions`` from a base URL given with or without its version segment."""
    url = base_url.strip().rstrip("/")
    if url.endswith("/chat/completions"):
        return url
    if re.search(r"/v\d+[a-z]*$", urlsplit(url).path) is None:
        url += "/v1"
    return url + "/chat/completions"


class RemoteEngine:
    """Streams replies from an OpenAI-compatible server.

    ``url`` is the base URL (``http://host:8000/v1``, ``https://api.z.ai/api/paas/v4``); ``/v1``
    is added when the URL has no version segment. ``model`` is the served model name; ``None``
    asks the server's ``/models`` on first use and takes the first one. What the model can do
    comes from ``family`` or the served id (see :func:`remote_caps`).
    """

    def __init__(
        self,
        url: str,
        model: str | None = None,
        *,
        family: str | None = None,
        api_key_env: str = "GLMV_API_KEY",
        thinking_style: ThinkingStyle = "chat_template_kwargs",
        video_mode: VideoMode = "frames",
        image_format: Literal["png", "jpeg"] = "png",
        extra_sampling: bool = True,
        connect_timeout_s: float = 10.0,
        read_timeout_s: float = 300.0,
        transport: httpx.BaseTransport | None = None,
        key_url: str | None = None,
    ) -> None:
        if not url or not urlsplit(url.strip()).scheme.startswith("http"):
            raise ConfigError(
                f"remote engine: the server URL must start with http:// or "
                f"https://, got {_display_url(url or '')!r}"
            )
        caps = remote_caps(model, family)
        if thinking_style not in ("chat_template_kwargs", "vendor", "none"):
            raise ConfigError(
                f"thinking_style must be chat_template_kwargs, vendor or none, "
                f"got {thinking_style!r}"
            )
        if video_mode not in ("frames", "video"):
            raise ConfigError(f"video_mode must be frames or video, got {video_mode!r}")
        self.url = url.strip()
        self.endpoint = _endpoint(self.url)
        self.model = model
        self.caps = caps
        self.family = caps.family
        self.name = model or _display_url(self.url)
        self.api_key_env = api_key_env
        self.thinking_style = thinking_style
        self.video_mode = video_mode
        self.image_format = image_format
        self.extra_sampling = extra_sampling
        self.connect_timeout_s = connect_timeout_s
        self.read_timeout_s = read_timeout_s
        self._transport = transport
        # The key goes only to the server it was configured for (scheme, host, port, path).
        self._key_origin = _origin(_endpoint(key_url.strip() if key_url else self.url))
        self._rejected: set[str] = set()
        self._lock = threading.Lock()

    # -- construction from settings ---------------------------------------------------------

    @classmethod
    def from_config(cls, config: AppConfig, **overrides: Any) -> RemoteEngine:
        """From the app's settings (flags and the ``GLMV_*`` variables of
        :meth:`AppConfig.from_env <glmv_ui.config.AppConfig.from_env>`)."""
        if not config.remote_url:
            raise ConfigError(
                "the remote engine needs the server's URL (--url or "
                "GLMV_REMOTE_URL), e.g. http://localhost:8000/v1"
            )
        kwargs: dict[str, Any] = dict(
            model=config.remote_model,
            family=config.remote_family,
            api_key_env=config.remote_api_key_env,
            thinking_style=config.remote_thinking_style,
            video_mode=config.remote_video_mode,
            key_url=config.remote_key_url,
        )
        kwargs.update(overrides)
        return cls(config.remote_url, **kwargs)

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, **overrides: Any) -> RemoteEngine:
        """Built from ``GLMV_REMOTE_URL``, ``GLMV_REMOTE_MODEL``, ``GLMV_REMOTE_FAMILY``,
        ``GLMV_REMOTE_THINKING`` (chat_template_kwargs | vendor | none), ``GLMV_REMOTE_VIDEO``
        (frames | video) and ``GLMV_API_KEY_ENV`` (the name of the variable holding the key)."""
        return cls.from_config(AppConfig.from_env(environ), **overrides)

    def __repr__(self) -> str:
        key = "set" if self._api_key() else "not set"
        return (
            f"RemoteEngine(url={_display_url(self.url)!r}, model={self.model!r}, "
            f"family={self.family!r}, api_key_env={self.api_key_env!r} ({key}))"
        )

    # -- requests ---------------------------------------------------------------------------

    def _api_key(self) -> str:
        if _origin(self.endpoint) != self._key_origin:
            return ""
        return os.environ.get(self.api_key_env, "").strip()

    def _mask(self, text: str) -> str:
        key = self._api_key()
        return text.replace(key, "***") if key else text

    def _where(self) -> str:
        return _display_url(self.endpoint)

    def _client(self) -> httpx.Client:
        import httpx

        headers = {"Accept": "text/event-stream"}
        key = self._api_key()
        if key:
            headers["Authorization"] = f"Bearer {key}"
        timeout = httpx.Timeout(
            connect=self.connect_timeout_s,
            read=self.read_timeout_s,
            write=self.read_timeout_s,
            pool=self.connect_timeout_s,
        )
        return httpx.Client(headers=headers, timeout=timeout, transport=self._transport)

    def resolve_model(self) -> str:
        """The model name to send: the one given, or the first the server lists."""
        if self.model:
            return self.model
        import httpx

        models_url = self.endpoint[: -len("/chat/completions")] + "/models"
        try:
            with self._client() as client:
                response = client.get(models_url)
                response.raise_for_status()
                data = response.json().get("data") or []
        except (httpx.HTTPError, ValueError, AttributeError) as exc:
            raise EngineConnectionError(
                f"could not list the models at {_display_url(models_url)} "
                f"({type(exc).__name__}); pass the served model name (--remote-model)"
            ) from None
        if not data or not isinstance(data[0], dict) or not data[0].get("id"):
            raise EngineConnectionError(
                f"{_display_url(models_url)} lists no models; pass "
                "the served model name (--remote-model)"
            )
        with self._lock:
            self.model = self.model or str(data[0]["id"])
            self.name = self.model
        return self.model

    def build_body(self, request: GenerationRequest) -> dict[str, Any]:
        """The JSON body for one request (also useful to inspect what would be sent)."""
        s = request.sampling
        vendor = self.thinking_style == "vendor"
        body: dict[str, Any] = {
            "model": self.resolve_model(),
            "messages": [self._message(m) for m in request.messages],
            "stream": True,
            "max_tokens": s.max_new_tokens,
            "temperature": s.temperature,
            # The vendor API takes top_p in [0.01, 1]; GLM-4.1V's near-greedy default is lower.
            "top_p": max(s.top_p, 0.01) if vendor else s.top_p,
        }
        if not vendor:
            body["stream_options"] = {"include_usage": True}
            if s.seed is not None:
                body["seed"] = s.seed
            if self.extra_sampling:
                if s.top_k:
                    body["top_k"] = s.top_k
                body["repetition_penalty"] = s.repetition_penalty
        if self.caps.can_disable_thinking:
            if self.thinking_style == "chat_template_kwargs":
                body["chat_template_kwargs"] = self.caps.template_kwargs(s.thinking, s.effort)
            elif vendor:
                body["thinking"] = {"type": "enabled" if s.thinking else "disabled"}
        for name in self._rejected:
            body.pop(name, None)
        return body

    # -- message encoding -------------------------------------------------------------------

    def _message(self, message: Message) -> dict[str, Any]:
        """One record as OpenAI-style JSON: the only place messages become dicts for a server."""
        match message:
            case SystemMessage(content=text) | AssistantMessage(content=text):
                return {"role": message.role, "content": text}
            case UserMessage(content=items):
                return {"role": "user", "content": [j for item in items for j in self._part(item)]}
            case _:
                raise TypeError(f"not a message record: {type(message).__name__}")

    def _part(self, part: UserPart) -> list[dict[str, Any]]:
        match part:
            case TextPart(text=text):
                return [{"type": "text", "text": text}]
            case ImagePart(media=media):
                url = data_url(media.image, self.image_format)
                return [{"type": "image_url", "image_url": {"url": url}}]
            case VideoPart(media=media):
                return self._video(media)
            case _:
                raise TypeError(f"not a message part: {type(part).__name__}")

    def _video(self, part: MediaPart) -> list[dict[str, Any]]:
        if self.video_mode == "video":
            url = "data:video/mp4;base64," + base64.b64encode(encode_mp4(part)).decode("ascii")
            return [{"type": "video_url", "video_url": {"url": url}}]
        out: list[dict[str, Any]] = []
        stamps: list[float | None] = [*part.timestamps] or [None] * len(part.frames)
        for frame, t in zip(part.frames, stamps, strict=False):
            # The timestamp keeps the model's sense of time that a real video input carries.
            label = f"{part.source} at {t:.1f} s:" if t is not None else f"{part.source}:"
            out.append({"type": "text", "text": label})
            out.append({"type": "image_url", "image_url": {"url": data_url(frame, "jpeg")}})
        return out

    # -- streaming --------------------------------------------------------------------------

    def stream(
        self, request: GenerationRequest, cancel: threading.Event | None = None
    ) -> Iterator[Chunk]:
        import httpx

        cancel = cancel or threading.Event()
        body = self.build_body(request)
        reply = Reply(start=time.perf_counter())
        try:
            # Leaving these blocks (the end, an error, Stop, or the consumer closing this
            # generator) closes the response, which the server sees as a disconnect.
            with self._client() as client, closing(self._open(client, body)) as response:
                yield from self._read(response, cancel, reply)
        except httpx.TimeoutException as exc:
            raise EngineConnectionError(
                f"{self._where()} timed out ({type(exc).__name__}: no data for "
                f"{self.read_timeout_s:g} s to read, {self.connect_timeout_s:g} s to connect)"
            ) from None
        except httpx.HTTPError as exc:
            raise EngineConnectionError(
                f"lost the connection to {self._where()}: "
                f"{self._mask(str(exc)) or type(exc).__name__}"
            ) from None

    def _open(self, client: httpx.Client, body: dict[str, Any]) -> httpx.Response:
        """Send the request; on 400/422 naming optional fields, drop them and send it again."""
        import httpx

        for attempt in range(3):
            try:
                response = client.send(
                    client.build_request("POST", self.endpoint, json=body), stream=True
                )
            except httpx.ConnectError as exc:
                raise EngineConnectionError(
                    f"cannot connect to {self._where()}: {self._mask(str(exc))}; is the server "
                    "running and the URL right?"
                ) from None
            if response.status_code < 400:
                return response
            text = self._mask(response.read().decode("utf-8", "replace"))
            response.close()
            refused = [f for f in _OPTIONAL_FIELDS if f in body and re.search(rf"\b{f}\b", text)]
            if attempt < 2 and response.status_code in (400, 422) and refused:
                with self._lock:
                    self._rejected.update(refused)
                body = {k: v for k, v in body.items() if k not in refused}
                continue
            raise EngineConnectionError(
                f"{self._where()} answered HTTP {response.status_code}: {error_text(text)}"
            )
        raise AssertionError("unreachable")

    def _read(
        self, response: httpx.Response, cancel: threading.Event, reply: Reply
    ) -> Iterator[Chunk]:
        try:
            from httpx_sse import EventSource
        except ImportError as exc:
            raise MissingDependencyError("httpx-sse", "Streaming from a remote server") from exc

        ctype = response.headers.get("content-type", "")
        if "json" in ctype and "event-stream" not in ctype:
            yield from self._whole(response, reply)
            return
        if "text/event-stream" not in ctype:
            # httpx-sse refuses other labels; a stream from a server or proxy that mislabels it
            # (or sends none) is still read as SSE, as this engine always has.
            response.headers["content-type"] = "text/event-stream"
        done = False
        for event in EventSource(response).iter_sse():
            if cancel.is_set():
                break
            data = event.data.strip()
            if data == "[DONE]":
                done = True
                break
            if not data:
                continue  # an event of only an id, a retry or an empty keep-alive
            text = self._fold(data, reply)
            if text:
                reply.got_text()
                yield Chunk(text, reply.stats())
        if cancel.is_set():
            finish = "cancelled"
        elif reply.finish_reason is not None or done:
            finish = reply.finish()
        else:
            raise EngineConnectionError(
                f"{self._where()} closed the stream before the reply finished "
                f"({reply.text_chunks} chunks received)"
            )
        yield Chunk(reply.close_reasoning(), reply.stats(finish), done=True)

    def _whole(self, response: httpx.Response, reply: Reply) -> Iterator[Chunk]:
        """A server that ignored ``stream: true`` and sent one JSON reply."""
        text = self._fold(response.read().decode("utf-8", "replace"), reply)
        text += reply.close_reasoning()
        reply.got_text()
        yield Chunk(text, reply.stats())
        yield Chunk("", reply.stats(reply.finish()), done=True)

    def _fold(self, data: str, reply: Reply) -> str:
        """One payload -> raw text (see :meth:`Reply.fold`); a malformed one, or one that
        carries the server's error, raises :class:`GenerationError`."""
        try:
            payload = json.loads(data)
            error = payload.get("error") if isinstance(payload, dict) else None
            if not error:
                return reply.fold(payload)
        except ValueError:  # not JSON, or MalformedChunk
            raise GenerationError(
                f"{self._where()} sent a malformed chunk: {error_text(self._mask(data))}"
            ) from None
        raise GenerationError(
            f"{self._where()} reported an error mid-stream: "
            f"{error_text(self._mask(json.dumps(error)))}"
        )


def encode_mp4(part: MediaPart) -> bytes:
    """Encode a video part's sampled frames as an H.264 mp4 at the rate they were sampled."""
    try:
        import av
    except ImportError as exc:
        raise MissingDependencyError("av", "Sending a video to a remote server") from exc
    from fractions import Fraction

    frames = list(part.frames)
    if not frames:
        raise GenerationError(f"{part.source}: the video part has no frames")
    fps = part.fps or 2.0
    width, height = frames[0].width // 2 * 2, frames[0].height // 2 * 2  # yuv420p needs even
    buf = io.BytesIO()
    with av.open(buf, mode="w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=Fraction(fps).limit_denominator(1000))
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        for image in frames:
            frame = av.VideoFrame.from_image(
                image.convert("RGB").resize((width, height))
                if image.size != (width, height)
                else image.convert("RGB")
            )
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return buf.getvalue()

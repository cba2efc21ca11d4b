"""One widget WebSocket: the customer's sends, resumes and pings in; acks, live messages and
conversation changes out.

Frames from the widget are handled one at a time, in order; live updates from the bus are
forwarded by one task per subscribed conversation. Database work runs in the thread pool.
Nothing here is the source of truth: after any gap the widget sends ``resume`` with the last
sequence number it has, and gets exactly what it missed from the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from frontdesk.channels.chat import (
    ChatSend,
    conversation_summary,
    current_conversation,
    customer_conversation,
    send_chat_message,
    visible_messages,
)
from frontdesk.errors import FrontdeskError, RateLimited
from frontdesk.live import conversation_channel
from frontdesk.live.bus import Subscription
from frontdesk.runtime import Runtime

log = logging.getLogger(__name__)

# Close codes the widget understands (4000–4999 are the application's own).
CLOSE_UNAUTHORIZED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_NOT_FOUND = 4404
CLOSE_RATE_LIMITED = 4429


class SendFrame(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: Literal["send"]
    client_id: str = Field(max_length=200)
    text: str
    conversation_id: int | None = None
    page_url: str | None = None
    intent: Literal["yes", "no", "human"] | None = None


class ResumeFrame(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: Literal["resume"]
    conversation_id: int
    after_seq: int = Field(ge=0)


class PingFrame(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: Literal["ping"]


Frame = Annotated[SendFrame | ResumeFrame | PingFrame, Field(discriminator="type")]
_frames: TypeAdapter[SendFrame | ResumeFrame | PingFrame] = TypeAdapter(Frame)


def _frame_error(exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first.get("loc", ()) if p not in ("send", "resume", "ping"))
    return f"{where or 'frame'}: {first.get('msg', 'invalid')}"


class WidgetConnection:
    def __init__(
        self,
        websocket: WebSocket,
        runtime: Runtime,
        *,
        workspace_id: int,
        customer_id: int,
        ip: str,
    ) -> None:
        self.ws = websocket
        self.runtime = runtime
        self.workspace_id = workspace_id
        self.customer_id = customer_id
        self.ip = ip
        self._send_lock = asyncio.Lock()
        self._stack = contextlib.AsyncExitStack()
        self._pumps: dict[int, asyncio.Task[None]] = {}
        self._status: dict[int, str] = {}
        self._last_seq: dict[int, int] = {}

    # Outgoing ---------------------------------------------------------------------------------

    async def send(self, frame: dict[str, Any]) -> None:
        async with self._send_lock:
            if self.ws.application_state == WebSocketState.CONNECTED:
                await self.ws.send_text(json.dumps(frame, ensure_ascii=False))

    async def send_error(
        self, code: str, message: str, *, client_id: str | None = None, **extra: Any
    ) -> None:
        frame: dict[str, Any] = {"type": "error", "code": code, "message": message, **extra}
        if client_id is not None:
            frame["client_id"] = client_id
        await self.send(frame)

    def _seen(self, message: dict[str, Any]) -> None:
        cid = int(message["conversation_id"])
        self._last_seq[cid] = max(self._last_seq.get(cid, 0), int(message["seq"]))

    # Subscriptions ----------------------------------------------------------------------------

    async def watch(self, conversation_id: int, status: str | None = None) -> bool:
        """Subscribe to the conversation's live channel; False if already subscribed."""
        if status is not None:
            self._status.setdefault(conversation_id, status)
        if conversation_id in self._pumps:
            return False
        sub = await self._stack.enter_async_context(
            self.runtime.bus.subscribe(conversation_channel(conversation_id))
        )
        self._pumps[conversation_id] = asyncio.create_task(
            self._pump(conversation_id, sub), name=f"widget-pump-{conversation_id}"
        )
        return True

    async def _pump(self, conversation_id: int, sub: Subscription) -> None:
        try:
            while True:
                _channel, event = await sub.get()
                if sub.overflowed:  # fell behind: resend from the database what we may lack
                    while not sub.queue.empty():
                        sub.queue.get_nowait()
                    sub.overflowed = False
                    await self.catch_up(conversation_id, self._last_seq.get(conversation_id, 0))
                    continue
                kind = event.get("type")
                if kind == "message" and isinstance(event.get("message"), dict):
                    self._seen(event["message"])
                    await self.send({"type": "message", "message": event["message"]})
                elif kind == "conversation.updated":
                    status = str(event.get("status"))
                    if self._status.get(conversation_id) != status:
                        self._status[conversation_id] = status
                        await self.send(
                            {
                                "type": "conversation",
                                "conversation": {
                                    "id": conversation_id,
                                    "status": status,
                                    "last_seq": self._last_seq.get(conversation_id, 0),
                                },
                            }
                        )
        except asyncio.CancelledError:
            raise
        except Exception:  # the socket went away while sending
            log.debug("widget pump for conversation %s ended", conversation_id, exc_info=True)

    async def catch_up(self, conversation_id: int, after_seq: int) -> None:
        def load() -> list[dict[str, Any]]:
            with self.runtime.db.read() as session:
                return visible_messages(session, conversation_id, after_seq=after_seq, limit=1000)

        messages = await run_in_threadpool(load)
        for message in messages:
            self._seen(message)
        await self.send(
            {"type": "messages", "conversation_id": conversation_id, "messages": messages}
        )

    # Incoming ---------------------------------------------------------------------------------

    async def run(self) -> None:
        try:
            await self.start()
            while True:
                raw = await self.ws.receive()
                if raw["type"] == "websocket.disconnect":
                    break
                await self.handle_raw(raw.get("text"), raw.get("bytes"))
        except WebSocketDisconnect:
            pass
        finally:
            for task in self._pumps.values():
                task.cancel()
            for task in self._pumps.values():
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await self._stack.aclose()

    async def handle_raw(self, text: str | None, data: bytes | None) -> None:
        limit = self.runtime.settings.max_message_chars * 4 + 4096
        if text is None:
            try:
                text = (data or b"").decode("utf-8")
            except UnicodeDecodeError:
                await self.send_error("invalid_input", "The frame is not valid UTF-8.")
                return
        if len(text) > limit:
            await self.send_error("too_large", f"The frame is larger than {limit} characters.")
            return
        try:
            raw = json.loads(text)
        except ValueError:
            await self.send_error("invalid_input", "The frame is not valid JSON.")
            return
        try:
            frame = _frames.validate_python(raw)
        except ValidationError as exc:
            candidate = raw.get("client_id") if isinstance(raw, dict) else None
            client_id = candidate if isinstance(candidate, str) else None
            await self.send_error("invalid_input", _frame_error(exc), client_id=client_id)
            return
        if isinstance(frame, PingFrame):
            await self.send({"type": "pong"})
        elif isinstance(frame, ResumeFrame):
            await self.resume(frame)
        else:
            await self.send_message(frame)

    def _limit(self, *, ip: bool) -> None:
        settings = self.runtime.settings
        limiter = self.runtime.limiter
        limiter.hit(
            f"widget:customer:{self.workspace_id}:{self.customer_id}",
            limit=settings.rate_widget_per_minute,
            window=60,
            what="chat messages",
        )
        if ip:
            limiter.hit(
                f"widget:ip:{self.ip}",
                limit=settings.rate_widget_ip_per_minute,
                window=60,
                what="chat requests from this address",
            )

    async def resume(self, frame: ResumeFrame) -> None:
        try:
            self._limit(ip=False)

            def check() -> str:
                with self.runtime.db.read() as session:
                    return customer_conversation(
                        session, self.workspace_id, self.customer_id, frame.conversation_id
                    ).status

            status = await run_in_threadpool(check)
        except FrontdeskError as exc:
            await self._send_failure(exc, None)
            return
        # Subscribe first, then read: whatever lands in between arrives twice, never zero times.
        await self.watch(frame.conversation_id, status)
        await self.catch_up(frame.conversation_id, frame.after_seq)

    async def send_message(self, frame: SendFrame) -> None:
        send = ChatSend(
            workspace_id=self.workspace_id,
            customer_id=self.customer_id,
            client_id=frame.client_id,
            text=frame.text,
            conversation_id=frame.conversation_id,
            page_url=frame.page_url,
            intent=frame.intent,
        )
        try:
            self._limit(ip=True)
            delivery = await run_in_threadpool(
                send_chat_message,
                self.runtime.db,
                send,
                max_chars=self.runtime.settings.max_message_chars,
            )
        except FrontdeskError as exc:
            await self._send_failure(exc, frame.client_id)
            return
        conversation = delivery.conversation
        cid = int(conversation["id"])
        self._seen(delivery.message)
        new = await self.watch(cid, str(conversation["status"]))
        await self.send({"type": "ack", "client_id": frame.client_id, "message": delivery.message})
        if new:
            await self.send({"type": "conversation", "conversation": conversation})
            # Anything posted between the commit and the subscription (a quick bot or agent
            # answer) was published before we listened: read it.
            await self.catch_up(cid, int(delivery.message["seq"]))

    async def start(self) -> None:
        """Follow the customer's current conversation (another tab may have started it)."""

        def load() -> dict[str, Any] | None:
            with self.runtime.db.read() as session:
                current = current_conversation(session, self.workspace_id, self.customer_id)
                return conversation_summary(current) if current is not None else None

        conversation = await run_in_threadpool(load)
        if conversation is not None:
            self._last_seq[int(conversation["id"])] = int(conversation["last_seq"])
            await self.watch(int(conversation["id"]), str(conversation["status"]))
            await self.send({"type": "conversation", "conversation": conversation})

    async def _send_failure(self, exc: FrontdeskError, client_id: str | None) -> None:
        extra: dict[str, Any] = {}
        if isinstance(exc, RateLimited):
            extra["retry_after"] = exc.retry_after
        await self.send_error(exc.code, exc.message, client_id=client_id, **extra)

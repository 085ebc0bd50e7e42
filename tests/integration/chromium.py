"""A real headless Chromium (Debian's ``chromium``) driven over the DevTools protocol.

No browser-automation dependency: aiohttp (already installed) speaks the protocol's websocket.
Each page load reports the rendered DOM, every console error, uncaught exception and browser
log error (CSP violations, failed resources), and a PNG screenshot.
"""

from __future__ import annotations

import asyncio
import base64
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import aiohttp

FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--hide-scrollbars", "--mute-audio",
)
START_TIMEOUT = 30.0
LOAD_TIMEOUT = 30.0


def chromium_binary() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@dataclass
class PageLoad:
    url: str
    dom: str
    broken_images: list[str]
    """``src`` (first 60 characters) of every image the browser could not decode."""
    errors: list[str] = field(default_factory=list)
    screenshot: Path | None = None


class Chromium:
    """One browser process with a fresh profile in ``profile``; stopped on exit."""

    def __init__(self, profile: Path, *, width: int = 1400, height: int = 1000) -> None:
        binary = chromium_binary()
        if binary is None:
            raise RuntimeError("chromium is not installed (deploy/local/system-deps.sh)")
        profile.mkdir(parents=True, exist_ok=True)
        self._profile = profile
        self._command = [binary, *FLAGS, f"--user-data-dir={profile}",
                         f"--window-size={width},{height}", "--remote-debugging-port=0",
                         "--remote-debugging-address=127.0.0.1", "about:blank"]
        self._process: subprocess.Popen[bytes] | None = None
        self.port = 0

    def __enter__(self) -> Chromium:
        self._process = subprocess.Popen(
            self._command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        active = self._profile / "DevToolsActivePort"
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"chromium exited with {self._process.returncode}")
            if active.exists() and (lines := active.read_text().splitlines()):
                self.port = int(lines[0])
                return self
            time.sleep(0.1)
        self.__exit__(None, None, None)
        raise RuntimeError(f"chromium did not open its DevTools port in {START_TIMEOUT:g}s")

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(timeout=10)

    def load(self, url: str, *, screenshot: Path | None = None,
             headers: dict[str, str] | None = None, javascript: bool = True) -> PageLoad:
        """Open ``url`` in a new tab, wait for its load event, and report what happened
        (with ``javascript=False`` the page's scripts are disabled, as some readers have it)."""
        return asyncio.run(self._load(url, screenshot, headers or {}, javascript))

    async def _load(self, url: str, screenshot: Path | None,
                    headers: dict[str, str], javascript: bool) -> PageLoad:
        base = f"http://127.0.0.1:{self.port}"
        async with aiohttp.ClientSession() as session:
            async with session.put(f"{base}/json/new?about:blank") as response:
                target = await response.json()
            try:
                async with session.ws_connect(target["webSocketDebuggerUrl"],
                                              max_msg_size=0) as ws:
                    return await _drive(ws, url, screenshot, headers, javascript)
            finally:
                async with session.get(f"{base}/json/close/{target['id']}"):
                    pass


async def _drive(ws: aiohttp.ClientWebSocketResponse, url: str, screenshot: Path | None,
                 headers: dict[str, str], javascript: bool) -> PageLoad:
    ids = iter(range(1, 1_000_000))
    errors: list[str] = []
    loaded = asyncio.Event()
    answers: dict[int, asyncio.Future[dict[str, Any]]] = {}

    async def call(method: str, **params: Any) -> dict[str, Any]:
        number = next(ids)
        answers[number] = asyncio.get_running_loop().create_future()
        await ws.send_json({"id": number, "method": method, "params": params})
        return await asyncio.wait_for(answers[number], LOAD_TIMEOUT)

    async def receive() -> None:
        async for message in ws:
            data = message.json()
            if "id" in data and data["id"] in answers:
                answers[data["id"]].set_result(data.get("result", data))
            method = data.get("method")
            params = data.get("params", {})
            if method == "Page.loadEventFired":
                loaded.set()
            elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error",
                                                                                 "assert"):
                errors.append("console: " + " ".join(
                    str(arg.get("value", arg.get("description"))) for arg in params["args"]))
            elif method == "Runtime.exceptionThrown":
                errors.append("exception: " + params["exceptionDetails"].get("text", ""))
            elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
                errors.append(f"log: {params['entry'].get('text')} {params['entry'].get('url')}")

    reader = asyncio.create_task(receive())
    try:
        for domain in ("Page", "Runtime", "Log", "Network"):
            await call(f"{domain}.enable")
        if headers:
            await call("Network.setExtraHTTPHeaders", headers=headers)
        if not javascript:
            await call("Emulation.setScriptExecutionDisabled", value=True)
        await call("Page.navigate", url=url)
        await asyncio.wait_for(loaded.wait(), LOAD_TIMEOUT)
        await asyncio.sleep(0)  # let events queued with the load event arrive
        result = await call("Runtime.evaluate", expression="document.documentElement.outerHTML",
                            returnByValue=True)
        broken = await call("Runtime.evaluate", returnByValue=True, expression=(
            "Array.from(document.images).filter(i => !(i.complete && i.naturalWidth > 0))"
            ".map(i => i.src.slice(0, 60))"))
        page = PageLoad(url=url, dom=result["result"]["value"],
                        broken_images=broken["result"]["value"], errors=errors)
        if screenshot is not None:
            shot = await call("Page.captureScreenshot", format="png", captureBeyondViewport=True)
            screenshot.write_bytes(base64.b64decode(shot["data"]))
            page.screenshot = screenshot
        return page
    finally:
        reader.cancel()

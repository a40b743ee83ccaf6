"""Images and files for Converse, which takes bytes: data URLs are decoded, http(s) image URLs fetched.

Fetching a URL named by a caller is a server-side request forgery risk, so a fetch
- resolves the host itself and refuses it if *any* address is not globally routable (loopback, private,
  link-local such as the 169.254.169.254 metadata service, shared, reserved, multicast);
- then connects to the checked address (``Host`` header and TLS SNI keep the name), so a second DNS answer
  cannot swap in an internal address;
- follows at most ``_MAX_REDIRECTS`` redirects, checking every hop the same way;
- stops at ``fetch_max_bytes`` and ``fetch_timeout`` (whole fetch, not per read).
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import re
import socket
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING
from urllib.parse import unquote_to_bytes

import anyio
import httpx

from gateway.errors import InvalidRequestError
from gateway.schemas.items import InputFile, InputImage
from gateway.settings import Settings

if TYPE_CHECKING:
    from mypy_boto3_bedrock_runtime.literals import DocumentFormatType, ImageFormatType
    from mypy_boto3_bedrock_runtime.type_defs import DocumentBlockTypeDef, ImageBlockTypeDef

Resolver = Callable[[str, int], Awaitable[list[str]]]
"""``(host, port) -> addresses``; injectable so tests never touch DNS."""

_MAX_REDIRECTS = 3
_IMAGE_MIME: dict[str, ImageFormatType] = {
    "image/png": "png",
    "image/jpeg": "jpeg",
    "image/jpg": "jpeg",
    "image/gif": "gif",
    "image/webp": "webp",
}
_DOCUMENT_EXTENSION: dict[str, DocumentFormatType] = {
    "pdf": "pdf",
    "csv": "csv",
    "doc": "doc",
    "docx": "docx",
    "xls": "xls",
    "xlsx": "xlsx",
    "html": "html",
    "htm": "html",
    "txt": "txt",
    "md": "md",
    "markdown": "md",
}
_DOCUMENT_MIME: dict[str, DocumentFormatType] = {
    "application/pdf": "pdf",
    "text/csv": "csv",
    "application/msword": "doc",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
    "application/vnd.ms-excel": "xls",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx",
    "text/html": "html",
    "text/plain": "txt",
    "text/markdown": "md",
}
_DATA_URL = re.compile(r"^data:(?P<mime>[^;,]*)(?P<params>(?:;[^;,]*)*),(?P<data>.*)$", re.DOTALL)
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_NAME_UNSAFE = re.compile(r"[^A-Za-z0-9\s\-()\[\]]+")
"""Bedrock document names allow letters, digits, single spaces, hyphens, parentheses and brackets."""


def _image_error(message: str) -> InvalidRequestError:
    return InvalidRequestError(message, param="input", code="invalid_image_url")


def parse_data_url(url: str) -> tuple[str, bytes]:
    """``data:<mime>[;base64],<data>`` → (mime, bytes)."""
    match = _DATA_URL.match(url)
    if match is None:
        raise InvalidRequestError("Malformed data URL.", param="input")
    try:
        if ";base64" in match["params"].lower():
            return match["mime"].lower(), base64.b64decode(match["data"], validate=True)
        return match["mime"].lower(), unquote_to_bytes(match["data"])
    except (binascii.Error, ValueError) as exc:
        raise InvalidRequestError("A data URL holds invalid base64.", param="input") from exc


def _sniff_image(data: bytes) -> ImageFormatType | None:
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if data.startswith((b"GIF87a", b"GIF89a")):
        return "gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    return None


def image_block(mime: str, data: bytes) -> ImageBlockTypeDef:
    image_format = _sniff_image(data) or _IMAGE_MIME.get(mime.split(";")[0].strip().lower())
    if image_format is None:
        raise _image_error(f"Unsupported image type '{mime or 'unknown'}': Bedrock takes PNG, JPEG, GIF and WebP.")
    return {"format": image_format, "source": {"bytes": data}}


def _document_name(filename: str | None, taken: set[str]) -> str:
    stem = filename.rsplit(".", 1)[0] if filename and "." in filename else (filename or "")
    name = " ".join(_NAME_UNSAFE.sub(" ", stem).split())[:190] or "document"
    unique, n = name, 2
    while unique in taken:
        unique, n = f"{name} ({n})", n + 1
    taken.add(unique)
    return unique


def document_block(part: InputFile, taken_names: set[str]) -> DocumentBlockTypeDef:
    """An ``input_file`` with ``file_data`` as a Converse document block."""
    if part.file_data is None:
        given = "file_id" if part.file_id else "file_url" if part.file_url else "nothing"
        raise InvalidRequestError(
            f"input_file needs file_data (a base64 data URL) on Bedrock models; got {given}.",
            param="input",
            code="unsupported_value",
        )
    if part.file_data.startswith("data:"):
        mime, data = parse_data_url(part.file_data)
    else:
        mime, data = "", _plain_base64(part.file_data)
    extension = part.filename.rsplit(".", 1)[-1].lower() if part.filename and "." in part.filename else ""
    doc_format = _DOCUMENT_EXTENSION.get(extension) or _DOCUMENT_MIME.get(mime)
    if doc_format is None:
        raise InvalidRequestError(
            f"Unsupported file type '{part.filename or mime or 'unknown'}': Bedrock documents are "
            f"{', '.join(sorted(set(_DOCUMENT_EXTENSION.values())))}.",
            param="input",
            code="unsupported_value",
        )
    if not data:
        raise InvalidRequestError("input_file is empty.", param="input")
    return {"format": doc_format, "name": _document_name(part.filename, taken_names), "source": {"bytes": data}}


def _plain_base64(value: str) -> bytes:
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidRequestError("input_file.file_data is not base64.", param="input") from exc


async def system_resolver(host: str, port: int) -> list[str]:
    infos = await anyio.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


def _is_public(address: str) -> bool:
    """Globally routable, and so is any IPv4 address it wraps (mapped, 6to4, Teredo, NAT64)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    candidates: list[ipaddress.IPv4Address | ipaddress.IPv6Address] = [ip]
    if isinstance(ip, ipaddress.IPv6Address):
        candidates += [wrapped for wrapped in (ip.ipv4_mapped, ip.sixtofour, *(ip.teredo or ())) if wrapped]
        if ip in _NAT64:
            candidates.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    return all(candidate.is_global and not candidate.is_multicast for candidate in candidates)


class MediaLoader:
    """Turns ``input_image`` parts into image blocks for one request; fetches with one pooled client."""

    def __init__(
        self,
        settings: Settings,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        resolver: Resolver | None = None,
    ) -> None:
        self._settings = settings
        self._transport = transport
        self._resolver = resolver or system_resolver
        self._http: httpx.AsyncClient | None = None

    async def aclose(self) -> None:
        if self._http is not None:
            await self._http.aclose()

    async def image(self, part: InputImage) -> ImageBlockTypeDef:
        url = part.image_url
        if url is None:
            raise InvalidRequestError(
                "input_image needs image_url (a data URL or an http(s) URL) on Bedrock models; "
                "file_id is not supported.",
                param="input",
                code="unsupported_value",
            )
        if url.startswith("data:"):
            return image_block(*parse_data_url(url))
        if not url.lower().startswith(("http://", "https://")):
            raise _image_error("image_url must be a data URL or an http(s) URL.")
        if not self._settings.fetch_image_urls:
            raise _image_error(
                "This gateway does not fetch image URLs (RESPONSES_FETCH_IMAGE_URLS is off); "
                "send the image as a base64 data URL instead."
            )
        try:
            with anyio.fail_after(self._settings.fetch_timeout):
                mime, data = await self._fetch(url)
        except TimeoutError as exc:
            raise _image_error(f"Fetching the image URL timed out after {self._settings.fetch_timeout:g}s.") from exc
        except httpx.HTTPError as exc:
            raise _image_error(f"Could not fetch the image URL: {exc}") from exc
        return image_block(mime, data)

    async def _fetch(self, url: str) -> tuple[str, bytes]:
        if self._http is None:
            # trust_env=False: no proxy from the environment, so the connection goes to the address checked.
            self._http = httpx.AsyncClient(
                transport=self._transport,
                timeout=self._settings.fetch_timeout,
                follow_redirects=False,
                trust_env=False,
            )
        target = httpx.URL(url)
        for _ in range(_MAX_REDIRECTS + 1):
            address = await self._checked_address(target)
            pinned = target.copy_with(host=address)
            extensions = {"sni_hostname": target.host} if target.scheme == "https" else {}
            request = self._http.build_request(
                "GET", pinned, headers={"Host": target.netloc.decode("ascii")}, extensions=extensions
            )
            response = await self._http.send(request, stream=True)
            try:
                if response.is_redirect and "location" in response.headers:
                    target = target.join(response.headers["location"])
                    continue
                if response.status_code != 200:
                    raise _image_error(f"Fetching the image URL returned HTTP {response.status_code}.")
                return response.headers.get("content-type", ""), await self._read_capped(response)
            finally:
                await response.aclose()
        raise _image_error(f"The image URL redirected more than {_MAX_REDIRECTS} times.")

    async def _checked_address(self, url: httpx.URL) -> str:
        if url.scheme not in ("http", "https") or not url.host:
            raise _image_error("image_url must be an http(s) URL.")
        port = url.port or (443 if url.scheme == "https" else 80)
        try:
            addresses = await self._resolver(url.host, port)
        except OSError as exc:
            raise _image_error(f"Could not resolve the image URL's host '{url.host}'.") from exc
        if not addresses or not all(_is_public(address) for address in addresses):
            raise _image_error(
                f"The image URL's host '{url.host}' is not a public address; the gateway does not fetch "
                "from private, loopback or link-local networks."
            )
        return addresses[0]

    async def _read_capped(self, response: httpx.Response) -> bytes:
        cap = self._settings.fetch_max_bytes
        declared = response.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > cap:
            raise _image_error(f"The image is larger than the gateway's {cap}-byte limit.")
        body = bytearray()
        async for chunk in response.aiter_bytes():
            body += chunk
            if len(body) > cap:
                raise _image_error(f"The image is larger than the gateway's {cap}-byte limit.")
        return bytes(body)

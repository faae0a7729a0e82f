"""Downloading official weights so that what arrives is what was published.

* A transfer that ends early is refused, never cached: fewer bytes than the server's
  Content-Length, or a chunked body cut off (``http.client.IncompleteRead``). What did arrive
  is kept as a partial file, and the next attempt asks for the rest (HTTP ``Range``) where the
  server allows it.
* A web page where a file was expected (an error page, a login or quota page, Drive's
  "can't scan this file for viruses" page) is refused with what the page says, except Google
  Drive's confirmation form, which is followed as a browser would (its documented flow).
* One download serves every entry that comes from the same archive.

Plain ``urllib`` (no extra dependency); what is checked about the file itself (size, sha256,
layout) is :func:`neuralfx.host.weights.fetch`'s part.
"""

from __future__ import annotations

import hashlib
import html
import http.client
import re
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path

from ..errors import NeuralFXError

Progress = Callable[[int, int | None], None]
CHUNK = 1 << 20
_PAGE_START = re.compile(rb"^\s*(<!doctype html|<html|<\?xml|<head|<body|\{)", re.IGNORECASE)


def partial_path(folder: Path, url: str) -> Path:
    """Where the bytes of ``url`` gather until the transfer is complete."""
    return folder / (hashlib.sha256(url.encode()).hexdigest()[:16] + ".part")


def drive_file_id(url: str) -> str | None:
    """The file id of a Google Drive link (``open?id=``, ``file/d/ID/view``, ``uc?id=``)."""
    parsed = urllib.parse.urlparse(url)
    if not parsed.netloc.endswith(("drive.google.com", "drive.usercontent.google.com")):
        return None
    found = urllib.parse.parse_qs(parsed.query).get("id")
    if found:
        return found[0]
    match = re.search(r"/file/d/([\w-]+)", parsed.path)
    return match.group(1) if match else None


def download(
    url: str, target: Path, *, progress: Progress | None = None, timeout: float = 60
) -> Path:
    """Bring ``url`` to ``target`` completely (resuming ``target`` if it holds a start of it),
    following Google Drive's confirmation page. Raises NeuralFXError saying what went wrong;
    ``target`` then keeps what arrived, for the next attempt to resume."""
    file_id = drive_file_id(url)
    if file_id is not None:  # the viewer page is never the file: ask for the download
        url = f"https://drive.google.com/uc?export=download&id={file_id}"
    for _ in range(3):  # the page, then the confirmed download
        follow = _transfer(url, target, progress, timeout)
        if follow is None:
            return target
        url = follow
    raise NeuralFXError(
        f"{url} keeps answering with a confirmation page",
        hint="download the file in a browser and import it",
    )


def _transfer(url: str, target: Path, progress: Progress | None, timeout: float) -> str | None:
    """One request; returns a URL to follow (Drive's confirmation) or None when done."""
    have = target.stat().st_size if target.exists() else 0
    request = urllib.request.Request(url, headers={"User-Agent": "neuralfx"})
    if have:
        request.add_header("Range", f"bytes={have}-")
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as exc:
        exc.close()
        if exc.code == 416 and have:  # nothing left to send: what is here is all there is
            return None
        raise NeuralFXError(
            f"{url}: the server answered {exc.code} {exc.reason}", hint=_manual_hint(url)
        ) from None
    except (OSError, http.client.HTTPException) as exc:
        raise NeuralFXError(
            f"cannot reach {url}: {getattr(exc, 'reason', exc)}",
            hint="check the network (or the proxy), then run the same command again",
        ) from None
    with response:
        resumed = have and response.status == 206
        if not resumed:
            have = 0  # the server sent the whole file again
        length = response.headers.get("Content-Length")
        total = int(length) + have if length and length.isdigit() else None
        try:
            first = response.read(CHUNK)
        except (http.client.IncompleteRead, OSError) as exc:
            raise _cut_short(url, have, total, exc) from None
        if not resumed and _PAGE_START.match(first[:512]):
            page = first + response.read(256 * 1024)
            follow = _drive_confirmation(page, url)
            if follow is not None:
                return follow
            raise NeuralFXError(
                f"{url} sent a web page, not the file: {_page_words(page)}", hint=_manual_hint(url)
            )
        done = have
        with open(target, "ab" if resumed else "wb") as out:
            chunk = first
            try:
                while chunk:
                    out.write(chunk)
                    done += len(chunk)
                    if progress:
                        progress(done, total)
                    chunk = response.read(CHUNK)
            except (http.client.IncompleteRead, OSError) as exc:
                raise _cut_short(url, done, total, exc) from None
    if total is not None and done != total:
        raise _cut_short(url, done, total, None)
    return None


def _cut_short(url: str, done: int, total: int | None, exc) -> NeuralFXError:
    of = f" of {total:,}" if total else ""
    why = f" ({type(exc).__name__})" if exc is not None else ""
    return NeuralFXError(
        f"the download of {url} stopped after {done:,}{of} bytes{why}",
        hint="run the same command again: it asks for the rest (where the "
        "server allows) and nothing incomplete is ever cached",
    )


def _drive_confirmation(page: bytes, url: str) -> str | None:
    """Google Drive answers a large file's download with a form ("can't scan this file for
    viruses": download anyway); its action and hidden fields make the real download URL."""
    text = page.decode("utf-8", "replace")
    form = re.search(
        r'<form[^>]*id="download-form"[^>]*action="([^"]+)"(.*?)</form>', text, re.DOTALL
    )
    if form:
        fields = dict(re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', form.group(2)))
        action = urllib.parse.urljoin(url, html.unescape(form.group(1)))
        return action + "?" + urllib.parse.urlencode(fields)
    token = re.search(r"confirm=([\w-]+)", text)  # the older form of the same page
    if token and "drive.google.com" in url:
        return url + "&confirm=" + token.group(1)
    return None


def _page_words(page: bytes) -> str:
    text = page.decode("utf-8", "replace")
    title = re.search(r"<title[^>]*>(.*?)</title>", text, re.IGNORECASE | re.DOTALL)
    words = title.group(1) if title else re.sub(r"<[^>]+>", " ", text)
    return " ".join(html.unescape(words).split())[:160] or "(an empty page)"


def _manual_hint(url: str) -> str:
    return (
        "download the file in a browser (the server may want a login, or a quota was "
        "reached) and import it, or give a mirror with --url or NEURALFX_WEIGHTS_MIRROR"
    )

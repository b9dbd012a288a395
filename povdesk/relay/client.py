"""The relay client (httpx): signed requests, resumable uploads, receipts checked against the pinned key.

A transport failure, a timeout, a 5xx or a 429 is retried a few times with exponential backoff and
jitter (a 429's Retry-After respected). A transport failure still failing is a RelayUnreachable (the
caller keeps the bundle queued); a 5xx or 429 still answered, like any refusal (4xx), is a
RelayRefused carrying the relay's own bilingual message (the uploader shows the bundle refused with
that reason and offers it again in its next round). An upload succeeds only with a receipt
signed by the pinned relay key naming the bundle and its digest.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from povdesk.clock import SYSTEM_CLOCK, Clock
from povdesk.errors import BadInput
from povdesk.i18n import Text, tr
from povdesk.relay import signing as sig
from povdesk.sync.keys import unb64

MiB = 1 << 20
CHUNK = 8 * MiB  # the size of one part of a large upload (the relay takes up to 16 MiB a request)

Progress = Callable[[int, int], None]


class RelayUnreachable(BadInput):
    """The relay could not be reached (or kept failing): nothing is lost, try again later."""


class RelayCertificateRefused(RelayUnreachable):
    """An https:// relay presented another certificate than the pinned one: nothing was sent."""


class RelayRefused(BadInput):
    """The relay answered, and refused: its message says why."""

    def __init__(self, text: Text, *, status: int, code: str, body: dict[str, Any]) -> None:
        super().__init__(text)
        self.status, self.code, self.body = status, code, body


@dataclass(frozen=True)
class Upload:
    """What the relay answered for one bundle: its receipt (signature checked) and the state in it."""

    bundle_id: str
    receipt: dict[str, Any]

    @property
    def state(self) -> str:
        return str(self.receipt["state"])


def tls_context(cert_pem: str) -> ssl.SSLContext:
    """Trust exactly this certificate (the relay's, pinned when it was set), and nothing else."""
    try:
        ctx = ssl.create_default_context(cadata=cert_pem)
    except ssl.SSLError:
        raise BadInput(tr("固定的证书不是有效的 PEM 证书", "the pinned certificate is not a valid PEM certificate")) \
            from None
    ctx.check_hostname = False  # the pinned certificate is the identity, whatever name it carries
    ctx.verify_mode = ssl.CERT_REQUIRED
    return ctx


def cert_fingerprint(cert_pem: str) -> str:
    """SHA-256 of the certificate (DER), as `openssl x509 -fingerprint -sha256` prints it."""
    digest = hashlib.sha256(ssl.PEM_cert_to_DER_cert(cert_pem)).hexdigest().upper()
    return ":".join(digest[i:i + 2] for i in range(0, len(digest), 2))


def _norm_cert_fp(fp: str) -> str:
    return fp.strip().upper().replace(":", "").replace(" ", "").replace("SHA256=", "")


def served_certificate(url: str, expected_fingerprint: str, timeout: float = 10.0) -> str:
    """The certificate an https:// relay presents, as PEM, if its SHA-256 fingerprint is the one the county
    gave (read aloud or copied); it is then pinned and the only certificate trusted for this relay."""
    parsed = httpx.URL(url)
    if parsed.scheme != "https":
        raise BadInput(tr("只有 https:// 的中转服务器才有证书可固定", "only an https:// relay has a certificate to pin"))
    try:
        pem = ssl.get_server_certificate((parsed.host, parsed.port or 443), timeout=timeout)
    except (OSError, ssl.SSLError) as exc:
        raise _unreachable(url, exc) from None
    got = cert_fingerprint(pem)
    if _norm_cert_fp(got) != _norm_cert_fp(expected_fingerprint):
        raise BadInput(tr("中转服务器出示的 HTTPS 证书指纹是 {got}，不是给您的 {want}：可能有人冒充，不要使用，请与县里核对",
                          "the relay presents an HTTPS certificate with fingerprint {got}, not the {want} you were "
                          "given: someone may be in between; do not use it, and check with the county",
                          got=got, want=expected_fingerprint.strip()))
    return pem


def fetch_about(url: str, *, tls_cert: str | None = None, timeout: float = 10.0) -> dict[str, Any]:
    """The relay's public key and fingerprint (unauthenticated: compare the fingerprint by phone)."""
    verify: Any = tls_context(tls_cert) if tls_cert else True
    try:
        with httpx.Client(base_url=url.rstrip("/"), verify=verify, timeout=timeout) as http:
            r = http.get("/v1/relay")
    except httpx.HTTPError as exc:
        raise _unreachable(url, exc, pinned=bool(tls_cert)) from None
    try:
        data = r.json()
    except ValueError:
        data = None
    if r.status_code != 200 or not isinstance(data, dict) or data.get("format") != "povdesk-relay":
        raise BadInput(tr("{u} 不是 povdesk 中转服务器", "{u} is not a povdesk relay", u=url))
    return data


def _cert_refused(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    for _ in range(8):
        if seen is None:
            return False
        if isinstance(seen, ssl.SSLCertVerificationError) or "CERTIFICATE_VERIFY_FAILED" in str(seen):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _unreachable(url: str, exc: Exception, pinned: bool = True) -> RelayUnreachable:
    if _cert_refused(exc) and not pinned:
        return RelayCertificateRefused(tr(
            "中转服务器 {u} 的 HTTPS 证书不受信任，本工作区也没有固定证书，未发送任何内容；请向县里要证书指纹，运行 "
            "povdesk relay connect … --tls-fingerprint 指纹", "the relay at {u} presents an HTTPS certificate this "
            "laptop does not trust, and no certificate is pinned for it; nothing was sent: ask the county for the "
            "certificate's fingerprint and run povdesk relay connect … --tls-fingerprint FINGERPRINT", u=url))
    if _cert_refused(exc):
        return RelayCertificateRefused(tr(
            "中转服务器 {u} 出示的 HTTPS 证书不是设置时固定的那一张：可能有人冒充，未发送任何内容；请与县里核对（证书换过则重新运行 "
            "povdesk relay connect）", "the relay at {u} presents an HTTPS certificate other than the one pinned when it "
            "was set: someone may be in between, and nothing was sent; check with the county (if the certificate "
            "was renewed, run povdesk relay connect again)", u=url))
    return RelayUnreachable(tr("无法连接中转服务器 {u}（{e}）；同步包仍在待上传队列中，联网后再试",
                               "cannot reach the relay at {u} ({e}); the bundles stay queued: try again when "
                               "online", u=url, e=type(exc).__name__))


class RelayClient:
    """One device talking to one relay."""

    def __init__(self, url: str, device_id: str, sign_private: bytes, relay_public: bytes, *,
                 tls_cert: str | None = None, timeout: float = 30.0, retries: int = 3, backoff: float = 0.5,
                 chunk: int = CHUNK, clock: Clock | None = None) -> None:
        self.url = url.rstrip("/")
        self.device_id, self._key, self.relay_public = device_id, sign_private, relay_public
        self.retries, self.backoff, self.chunk = retries, backoff, chunk
        self.clock = clock or SYSTEM_CLOCK
        verify: Any = tls_context(tls_cert) if tls_cert else True
        self._pinned = bool(tls_cert)
        self._http = httpx.Client(base_url=self.url, verify=verify, timeout=timeout)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> RelayClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ----------------------------------------------------------------------------- requests

    def signed_headers(self, method: str, target: str, body: bytes = b"", *, now: float | None = None) -> dict[str, str]:
        when = self.clock.now().timestamp() if now is None else now
        return sig.sign_request(self._key, self.device_id, method, target, hashlib.sha256(body).hexdigest(), when)

    def _send(self, method: str, target: str, body: bytes = b"", headers: dict[str, str] | None = None,
              stream: bool = False, conflict_ok: bool = False) -> httpx.Response:
        """One signed request, retried on what may pass (network, 5xx, 429); a 4xx is raised."""
        attempt = 0
        while True:
            try:
                req = self._http.build_request(method, target, content=body or None,
                                               headers={**(headers or {}), **self.signed_headers(method, target, body)})
                r = self._http.send(req, stream=stream)
            except httpx.HTTPError as exc:
                if attempt >= self.retries:
                    raise _unreachable(self.url, exc, self._pinned) from None
                self._pause(attempt, None)
                attempt += 1
                continue
            if r.status_code >= 500 or r.status_code == 429:
                if stream:
                    r.read()
                if attempt >= self.retries:
                    raise _refused(r)
                self._pause(attempt, r.headers.get("retry-after"))
                attempt += 1
                continue
            if r.status_code >= 400 and not (conflict_ok and r.status_code == 409):
                if stream:
                    r.read()
                raise _refused(r)
            return r

    def _pause(self, attempt: int, retry_after: str | None) -> None:
        wait = self.backoff * (2 ** attempt) * (0.5 + random.random())
        if retry_after and retry_after.isdigit():
            wait = max(wait, float(retry_after))
        time.sleep(min(wait, 30.0))

    # ----------------------------------------------------------------------------- uploads

    def upload(self, path: Path, bundle_id: str, *, progress: Progress | None = None) -> Upload:
        """PUT a bundle file: in one request when small, else in parts from the offset the relay
        holds (a cut connection resumes where the committed parts end)."""
        sha, size = file_digest(path)
        base = {"x-povdesk-bundle-sha256": sha, "x-povdesk-bundle-size": str(size),
                "content-type": "application/vnd.povdesk.bundle"}
        target = f"/v1/bundles/{bundle_id}"
        if size <= self.chunk:
            r = self._send("PUT", target, path.read_bytes(), base, conflict_ok=True)
            if progress:
                progress(size, size)
            return self._receipt(r, bundle_id, sha)
        offset = self._offset(bundle_id, sha)
        if isinstance(offset, Upload):
            return offset
        with path.open("rb") as fh:
            while True:
                fh.seek(offset)
                data = fh.read(self.chunk)
                end = offset + len(data) - 1
                r = self._send("PUT", target, data, {**base, "content-range": f"bytes {offset}-{end}/{size}"},
                               conflict_ok=True)
                body = _json(r)
                if r.status_code == 409 and body.get("error") == "offset":
                    offset = int(body["offset"])  # another request moved on (or a retry repeated a part)
                    continue
                if r.status_code == 202:
                    offset = int(body["offset"])
                    if progress:
                        progress(offset, size)
                    continue
                if progress:
                    progress(size, size)
                return self._receipt(r, bundle_id, sha)

    def _offset(self, bundle_id: str, sha: str) -> int | Upload:
        st = self.status(bundle_id, sha)
        if st.get("state") == "uploading":
            return int(st.get("offset", 0))
        if st.get("state") in ("received", "held", "delivered") and isinstance(st.get("receipt"), dict):
            receipt = st["receipt"]
            if receipt.get("sha256") == sha and sig.receipt_ok(self.relay_public, receipt):
                return Upload(bundle_id, receipt)
        return 0

    def _receipt(self, r: httpx.Response, bundle_id: str, sha: str) -> Upload:
        body = _json(r)
        if r.status_code == 409:
            raise _refused(r)
        receipt = body.get("receipt")
        if r.status_code not in (200, 201) or not isinstance(receipt, dict):
            raise _refused(r)
        if not sig.receipt_ok(self.relay_public, receipt) or receipt.get("bundle_id") != bundle_id \
                or receipt.get("sha256") != sha:
            raise RelayRefused(tr("中转服务器的回执签名不对（不是设置时核对过的那台服务器？）：不算已送达",
                                  "the relay's receipt does not verify (not the relay whose key was pinned?): "
                                  "not counted as delivered"), status=r.status_code, code="bad_receipt", body=body)
        return Upload(bundle_id, receipt)

    def status(self, bundle_id: str, sha: str | None = None) -> dict[str, Any]:
        target = f"/v1/bundles/{bundle_id}/status" + (f"?sha256={sha}" if sha else "")
        return _json(self._send("GET", target))

    # ----------------------------------------------------------------------------- downloads

    def inbox(self, after: int = 0, limit: int = 100) -> dict[str, Any]:
        return _json(self._send("GET", f"/v1/inbox?after={int(after)}&limit={int(limit)}"))

    def download(self, bundle_id: str, dest: Path, sha256: str) -> Path:
        """The bytes to `dest` (through a .part file, synced, then renamed), checked against `sha256`."""
        tmp = dest.with_name(dest.name + ".part")
        r = self._send("GET", f"/v1/bundles/{bundle_id}", stream=True)
        digest = hashlib.sha256()
        try:
            with tmp.open("wb") as fh:
                for block in r.iter_bytes(MiB):
                    digest.update(block)
                    fh.write(block)
                fh.flush()
                os.fsync(fh.fileno())
        except httpx.HTTPError as exc:
            tmp.unlink(missing_ok=True)
            raise _unreachable(self.url, exc, self._pinned) from None
        finally:
            r.close()
        if digest.hexdigest() != sha256:
            tmp.unlink(missing_ok=True)
            raise RelayRefused(tr("从中转服务器取回的同步包与摘要不符", "the bundle fetched from the relay does not "
                                  "match its digest"), status=200, code="bad_digest", body={})
        tmp.replace(dest)
        return dest

    def fetched(self, bundle_id: str) -> None:
        self._send("POST", f"/v1/bundles/{bundle_id}/fetched")

    def put_devices(self, data: bytes) -> dict[str, Any]:
        return _json(self._send("PUT", "/v1/devices", data, {"content-type": "application/json"}))


def file_digest(path: Path) -> tuple[str, int]:
    h = hashlib.sha256()
    size = 0
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(MiB), b""):
            h.update(block)
            size += len(block)
    return h.hexdigest(), size


def _json(r: httpx.Response) -> dict[str, Any]:
    try:
        data = r.json()
    except (ValueError, json.JSONDecodeError):
        return {}
    return data if isinstance(data, dict) else {}


def _refused(r: httpx.Response) -> RelayRefused:
    body = _json(r)
    msg = body.get("message")
    if isinstance(msg, dict) and isinstance(msg.get("zh"), str) and isinstance(msg.get("en"), str):
        text = Text(msg["zh"], msg["en"])
    else:
        text = tr("中转服务器拒绝了请求（HTTP {s}）", "the relay refused the request (HTTP {s})", s=r.status_code)
    return RelayRefused(Text(f"中转服务器：{text.zh}", f"relay: {text.en}"), status=r.status_code,
                        code=str(body.get("error", "")), body=body)


def relay_public_of(about: dict[str, Any]) -> bytes:
    return unb64(about.get("public_key"), "public_key", 32)

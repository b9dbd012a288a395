"""HTTPS with the relay's certificate pinned: a real uvicorn serving a self-signed certificate."""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from povdesk.errors import BadInput
from povdesk.relay import client as rc
from povdesk.relay import exchange
from tests.relay.conftest import PW, ROOT, County, Relay, load_devices

# Fixed validity, wide around any day the tests run (no test depends on today's date).
NOT_BEFORE = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
NOT_AFTER = dt.datetime(2099, 1, 1, tzinfo=dt.UTC)


def self_signed(folder: Path, name: str) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(NOT_BEFORE).not_valid_after(NOT_AFTER)
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = folder / f"{name}.pem", folder / f"{name}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def test_https_with_the_certificate_pinned_and_another_refused(tmp_path: Path, county: County) -> None:
    cert, key = self_signed(tmp_path, "relay")
    other_cert, other_key = self_signed(tmp_path, "impostor")
    relay = Relay(f"sqlite:///{tmp_path / 'relay.db'}", tmp_path / "relay-key.pem", tmp_path / "relay.log",
                  ["--tls-cert", str(cert), "--tls-key", str(key)]).start()
    try:
        assert relay.url.startswith("https://")
        load_devices(relay, county)
        fp = relay.fingerprint()
        cert_fp = rc.cert_fingerprint(cert.read_text())
        village, c = county.villages[0], county.county
        # Pinned by the certificate's fingerprint (read aloud), or by the certificate file itself.
        with pytest.raises(BadInput, match="someone may be in between"):
            exchange.connect(village.ws, village.admin, relay.url, fp,
                             tls_fingerprint=rc.cert_fingerprint(other_cert.read_text()))
        assert exchange.link(village.ws) is None
        exchange.connect(village.ws, village.admin, relay.url, fp, tls_fingerprint=cert_fp.replace(":", "").lower())
        exchange.connect(c.ws, c.admin, relay.url, fp, tls_cert=cert)
        assert exchange.link(village.ws).tls_cert == exchange.link(c.ws).tls_cert == cert.read_text()
        up = exchange.upload(village.ws, village.user)
        assert up.error is None and up.uploaded == 1
        assert len(exchange.fetch(c.ws, c.user).fetched) == 1

        # The same address now serves another certificate (a relay replaced, or someone in between):
        # nothing is sent, the bundles stay queued, and the message says what is wrong.
        relay.stop()
        relay.extra = ["--tls-cert", str(other_cert), "--tls-key", str(other_key)]
        relay.start(same_port=True)
        hh = next(village.ws.iter_households())
        hh.fields["address"] = "新地址"
        village.ws.save_household(hh, village.user)
        again = exchange.upload(village.ws, village.user)
        assert again.error is not None and "other than the one pinned" in again.error.en
        assert again.uploaded == 0 and [i.state for i in again.items][-1] == "queued"
        env = dict(os.environ, POVDESK_LANG="en", POVDESK_USER="worker", POVDESK_PASSWORD=PW)
        cli = subprocess.run([sys.executable, "-m", "povdesk", "upload", str(village.ws.path)], capture_output=True,
                             text=True, cwd=ROOT, env=env)
        assert cli.returncode == 2
        assert "certificate other than the one pinned" in cli.stderr and len(cli.stderr.strip().splitlines()) == 1
        # Without a pin, an untrusted certificate says so, and how to pin one.
        with pytest.raises(rc.RelayUnreachable, match="no certificate is pinned") as refused:
            rc.fetch_about(relay.url)
        assert "--tls-fingerprint" in refused.value.text.en
    finally:
        relay.stop()

"""Content credentials: a C2PA manifest, signed, in every generated image (c2pa-python).

The manifest says the image was created (`c2pa.created`) by a trained algorithm (IPTC's
`trainedAlgorithmicMedia`), by this server (the claim generator and software agent: "Plantain" and
its version) with which model. It is signed with the certificate chain and key the operator
configures (PLANTAIN_C2PA_CERT, PLANTAIN_C2PA_KEY); without them the server makes its own CA and
signing certificate once, in its data folder, so that every image carries a manifest from the start.
Readers then call the signer untrusted until they trust that CA (`plantain verify --trust CA.pem`).
"""

from __future__ import annotations

import datetime
import io
import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import c2pa
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

GENERATOR = "Plantain"
CREATED_BY_AI = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
# A thumbnail would add tens of kilobytes to each image; the image is its own preview.
SETTINGS = {"builder": {"thumbnail": {"enabled": False}}}


def _name(common: str) -> x509.Name:
    return x509.Name(
        [x509.NameAttribute(NameOID.COMMON_NAME, common), x509.NameAttribute(NameOID.ORGANIZATION_NAME, GENERATOR)]
    )


def _key_usage(sign: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=not sign, content_commitment=False, key_encipherment=False, data_encipherment=False,
        key_agreement=False, key_cert_sign=sign, crl_sign=sign, encipher_only=False, decipher_only=False,
    )  # fmt: skip


def make_certificates(folder: Path, host: str = "plantain") -> tuple[Path, Path, Path]:
    """A CA and a signing certificate it issues (ES256; C2PA refuses a self-signed signer): the
    files (ca.pem, signer.pem holding the signer then the CA, signer.key), made once."""
    ca_path, chain_path, key_path = folder / "ca.pem", folder / "signer.pem", folder / "signer.key"
    if ca_path.exists() and chain_path.exists() and key_path.exists():
        return ca_path, chain_path, key_path
    # Written in a folder of their own, which is then renamed into place whole: processes starting
    # together (a Ray Serve ingress and its replicas) see no folder or a complete one, and the first
    # rename wins.
    folder.parent.mkdir(parents=True, exist_ok=True)
    draft = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    try:
        _write_certificates(draft, host)
        os.rename(draft, folder)
    except OSError:
        if not (ca_path.exists() and chain_path.exists() and key_path.exists()):
            raise
    finally:
        shutil.rmtree(draft, ignore_errors=True)
    return ca_path, chain_path, key_path


def _write_certificates(folder: Path, host: str) -> None:
    ca_path, chain_path, key_path = folder / "ca.pem", folder / "signer.pem", folder / "signer.key"
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = _name(f"{GENERATOR} CA ({host})")
    ca = (
        x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
        .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(sign=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )  # fmt: skip
    key = ec.generate_private_key(ec.SECP256R1())
    signer = (
        x509.CertificateBuilder().subject_name(_name(f"{GENERATOR} signer ({host})")).issuer_name(ca.subject)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(sign=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )  # fmt: skip
    pem = serialization.Encoding.PEM
    ca_pem = ca.public_bytes(pem)
    key_pem = key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    # The key private (0600) from the moment it exists.
    for path, data, mode in ((key_path, key_pem, 0o600), (chain_path, signer.public_bytes(pem) + ca_pem, 0o644),
                             (ca_path, ca_pem, 0o644)):  # fmt: skip
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
        with os.fdopen(fd, "wb") as f:
            f.write(data)


class Credentials:
    """Signs encoded images with a manifest naming the generator and the model."""

    def __init__(self, chain_pem: bytes, key_pem: bytes, version: str, tsa_url: str = "") -> None:
        self.chain_pem = chain_pem
        self.key_pem = key_pem
        self.version = version
        self.tsa_url = tsa_url
        self.settings = json.dumps(SETTINGS)

    @classmethod
    def from_files(cls, chain: Path, key: Path, version: str, tsa_url: str = "") -> Credentials:
        return cls(chain.read_bytes(), key.read_bytes(), version, tsa_url)

    def manifest(self, model: str, mime_type: str) -> dict[str, Any]:
        agent = {"name": GENERATOR, "version": self.version}
        action = {"action": "c2pa.created", "digitalSourceType": CREATED_BY_AI, "softwareAgent": agent,
                  "parameters": {"model": model}}  # fmt: skip
        return {
            "claim_generator_info": [agent],
            "title": f"image.{mime_type.split('/')[1]}",
            "format": mime_type,
            "assertions": [{"label": "c2pa.actions", "data": {"actions": [action]}}],
        }

    def sign(self, data: bytes, mime_type: str, model: str) -> bytes:
        """The image with its manifest embedded (made per call: c2pa's objects are not shared
        between the encoding threads)."""
        info = c2pa.C2paSignerInfo(b"es256", self.chain_pem, self.key_pem, self.tsa_url.encode() or None)
        signer = c2pa.Signer.from_info(info)
        with c2pa.Context(c2pa.Settings.from_json(self.settings)) as context:
            builder = c2pa.Builder(json.dumps(self.manifest(model, mime_type)), context)
            out = io.BytesIO()
            try:
                builder.sign(signer, mime_type, io.BytesIO(data), out)
            finally:
                builder.close()
                signer.close()
        return out.getvalue()


@dataclass(frozen=True)
class CredentialsReading:
    found: bool
    state: str = ""  # c2pa's validation state: "Trusted", "Valid" (signature sound, signer not trusted) or "Invalid"
    generator: str = ""
    model: str = ""
    signer: str = ""  # the signing certificate's common name
    issuer: str = ""  # its organisation
    problems: list[str] = field(default_factory=list)  # validation codes other than an untrusted signer's


def read_credentials(data: bytes, mime_type: str, trust_pem: bytes | None = None) -> CredentialsReading:
    """The manifest of an image, if it has one; trusted when its chain ends in `trust_pem`."""
    settings: dict[str, Any] = {"verify": {"verify_trust": trust_pem is not None}}
    if trust_pem is not None:
        settings["trust"] = {"trust_anchors": trust_pem.decode()}
    try:
        with (
            c2pa.Context(c2pa.Settings.from_json(json.dumps(settings))) as context,
            c2pa.Reader(mime_type, io.BytesIO(data), context=context) as reader,
        ):
            store = json.loads(reader.json())
            state = str(reader.get_validation_state() or "")
    except c2pa.C2paError:
        return CredentialsReading(False)
    manifest = store.get("manifests", {}).get(store.get("active_manifest", ""), {})
    generators = manifest.get("claim_generator_info") or [{}]
    model = ""
    for assertion in manifest.get("assertions", []):
        for action in (
            assertion.get("data", {}).get("actions", [])
            if assertion.get("label", "").startswith("c2pa.actions")
            else []
        ):
            model = model or str(action.get("parameters", {}).get("model", ""))
    signature = manifest.get("signature_info", {})
    problems = [s["code"] for s in store.get("validation_status", []) if s.get("code") != "signingCredential.untrusted"]
    return CredentialsReading(
        True, state, str(generators[0].get("name", "")), model, str(signature.get("common_name", "")),
        str(signature.get("issuer", "")), problems,
    )  # fmt: skip

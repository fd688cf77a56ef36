"""A loopback HTTPS listener for the emulator (botocore sends bearer tokens over HTTPS only)."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any


class TlsListener:
    """A loopback HTTPS listener in front of a WSGI app, with its own self-signed CA file.

    Why: botocore refuses to send a bearer token over plain HTTP (``BearerAuth.add_auth``
    raises ``InvalidEndpointConfigurationError: ... requires an HTTPS endpoint``), so SDK
    clients using ``AWS_BEARER_TOKEN_BEDROCK`` need TLS.  Clients verify against
    ``ca_bundle`` (``verify=listener.ca_bundle``), never ``verify=False``.
    """

    def __init__(self, app: Callable[..., Any], host: str = "127.0.0.1") -> None:
        import ssl
        import tempfile
        import threading

        from werkzeug.serving import WSGIRequestHandler, make_server

        cert_pem, key_pem = _self_signed_cert(host)
        self._dir = tempfile.TemporaryDirectory(prefix="emulator-tls-")
        self.ca_bundle = f"{self._dir.name}/cert.pem"
        key_file = f"{self._dir.name}/key.pem"
        with open(self.ca_bundle, "wb") as f:
            f.write(cert_pem)
        with open(key_file, "wb") as f:
            f.write(key_pem)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.load_cert_chain(self.ca_bundle, key_file)

        class Quiet(WSGIRequestHandler):
            def log_request(self, *args: Any, **kwargs: Any) -> None:
                pass

            def log_error(self, *args: Any, **kwargs: Any) -> None:
                pass

        self._server = make_server(host, 0, app, threaded=True, request_handler=Quiet, ssl_context=ctx)
        self.url = f"https://{host}:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, name="emulator-tls", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
        self._dir.cleanup()


def _self_signed_cert(host: str) -> tuple[bytes, bytes]:
    import datetime as dt
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "aws-emulator")])
    now = dt.datetime.now(dt.timezone.utc)
    sans: list[x509.GeneralName] = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    try:
        ip = ipaddress.ip_address(host)
        if str(ip) != "127.0.0.1":
            sans.append(x509.IPAddress(ip))
    except ValueError:
        sans.append(x509.DNSName(host))
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=2))
            .add_extension(x509.SubjectAlternativeName(sans), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    return (cert.public_bytes(serialization.Encoding.PEM),
            key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption()))

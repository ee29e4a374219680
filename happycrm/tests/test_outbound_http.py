"""The outbound guard against real local servers: what it refuses, where it connects, what it sends."""

import datetime
import socket
import ssl
from urllib.parse import urlsplit

import pytest
import urllib3
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from happycrm import outbound_http
from happycrm.outbound_http import (
    GuardedSession,
    OutboundRequestFailed,
    OutboundRequestRefused,
    address_refusal,
    guarded_get,
)
from happycrm.tests.local_server import Handler, LocalServer

LOOPBACK = ["127.0.0.0/8", "::1/128"]


class RecordingHandler(Handler):
    def do_GET(self):
        fake = self.server.fake
        path = urlsplit(self.path).path
        fake.requests.append(
            {"path": path, "host": self.headers.get("Host"), "auth": self.headers.get("Authorization")}
        )
        if path.startswith("/go/"):
            self.send_response(302)
            self.send_header("Location", fake.locations[path])
            self.end_headers()
            return None
        if path == "/loop":
            self.send_response(301)
            self.send_header("Location", "/loop")
            self.end_headers()
            return None
        if path == "/endless":  # no Content-Length: only the streamed count can stop it
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.end_headers()
            for _ in range(64):
                self.wfile.write(b"x" * 16384)
            return None
        return self.reply(200, b"hello from " + path.encode(), "text/plain; charset=utf-8")


class KeepAliveHandler(Handler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        fake = self.server.fake
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        fake.requests.append({"path": self.path, "client": self.client_address, "body": body})
        if self.path == "/long":  # more than the caller keeps: it stops reading and drops the connection
            return self.reply(200, b"y" * 50_000)
        return self.reply(200, b"got " + body)


class Recorder(LocalServer):
    def __init__(self):
        super().__init__(RecordingHandler)
        self.requests: list[dict] = []
        self.locations: dict[str, str] = {}


@pytest.fixture
def server():
    with Recorder() as fake:
        yield fake


@pytest.fixture
def loopback_allowed(settings):
    settings.OUTBOUND_HTTP_ALLOWED_NETWORKS = LOOPBACK
    return settings


@pytest.mark.parametrize(
    ("address", "words"),
    [
        ("127.0.0.1", "loopback"),
        ("::1", "loopback"),
        ("10.1.2.3", "private"),
        ("172.16.0.9", "private"),
        ("192.168.1.1", "private"),
        ("169.254.10.10", "link-local"),
        ("169.254.169.254", "metadata"),
        ("fd00:ec2::254", "metadata"),
        ("100.100.100.200", "metadata"),
        ("224.0.0.251", "multicast"),
        ("ff02::1", "multicast"),
        ("0.0.0.0", "unspecified"),  # noqa: S104
        ("::", "unspecified"),
        ("240.0.0.1", "reserved"),
        ("100.64.0.1", "not a public"),  # carrier-grade NAT
        ("fe80::1", "link-local"),
        ("fc00::1", "private"),
        ("::ffff:127.0.0.1", "loopback"),  # IPv4-mapped IPv6
        ("::ffff:10.0.0.1", "private"),
        ("::ffff:169.254.169.254", "metadata"),
        ("2002:7f00:1::", "loopback"),  # 6to4 around 127.0.0.1
    ],
)
def test_addresses_inside_our_networks_are_refused(address, words):
    reason = address_refusal(address)
    assert reason and words in reason


@pytest.mark.parametrize("address", ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111", "::ffff:8.8.8.8"])
def test_public_addresses_pass(address):
    assert address_refusal(address) is None


def test_allowed_networks_let_a_range_through_but_never_metadata(settings):
    settings.OUTBOUND_HTTP_ALLOWED_NETWORKS = ["10.0.5.0/24", "169.254.0.0/16"]
    assert address_refusal("10.0.5.7") is None
    assert "private" in address_refusal("10.0.6.7")
    assert "metadata" in address_refusal("169.254.169.254")


def test_loopback_is_refused_by_default_and_nothing_is_sent(server, settings):
    assert settings.OUTBOUND_HTTP_ALLOWED_NETWORKS == []
    with pytest.raises(OutboundRequestRefused, match="loopback"):
        guarded_get(f"{server.base_url}/secret")
    assert server.requests == []


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("file:///etc/passwd", "only http and https"),
        ("ftp://example.com/x", "only http and https"),
        ("gopher://127.0.0.1:6379/_INFO", "only http and https"),
        ("/relative", "only http and https"),
        ("http://user:pass@example.com/", "credentials inside a URL"),
        ("http:///nohost", "no host"),
    ],
)
def test_other_schemes_and_odd_urls_are_refused(url, words):
    with pytest.raises(OutboundRequestRefused, match=words):
        guarded_get(url)


def test_a_redirect_is_checked_again(server, settings):
    settings.OUTBOUND_HTTP_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    server.locations["/go/private"] = "http://10.0.0.7/admin"
    server.locations["/go/loopback"] = "http://127.0.0.2:9/"
    server.locations["/go/metadata"] = "http://169.254.169.254/latest/meta-data/"
    for name, words in (("private", "private"), ("loopback", "loopback"), ("metadata", "metadata")):
        with pytest.raises(OutboundRequestRefused, match=words):
            guarded_get(f"{server.base_url}/go/{name}")
    assert [request["path"] for request in server.requests] == ["/go/private", "/go/loopback", "/go/metadata"]


def test_the_callers_policy_sees_every_hop_and_credentials_follow_its_rule(server, loopback_allowed):
    server.locations["/go/elsewhere"] = f"http://localhost:{server.port}/file"
    hops = []

    def policy(url, hop):
        hops.append((urlsplit(url).hostname, hop))
        return None

    response = guarded_get(
        f"{server.base_url}/go/elsewhere",
        policy=policy,
        auth_for=lambda url: ("AC1", "token") if urlsplit(url).hostname == "127.0.0.1" else None,
    )
    assert (response.status, response.content, response.content_type) == (200, b"hello from /file", "text/plain")
    assert hops == [("127.0.0.1", 0), ("localhost", 1)]
    first, second = server.requests
    assert first["auth"].startswith("Basic ") and second["auth"] is None
    assert (first["host"], second["host"]) == (f"127.0.0.1:{server.port}", f"localhost:{server.port}")

    refused = []
    with pytest.raises(OutboundRequestRefused, match="not this one"):
        guarded_get(
            f"{server.base_url}/go/elsewhere", policy=lambda url, hop: refused.append(hop) or (hop and "not this one")
        )
    assert refused == [0, 1]


def test_redirects_are_bounded(server, loopback_allowed):
    with pytest.raises(OutboundRequestRefused, match="more than 3 redirects"):
        guarded_get(f"{server.base_url}/loop", max_redirects=3)
    assert len(server.requests) == 4


def test_the_size_cap_holds_while_streaming(server, loopback_allowed):
    with pytest.raises(OutboundRequestRefused, match="larger than 100000 bytes"):
        guarded_get(f"{server.base_url}/endless", max_bytes=100_000)
    assert len(guarded_get(f"{server.base_url}/endless", max_bytes=2_000_000).content) == 64 * 16384


def test_an_announced_length_over_the_cap_is_refused_before_reading(server, loopback_allowed):
    with pytest.raises(OutboundRequestRefused, match="announced"):
        guarded_get(f"{server.base_url}/small", max_bytes=5)


def test_network_failures_are_transient_not_refusals(loopback_allowed, monkeypatch):
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    with pytest.raises(OutboundRequestFailed, match="cannot connect"):
        guarded_get(f"http://127.0.0.1:{port}/")

    def no_such_name(*args, **kwargs):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_such_name)
    with pytest.raises(OutboundRequestFailed, match="cannot resolve"):
        guarded_get("https://media.example.test/x")


def fake_dns(monkeypatch, answers: dict[str, list[str]]) -> list[str]:
    """getaddrinfo answering `answers[name]` for the names given, the real one for addresses; records lookups."""
    real = socket.getaddrinfo
    lookups = []

    def getaddrinfo(host, port, *args, **kwargs):
        if host in answers:
            lookups.append(host)
            family = {4: socket.AF_INET, 6: socket.AF_INET6}
            return [
                (family[6 if ":" in address else 4], socket.SOCK_STREAM, 6, "", (address, port))
                for address in answers[host]
            ]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return lookups


def test_a_name_resolving_to_a_private_address_is_refused(monkeypatch, server):
    lookups = fake_dns(
        monkeypatch, {"intranet.example.test": ["10.20.30.40"], "mixed.example.test": ["8.8.8.8", "127.0.0.1"]}
    )
    with pytest.raises(
        OutboundRequestRefused, match=r"intranet\.example\.test resolves to 10\.20\.30\.40 is a private"
    ):
        guarded_get("http://intranet.example.test/")
    with pytest.raises(OutboundRequestRefused, match=r"127\.0\.0\.1 is a loopback"):
        guarded_get(f"http://mixed.example.test:{server.port}/")
    assert lookups == ["intranet.example.test", "mixed.example.test"]
    assert server.requests == []


def test_the_connection_goes_to_the_checked_address_and_the_name_is_looked_up_once(
    monkeypatch, server, loopback_allowed
):
    """DNS rebinding: the first answer is checked; had the guard asked again, it would get a refused address."""
    answers = iter([["127.0.0.1"], ["10.9.9.9"]])
    real = socket.getaddrinfo
    lookups = []

    def rebinding(host, port, *args, **kwargs):
        if host == "media.example.test":
            lookups.append(host)
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port)) for address in next(answers)]
        return real(host, port, *args, **kwargs)

    connected = []
    real_create = urllib3.util.connection.create_connection
    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    monkeypatch.setattr(
        "urllib3.util.connection.create_connection",
        lambda address, *args, **kwargs: connected.append(address[0]) or real_create(address, *args, **kwargs),
    )
    response = guarded_get(f"http://media.example.test:{server.port}/photo")
    assert response.content == b"hello from /photo"
    assert lookups == ["media.example.test"]
    assert server.requests == [{"path": "/photo", "host": f"media.example.test:{server.port}", "auth": None}]
    assert connected == ["127.0.0.1"]


def _certificate(tmp_path, name: str):
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / f"{name}.pem", tmp_path / f"{name}.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_file, key_file


@pytest.fixture
def tls_server(tmp_path):
    """HTTPS on 127.0.0.1 with a certificate for media.example.test, recording the SNI each client sent."""
    cert_file, key_file = _certificate(tmp_path, "media.example.test")
    with Recorder() as fake:
        fake.sni = []
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert_file, key_file)
        context.sni_callback = lambda sock, name, ctx: fake.sni.append(name)
        fake.httpd.socket = context.wrap_socket(fake.httpd.socket, server_side=True)
        fake.ca_file = str(cert_file)
        yield fake


def test_tls_uses_the_name_for_sni_and_the_certificate_while_connecting_to_the_checked_address(
    tls_server, monkeypatch, loopback_allowed
):
    fake_dns(monkeypatch, {"media.example.test": ["127.0.0.1"], "other.example.test": ["127.0.0.1"]})
    url = f"https://media.example.test:{tls_server.port}/doc"

    with pytest.raises(OutboundRequestFailed, match="CERTIFICATE_VERIFY_FAILED"):
        guarded_get(url)  # the public CA bundle does not know this self-signed certificate: verification is on
    monkeypatch.setattr(outbound_http.certifi, "where", lambda: tls_server.ca_file)
    response = guarded_get(url)
    assert response.content == b"hello from /doc"
    assert tls_server.requests[-1]["host"] == f"media.example.test:{tls_server.port}"
    with pytest.raises(OutboundRequestFailed, match=r"match|hostname"):
        guarded_get(f"https://other.example.test:{tls_server.port}/doc")  # the certificate is for another name
    assert tls_server.sni[-2:] == ["media.example.test", "other.example.test"]


def test_environment_proxies_are_not_used(server, loopback_allowed, monkeypatch):
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    monkeypatch.setenv("http_proxy", "http://127.0.0.1:9")
    assert guarded_get(f"{server.base_url}/direct").content == b"hello from /direct"


@pytest.fixture
def keep_alive_server():
    server = LocalServer(KeepAliveHandler)
    server.requests = []
    with server:
        yield server


def test_a_session_keeps_one_checked_connection_per_receiver_and_looks_the_name_up_once(
    monkeypatch, keep_alive_server, loopback_allowed
):
    """DNS rebinding again: the second answer would be refused, but a session's kept connection never asks."""
    answers = iter([["127.0.0.1"], ["10.9.9.9"], ["10.9.9.9"]])
    lookups = []
    real = socket.getaddrinfo

    def rebinding(host, port, *args, **kwargs):
        if host == "hooks.example.test":
            lookups.append(host)
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port)) for address in next(answers)]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    url = f"http://hooks.example.test:{keep_alive_server.port}/in"
    with GuardedSession() as session:
        answers_seen = [session.post(url, body=str(n).encode()).content for n in range(3)]
    assert answers_seen == [b"got 0", b"got 1", b"got 2"]
    assert lookups == ["hooks.example.test"]
    assert len({request["client"] for request in keep_alive_server.requests}) == 1
    with GuardedSession() as session, pytest.raises(OutboundRequestRefused, match=r"10\.9\.9\.9 is a private"):
        session.post(url, body=b"next")  # a new session looks the name up and checks it again
    assert len(keep_alive_server.requests) == 3


def test_a_session_drops_a_connection_whose_answer_it_did_not_read_to_the_end(keep_alive_server, loopback_allowed):
    with GuardedSession() as session:
        for _ in range(2):
            assert len(session.post(f"{keep_alive_server.base_url}/long", body=b"x", max_bytes=100).content) == 100
        session.post(f"{keep_alive_server.base_url}/short", body=b"x")
        session.post(f"{keep_alive_server.base_url}/short", body=b"x")
    clients = [request["client"] for request in keep_alive_server.requests]
    assert len(set(clients)) == 3 and clients[2] == clients[3]

"""`liveloom serve --http`: streamable HTTP on loopback, Host/Origin checks on, optional bearer token."""

from __future__ import annotations

import hmac
import ipaddress
import sys

from mcp.server.transport_security import TransportSecuritySettings
from starlette.types import ASGIApp, Receive, Scope, Send

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]")


class BearerTokenMiddleware:
    """Refuse HTTP requests without exactly one `Authorization: Bearer <token>` header (constant-time comparison;
    two Authorization headers are refused, whichever of them is right)."""

    def __init__(self, app: ASGIApp, token: str):
        self.app = app
        self.expected = f"Bearer {token}".encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            given = [v for k, v in scope.get("headers") or [] if k.lower() == b"authorization"]
            if len(given) != 1 or not hmac.compare_digest(given[0], self.expected):
                why = (b"liveloom: more than one Authorization header; send exactly one" if len(given) > 1
                       else b"liveloom: missing or wrong bearer token (Authorization: Bearer <token>)")
                await send({"type": "http.response.start", "status": 401,
                            "headers": [(b"content-type", b"text/plain"), (b"www-authenticate", b"Bearer")]})
                await send({"type": "http.response.body", "body": why})
                return
        await self.app(scope, receive, send)


def is_loopback(host: str) -> bool:
    if host in ("localhost", "[::1]"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def security_settings(host: str, extra_origins: list[str]) -> TransportSecuritySettings:
    hosts = [f"{h}:*" for h in LOOPBACK_HOSTS]
    origins = [f"http://{h}:*" for h in LOOPBACK_HOSTS]
    if host not in ("127.0.0.1", "localhost", "::1", "[::1]"):
        hosts.append(f"{host}:*")
    return TransportSecuritySettings(enable_dns_rebinding_protection=True, allowed_hosts=hosts,
                                     allowed_origins=origins + list(extra_origins))


def build_http_app(server, *, host: str, token: str | None, allowed_origins: list[str]) -> ASGIApp:
    app = server.streamable_http_app(transport_security=security_settings(host, allowed_origins), host=host)
    return BearerTokenMiddleware(app, token) if token else app


def serve_http(server, *, host: str, port: int, token: str | None, allowed_origins: list[str]) -> None:
    import uvicorn

    if not is_loopback(host) and not token:
        raise SystemExit(f"liveloom: refusing to listen on {host} without a bearer token; pass --token "
                         "(or set LIVELOOM_TOKEN), or bind 127.0.0.1")
    app = build_http_app(server, host=host, token=token, allowed_origins=allowed_origins)
    auth = "bearer token required" if token else "no token (loopback only)"
    print(f"liveloom: MCP over streamable HTTP at http://{host}:{port}/mcp ({auth})", file=sys.stderr)
    uvicorn.run(app, host=host, port=port, log_level="warning")

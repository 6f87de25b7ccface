"""Tokens as PostgreSQL passwords with SCRAM-SHA-256 (RFC 5802/7677), the user name free.

The server keeps a SCRAM verifier per token (``sandbox.pg_scram_verifiers``, PostgreSQL's own
``SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>`` format), never the token. The user
name does not pick the verifier, so every verifier shares one salt and iteration count: the
server sends them before it knows which token the client holds, and then checks the client's
proof against each verifier. Make the verifiers with::

    python -m catalog_synth.serve.pg_auth TOKEN [TOKEN …]

which prints one verifier per token, all with one fresh salt (``--salt`` to add a token to an
existing list).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import os
import re
from dataclasses import dataclass
from typing import Any

from pg_mimic import messages

from catalog_synth.serve.auth import is_loopback, token_client

ITERATIONS = 4096
MECHANISM = "SCRAM-SHA-256"
_VERIFIER = re.compile(r"SCRAM-SHA-256\$(\d+):([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+):([A-Za-z0-9+/=]+)")


class ScramError(ValueError):
    """A malformed exchange or a proof no verifier accepts."""


@dataclass(frozen=True)
class Verifier:
    iterations: int
    salt: bytes
    stored_key: bytes
    server_key: bytes

    @classmethod
    def parse(cls, text: str) -> Verifier:
        match = _VERIFIER.fullmatch(text.strip())
        if match is None:
            raise ValueError("expected SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>")
        iterations, salt, stored, server = match.groups()
        return cls(int(iterations), base64.b64decode(salt), base64.b64decode(stored), base64.b64decode(server))


def make_verifier(token: str, salt: bytes, iterations: int = ITERATIONS) -> str:
    salted = hashlib.pbkdf2_hmac("sha256", token.encode("utf-8"), salt, iterations)
    stored = hashlib.sha256(_hmac(salted, b"Client Key")).digest()
    server = _hmac(salted, b"Server Key")
    b64 = base64.b64encode
    return f"{MECHANISM}${iterations}:{b64(salt).decode()}${b64(stored).decode()}:{b64(server).decode()}"


class ScramExchange:
    """The server's side of one exchange; feed it the client's two messages."""

    def __init__(self, verifiers: list[Verifier]):
        if not verifiers:
            raise ValueError("no verifiers")
        self.verifiers = verifiers
        self.nonce = base64.b64encode(os.urandom(18)).decode()
        self._client_first_bare = self._server_first = self._gs2 = ""
        self.matched: Verifier | None = None

    def server_first(self, client_first: str) -> str:
        gs2_flag, _, rest = client_first.partition(",")
        authzid, _, bare = rest.partition(",")
        if gs2_flag not in ("n", "y") or authzid:
            raise ScramError("channel binding and authorization identities are not supported")
        attributes = dict(part.split("=", 1) for part in bare.split(",") if "=" in part)
        client_nonce = attributes.get("r", "")
        if not client_nonce:
            raise ScramError("the client sent no nonce")
        self._gs2 = f"{gs2_flag},,"
        self._client_first_bare = bare
        first = self.verifiers[0]
        self.nonce = client_nonce + self.nonce
        self._server_first = f"r={self.nonce},s={base64.b64encode(first.salt).decode()},i={first.iterations}"
        return self._server_first

    def server_final(self, client_final: str) -> str:
        without_proof, _, proof_part = client_final.rpartition(",p=")
        attributes = dict(part.split("=", 1) for part in without_proof.split(",") if "=" in part)
        if attributes.get("r") != self.nonce:
            raise ScramError("the nonce does not match")
        if attributes.get("c") != base64.b64encode(self._gs2.encode()).decode():
            raise ScramError("unexpected channel binding")
        try:
            proof = base64.b64decode(proof_part, validate=True)
        except ValueError:
            raise ScramError("malformed proof") from None
        message = f"{self._client_first_bare},{self._server_first},{without_proof}".encode()
        for verifier in self.verifiers:
            signature = _hmac(verifier.stored_key, message)
            if len(proof) != len(signature):
                continue
            client_key = bytes(a ^ b for a, b in zip(proof, signature))
            if hmac.compare_digest(hashlib.sha256(client_key).digest(), verifier.stored_key):
                self.matched = verifier
                return "v=" + base64.b64encode(_hmac(verifier.server_key, message)).decode()
        raise ScramError("password authentication failed")

    @property
    def client_id(self) -> str:
        """The fair-share identity of the token that matched (its verifier, not the token)."""
        assert self.matched is not None
        return "scram:" + hashlib.sha256(self.matched.stored_key).hexdigest()[:32]


def _hmac(key: bytes, message: bytes) -> bytes:
    return hmac.new(key, message, hashlib.sha256).digest()


# --- the connection's side ------------------------------------------------------------------


async def authenticate(connection: Any) -> str | None:
    """The client identity a :class:`~.pg_connection.Connection`'s queries count against (its fair
    share), or None after telling the client why it may not connect."""
    if connection.server.scram:
        return await _scram(connection)
    auth = connection.server.auth
    if not auth.enabled:
        if not is_loopback(connection.peer[0]):
            connection.stream.write(fatal("28000", "no tokens are configured: only local connections are accepted"))
            return None
        return "address:" + connection.peer[0]
    if not connection.secure and not is_loopback(connection.peer[0]):
        connection.stream.write(fatal("28000", "the token is a password: connect with sslmode=require"))
        return None
    connection.stream.write(messages.make_authentication_cleartext_password())
    await connection.stream.drain()
    tag, payload = await connection.read_message()
    token = payload.rstrip(b"\x00").decode("utf-8", "replace") if tag == messages.PASSWORD else ""
    if not auth.accepts(token):
        connection.stream.write(fatal("28P01", "password authentication failed: the password is a sandbox token"))
        return None
    return token_client(token)


async def _scram(connection: Any) -> str | None:
    """SCRAM-SHA-256: the client proves it holds a token without sending it."""
    exchange = ScramExchange(connection.server.scram)
    connection.stream.write(messages.make_authentication_sasl([MECHANISM]))
    await connection.stream.drain()
    try:
        tag, payload = await connection.read_message()
        mechanism, client_first = messages.parse_sasl_initial_response(payload) if tag == messages.PASSWORD \
            else ("", b"")
        if mechanism != MECHANISM:
            raise ScramError(f"the sandbox offers {MECHANISM} only")
        server_first = exchange.server_first(client_first.decode("utf-8"))
        connection.stream.write(messages.make_authentication_sasl_continue(server_first.encode()))
        await connection.stream.drain()
        tag, payload = await connection.read_message()
        server_final = exchange.server_final(payload.decode("utf-8") if tag == messages.PASSWORD else "")
    except (ScramError, UnicodeDecodeError, ValueError):
        connection.stream.write(fatal("28P01", "password authentication failed: the password is a sandbox token"))
        return None
    connection.stream.write(messages.make_authentication_sasl_final(server_final.encode()))
    return exchange.client_id


def fatal(code: str, message: str) -> bytes:
    return messages.make_error_response({"S": "FATAL", "V": "FATAL", "C": code, "M": message})


def main() -> None:
    parser = argparse.ArgumentParser(description="SCRAM-SHA-256 verifiers of sandbox tokens (sandbox.pg_scram_verifiers)")
    parser.add_argument("tokens", nargs="+")
    parser.add_argument("--salt", help="the base64 salt of the existing verifiers (to add tokens to them)")
    args = parser.parse_args()
    salt = base64.b64decode(args.salt) if args.salt else os.urandom(16)
    for token in args.tokens:
        print(make_verifier(token, salt))


if __name__ == "__main__":
    main()

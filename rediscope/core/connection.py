"""The one connection layer: resolve options into a ConnectionSpec and build clients
(core/failures.py says what a failure means).

Precedence, field by field: flag > environment > profile > default (redis://127.0.0.1:6379/0).
A URL given at one level sets the address fields it names (scheme, host, port, socket path, db,
and user/password when present); single flags at the same level win over that level's URL.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from rediscope.core.config import Profile
from rediscope.core.failures import explain_connect_failure
from rediscope.errors import ConfigError, UsageError

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 6379
DEFAULT_TIMEOUT = 5.0
SCHEMES = ("redis", "rediss", "unix", "redis+sentinel", "rediss+sentinel")
DEFAULT_SENTINEL_PORT = 26379


@dataclass(frozen=True)
class ConnectionSpec:
    """Everything needed to open a connection. The password never appears in repr or output."""

    scheme: str = "redis"
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    path: str | None = None  # unix socket
    db: int = 0
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    tls: bool = False
    cacert: str | None = None
    cert: str | None = None
    key: str | None = None
    insecure: bool = False
    timeout: float = DEFAULT_TIMEOUT
    db_explicit: bool = False  # a flag, URL path or profile named the db
    # Sentinel: where to ask, which master, and the sentinels' own credentials
    sentinels: tuple[tuple[str, int], ...] = ()
    master_name: str | None = None
    sentinel_username: str | None = None
    sentinel_password: str | None = field(default=None, repr=False)

    @property
    def address(self) -> str:
        return self.path if self.scheme == "unix" and self.path else f"{self.host}:{self.port}"

    @property
    def redacted_url(self) -> str:
        """The target as a URL with the password replaced by ***."""
        auth = ""
        if self.username or self.password:
            auth = quote(self.username or "", safe="")
            if self.password:
                auth += ":***"
            auth += "@"
        if self.scheme == "unix":
            return f"unix://{auth}{self.path}?db={self.db}"
        if self.sentinels:
            hosts = ",".join(f"[{h}]:{p}" if ":" in h else f"{h}:{p}" for h, p in self.sentinels)
            kind = "rediss+sentinel" if self.tls else "redis+sentinel"
            return f"{kind}://{auth}{hosts}/{self.master_name}/{self.db}"
        scheme = "rediss" if self.tls else "redis"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{scheme}://{auth}{host}:{self.port}/{self.db}"

    def for_node(self, host: str, port: int) -> ConnectionSpec:
        """The same credentials and TLS settings, pointed at another node (cluster, replicas)."""
        return replace(
            self, scheme="rediss" if self.tls else "redis", host=host, port=port, path=None
        )

    def with_db(self, db: int) -> ConnectionSpec:
        return replace(self, db=db)


def parse_sentinels(items: list[str] | tuple[str, ...]) -> tuple[tuple[str, int], ...]:
    out = []
    for item in items:
        host, sep, port = item.strip().rpartition(":")
        if not sep:
            host, port = item.strip(), str(DEFAULT_SENTINEL_PORT)
        host = host.strip("[]")
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise UsageError(f"--sentinel {item!r}: expected HOST:PORT")
        out.append((host, int(port)))
    return tuple(out)


def _parse_sentinel_url(url: str, scheme: str) -> dict[str, Any]:
    """redis+sentinel://[user[:password]@]host:port[,host:port...]/MASTER[/db]"""
    rest = url.split("://", 1)[1]
    auth, _, rest = rest.rpartition("@")
    hosts, _, path = rest.partition("/")
    segments = [p for p in path.split("/") if p]
    if not segments:
        raise ValueError("a redis+sentinel:// URL needs the master name: .../NAME[/db]")
    out: dict[str, Any] = {
        "scheme": "redis",
        "tls": scheme.startswith("rediss"),
        "sentinels": parse_sentinels(hosts.split(",")),
        "master_name": unquote(segments[0]),
        "path": None,
    }
    if len(segments) > 1:
        out["db"] = int(segments[1])
    if auth:
        user, _, password = auth.partition(":")
        if user:
            out["username"] = unquote(user)
        if password:
            out["password"] = unquote(password)
    return out


def parse_url(url: str) -> dict[str, Any]:
    """Split a redis://, rediss:// or unix:// URL into ConnectionSpec fields."""
    try:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme not in SCHEMES:
            raise ValueError(f"unsupported scheme {parts.scheme or '(none)'!r}")
        if scheme.endswith("+sentinel"):
            return _parse_sentinel_url(url, scheme)
        out: dict[str, Any] = {"scheme": scheme, "tls": scheme == "rediss"}
        if parts.username:
            out["username"] = unquote(parts.username)
        if parts.password:
            out["password"] = unquote(parts.password)
        query = parse_qs(parts.query)
        if scheme == "unix":
            if not parts.path:
                raise ValueError("a unix:// URL needs a socket path")
            out["path"] = unquote(parts.path)
            if "db" in query:
                out["db"] = int(query["db"][0])
        else:
            out["host"] = parts.hostname or DEFAULT_HOST
            out["port"] = parts.port or DEFAULT_PORT
            db_part = parts.path.strip("/")
            if db_part:
                out["db"] = int(db_part)
            elif "db" in query:
                out["db"] = int(query["db"][0])
        if "db" in out and out["db"] < 0:
            raise ValueError("db must be >= 0")
        return out
    except ValueError as exc:
        # never echo the URL: it may hold a password
        raise UsageError(
            f"invalid URL: {exc}",
            "use redis://[user[:password]@]host[:port][/db], rediss://… or unix:///path?db=N",
        ) from None


@dataclass
class ConnectionOptions:
    """The connection flags as given on the command line (None = not given)."""

    url: str | None = None
    host: str | None = None
    port: int | None = None
    db: int | None = None
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    tls: bool | None = None
    cacert: str | None = None
    cert: str | None = None
    key: str | None = None
    insecure: bool | None = None
    timeout: float | None = None
    sentinel: list[str] | None = None
    master: str | None = None
    sentinel_user: str | None = None
    sentinel_password: str | None = field(default=None, repr=False)


def _layer(values: dict[str, Any]) -> dict[str, Any]:
    """One precedence level: its URL expanded into fields, then its single fields on top."""
    out: dict[str, Any] = {}
    url = values.get("url")
    if url:
        out.update(parse_url(url))
        if out["scheme"] != "unix":
            out["path"] = None
        if "sentinels" not in out:  # a plain URL replaces a Sentinel target from below
            out.update(sentinels=(), master_name=None)
    simple = {
        "host": "host",
        "port": "port",
        "db": "db",
        "user": "username",
        "password": "password",
        "tls": "tls",
        "cacert": "cacert",
        "cert": "cert",
        "key": "key",
        "insecure": "insecure",
        "timeout": "timeout",
        "master": "master_name",
        "sentinel_user": "sentinel_username",
        "sentinel_password": "sentinel_password",
    }
    for option, attr in simple.items():
        if values.get(option) is not None:
            out[attr] = values[option]
    if values.get("sentinel"):
        out["sentinels"] = parse_sentinels(values["sentinel"])
    if values.get("host") is not None or values.get("port") is not None:
        if out.get("scheme") == "unix" or "scheme" not in out:
            out["scheme"] = "redis"
        out["path"] = None
        out.setdefault("sentinels", ())
    return out


def resolve(
    options: ConnectionOptions,
    profile: Profile | None,
    environ: os._Environ[str] | dict[str, str] | None = None,
) -> ConnectionSpec:
    """Merge default < profile < environment < flags into one ConnectionSpec."""
    env = os.environ if environ is None else environ
    fields: dict[str, Any] = {}
    if profile is not None:
        prof = dict(profile.connection)
        pw_env = prof.pop("password_env", None)
        if pw_env:
            if pw_env not in env:
                raise ConfigError(
                    f"{profile.where('password_env')}: profile {profile.name!r} reads the "
                    f"password from ${pw_env}, which is not set"
                )
            prof["password"] = env[pw_env]
        try:
            fields.update(_layer(prof))
        except UsageError as exc:
            raise ConfigError(f"{profile.where('url')}: {exc.message}", exc.hint) from None
    env_layer: dict[str, Any] = {}
    if env.get("REDISCOPE_URL"):
        env_layer["url"] = env["REDISCOPE_URL"]
    password = env.get("REDISCLI_AUTH") or env.get("REDISCOPE_PASSWORD")
    if password:
        env_layer["password"] = password
    if env.get("REDISCOPE_SENTINEL_PASSWORD"):
        env_layer["sentinel_password"] = env["REDISCOPE_SENTINEL_PASSWORD"]
    fields.update(_layer(env_layer))
    fields.update(_layer(vars(options)))
    if fields.get("tls") and fields.get("scheme", "redis") == "redis":
        fields["scheme"] = "rediss"
    timeout = float(fields.get("timeout", DEFAULT_TIMEOUT))
    if not 0 < timeout <= 3600:
        raise UsageError(f"--timeout must be between 0 and 3600 seconds, not {timeout:g}")
    fields["timeout"] = timeout
    fields["db_explicit"] = "db" in fields
    if fields.get("db", 0) < 0:
        raise UsageError("--db must be >= 0")
    if fields.get("scheme") == "rediss":
        fields["tls"] = True
    if fields.get("sentinels") and not fields.get("master_name"):
        raise UsageError("--sentinel needs --master NAME (the name the sentinels monitor)")
    if fields.get("master_name") and not fields.get("sentinels"):
        raise UsageError("--master needs at least one --sentinel HOST:PORT")
    for name in ("cacert", "cert", "key"):
        path = fields.get(name)
        if path and not os.path.isfile(path):
            raise UsageError(f"--{name} {path}: no such file")
    return ConnectionSpec(**fields)


def client(
    spec: ConnectionSpec, db: int | None = None, timeout: float | None = None
) -> redis.Redis:
    """A redis-py client for one server (bytes replies, no retries, RESP2)."""
    kwargs: dict[str, Any] = {
        "db": spec.db if db is None else db,
        "username": spec.username,
        "password": spec.password,
        "socket_timeout": spec.timeout if timeout is None else timeout,
        "socket_connect_timeout": spec.timeout,
        "retry": Retry(NoBackoff(), 0),
        "protocol": 2,
    }
    cls: type[redis.Connection] | type[redis.UnixDomainSocketConnection]
    if spec.scheme == "unix":
        kwargs["path"] = spec.path
        cls = NamedUnixConnection
    else:
        kwargs["host"] = spec.host
        kwargs["port"] = spec.port
        cls = NamedConnection
    if spec.tls:
        kwargs.update(
            ssl_ca_certs=spec.cacert,
            ssl_certfile=spec.cert,
            ssl_keyfile=spec.key,
            ssl_cert_reqs="none" if spec.insecure else "required",
            ssl_check_hostname=not spec.insecure,
        )
        cls = NamedSSLConnection
    conn = redis.Redis(connection_pool=redis.ConnectionPool(connection_class=cls, **kwargs))
    conn.auto_close_connection_pool = True  # close() ends its sockets, as for its own pool
    return conn


#: every connection rediscope opens says who it is, so operators (and rediscope's own health
#: check) can tell its commands from the application's in SLOWLOG, CLIENT LIST and MONITOR
CLIENT_NAME = b"rediscope"
# the hook redis-py calls once a socket is connected and authenticated (its name by version)
_HOOK = (
    "on_connect_check_health"
    if hasattr(redis.Connection, "on_connect_check_health")
    else "on_connect"
)


def _named(base: type[Any]) -> type[Any]:
    """`base` with CLIENT SETNAME rediscope after connecting, where the server allows it."""

    def hook(self: Any, *args: Any, **kwargs: Any) -> None:
        getattr(base, _HOOK)(self, *args, **kwargs)
        self.send_command("CLIENT", "SETNAME", CLIENT_NAME)
        with contextlib.suppress(redis.ResponseError):  # NOPERM: a nameless client still works
            self.read_response()

    return type(f"Named{base.__name__}", (base,), {_HOOK: hook})


NamedConnection = _named(redis.Connection)
NamedSSLConnection = _named(redis.SSLConnection)
NamedUnixConnection = _named(redis.UnixDomainSocketConnection)


def connect(spec: ConnectionSpec) -> redis.Redis:
    """A connected, authenticated client (PING answered), or a domain error that says what is
    wrong: a password given to a server that has none, a db the server does not have."""
    conn = client(spec)
    try:
        conn.ping()
    except (redis.RedisError, OSError) as exc:
        conn.close()
        raise explain_connect_failure(exc, spec, lambda: client(_anonymous(spec), db=0)) from None
    return conn


def _anonymous(spec: ConnectionSpec) -> ConnectionSpec:
    return replace(spec, username=None, password=None)

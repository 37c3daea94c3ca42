"""The YAML configuration file: named profiles of connection options and per-command defaults.

    default_profile: prod            # optional: used when no --profile / REDISCOPE_PROFILE
    profiles:
      prod:
        url: rediss://alice@redis.example.com:6380/0
        password_env: PROD_REDIS_PASSWORD  # read the password from this variable
        cacert: /etc/ssl/redis-ca.pem
        timeout: 3
        bigkeys:                     # per-command defaults, by option name
          top: 50

Errors name the file, the line and the problem.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from rediscope.errors import ConfigError

#: Connection options a profile may hold, with the Python type each must have.
CONNECTION_KEYS: dict[str, tuple[type, ...]] = {
    "url": (str,),
    "host": (str,),
    "port": (int,),
    "db": (int,),
    "user": (str,),
    "password": (str,),
    "password_env": (str,),
    "tls": (bool,),
    "cacert": (str,),
    "cert": (str,),
    "key": (str,),
    "insecure": (bool,),
    "timeout": (int, float),
    "sentinel": (list,),
    "master": (str,),
    "sentinel_user": (str,),
    "sentinel_password": (str,),
}


@dataclass(frozen=True)
class Profile:
    name: str
    source: Path
    connection: dict[str, Any] = field(default_factory=dict)
    #: per-command defaults: {"bigkeys": {"top": 50}}
    commands: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: line numbers of each key, to point errors at the file (key path -> line)
    lines: dict[tuple[str, ...], int] = field(default_factory=dict, repr=False)

    def where(self, *path: str) -> str:
        line = self.lines.get(("profiles", self.name, *path))
        return f"{self.source}:{line}" if line else str(self.source)


def state_dir() -> Path:
    """Where rediscope keeps its state: $XDG_STATE_HOME/rediscope (~/.local/state/rediscope)."""
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "rediscope"


def default_config_path() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "rediscope" / "config.yaml"


def config_path(explicit: str | None) -> tuple[Path, bool]:
    """The config file to read and whether the user named it (a named file must exist)."""
    if explicit:
        return Path(explicit).expanduser(), True
    env = os.environ.get("REDISCOPE_CONFIG")
    if env:
        return Path(env).expanduser(), True
    return default_config_path(), False


def _line_map(node: yaml.Node, path: tuple[str, ...], out: dict[tuple[str, ...], int]) -> None:
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = str(key_node.value)
            sub = (*path, key)
            out[sub] = key_node.start_mark.line + 1
            _line_map(value_node, sub, out)


def load_config(path: Path, required: bool) -> tuple[dict[str, Any], dict[tuple[str, ...], int]]:
    """Parse the file into a mapping and a map of key paths to line numbers."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        if required:
            raise ConfigError(
                f"config file {path} does not exist", "check --config / REDISCOPE_CONFIG"
            ) from None
        return {}, {}
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ConfigError(f"cannot read config file {path}: {reason}") from None
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
        raise ConfigError(f"{where}: invalid YAML: {exc.problem or exc}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: invalid YAML: {exc}") from None
    if data is None:
        return {}, {}
    if not isinstance(data, dict):
        raise ConfigError(
            f"{path}:1: the config file must be a mapping with a 'profiles' key, "
            f"not a {type(data).__name__}"
        )
    lines: dict[tuple[str, ...], int] = {}
    if node is not None:
        _line_map(node, (), lines)
    return data, lines


def _where(path: Path, lines: dict[tuple[str, ...], int], *key: str) -> str:
    line = lines.get(key)
    return f"{path}:{line}" if line else str(path)


def find_profile(config: str | None, name: str | None) -> Profile | None:
    """Load the profile to use: the named one, else the file's default_profile, else none."""
    path, required = config_path(config)
    data, lines = load_config(path, required or bool(name))
    for top in data:
        if top not in ("profiles", "default_profile"):
            raise ConfigError(
                f"{_where(path, lines, str(top))}: unknown top-level key {top!r}",
                "expected 'profiles' and optionally 'default_profile'",
            )
    profiles = data.get("profiles") or {}
    if not isinstance(profiles, dict):
        raise ConfigError(f"{_where(path, lines, 'profiles')}: 'profiles' must be a mapping")
    name = name or data.get("default_profile")
    if not name:
        return None
    if name not in profiles:
        known = ", ".join(sorted(map(str, profiles))) or "none"
        raise ConfigError(f"{path}: no profile named {name!r} (profiles: {known})")
    body = profiles[name] or {}
    if not isinstance(body, dict):
        raise ConfigError(f"{_where(path, lines, 'profiles', name)}: profile must be a mapping")
    connection: dict[str, Any] = {}
    commands: dict[str, dict[str, Any]] = {}
    for key, value in body.items():
        where = _where(path, lines, "profiles", name, str(key))
        if key in CONNECTION_KEYS:
            types = CONNECTION_KEYS[key]
            ok = isinstance(value, types) and not (bool not in types and isinstance(value, bool))
            if not ok:
                want = " or ".join(t.__name__ for t in types)
                raise ConfigError(f"{where}: {key} must be a {want}, not {value!r}")
            connection[key] = value
        elif isinstance(value, dict):
            commands[str(key)] = value
        else:
            raise ConfigError(
                f"{where}: unknown key {key!r}",
                f"connection keys are {', '.join(CONNECTION_KEYS)}; per-command defaults go under "
                "the command's name (e.g. 'bigkeys: {top: 50}')",
            )
    return Profile(str(name), path, connection, commands, lines)

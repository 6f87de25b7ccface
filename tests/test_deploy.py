"""deploy/: every command a manifest runs exists in the real CLI, and the deployment is locked down.

Each manifest is read the way its own tool reads it (YAML documents, the Dockerfile's
exec form, shell words, systemd's INI files); every ``catalog-synth`` command line found
is resolved against ``catalog_synth.entry.cli.main`` by walking click's command tree.
"""

from __future__ import annotations

import base64
import configparser
import json
import math
import re
import shlex
import shutil
import subprocess
import sys
import typing
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit

import click
import kubernetes_validate
import pytest
import tomllib
import yaml
from pydantic import BaseModel, SecretStr

from catalog_synth.core.config import Config, parse_config

DEPLOY = Path(__file__).resolve().parents[1] / "deploy"
K8S = DEPLOY / "k8s"
COMPOSE_FILE = DEPLOY / "docker-compose.yml"
COMPOSE_CONFIG = DEPLOY / "config" / "catalog-synth.yml"
SYSTEMD = DEPLOY / "systemd"
SYSTEMD_SERVICES = ("catalog-synth-sync.service", "catalog-synth-sandbox.service")
INSTALLED_PROGRAM = "/opt/catalog-synth/bin/catalog-synth"  # where the units expect the venv
TORCH_CPU_INDEX = "https://download.pytorch.org/whl/cpu"
PROGRAM = "catalog-synth"
IMAGE = "catalog-synth"
SHELLS = {"sh", "bash"}
# Control operators split a shell line into simple commands; redirections are dropped.
_CONTROL = set(";&|(){}")
_REDIRECTION = re.compile(r"""\s\d*(?:>>?|<)&?\s*(?:"[^"]*"|'[^']*'|\S+)""")
_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
# Commands that run the command after them: {wrapper: its options that take a value}.
_WRAPPERS = {"exec": set(), "sudo": {"-u", "-g"}}
_ENV_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(:-[^}]*)?\}")
_COMPOSE_REFERENCE = re.compile(r"\$\{[A-Za-z_][A-Za-z0-9_]*(?::?[-?][^}]*)?\}")


@dataclass(frozen=True)
class Invocation:
    file: str
    where: str
    argv: tuple[str, ...]

    @property
    def subcommand(self) -> str | None:
        return subcommand_of(self.argv)


def subcommand_of(argv: list[str] | tuple[str, ...]) -> str | None:
    """The first word after the program that is not an option (the group takes flags only)."""
    return next((word for word in argv[1:] if not word.startswith("-")), None)


# ----------------------------------------------------------------- reading manifests


def is_program(word: str) -> bool:
    return PurePosixPath(word).name == PROGRAM


def shell_invocations(script: str) -> list[list[str]]:
    """The catalog-synth command lines in a shell script: simple commands whose program it is."""
    calls = []
    for line in script.replace("\\\n", " ").splitlines():
        lexer = shlex.shlex(_REDIRECTION.sub(" ", line), posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        for words in simple_commands(list(lexer)):
            argv = program_and_arguments(words)
            if argv and is_program(argv[0]):
                calls.append(argv)
    return calls


def simple_commands(words: list[str]) -> Iterator[list[str]]:
    current: list[str] = []
    for word in words + [";"]:
        if set(word) <= _CONTROL:
            if current:
                yield current
            current = []
        else:
            current.append(word)


def program_and_arguments(words: list[str]) -> list[str]:
    """Drop leading ``VAR=value`` assignments and wrappers (``exec``, ``sudo -u user``)."""
    while words:
        if _ASSIGNMENT.match(words[0]):
            words = words[1:]
        elif words[0] in _WRAPPERS:
            takes_value, words = _WRAPPERS[words[0]], words[1:]
            while words and words[0].startswith("-"):
                words = words[2:] if words[0] in takes_value else words[1:]
        else:
            break
    return words


def argv_invocations(argv: list[str]) -> list[list[str]]:
    if not argv:
        return []
    if is_program(argv[0]):
        return [argv]
    if PurePosixPath(argv[0]).name in SHELLS and "-c" in argv[:-1]:
        return shell_invocations(argv[argv.index("-c") + 1])
    return []


def dockerfile_instructions() -> list[tuple[str, str]]:
    text = (DEPLOY / "Dockerfile").read_text().replace("\\\n", " ")
    lines = (line.strip() for line in text.splitlines())
    pairs = (line.partition(" ") for line in lines if line and not line.startswith("#"))
    return [(keyword.upper(), rest.strip()) for keyword, _, rest in pairs]


def dockerfile_argv(arguments: str) -> list[str]:
    """Exec form (a JSON array) as is; shell form runs under /bin/sh -c."""
    return json.loads(arguments) if arguments.startswith("[") else ["/bin/sh", "-c", arguments]


def image_default(keyword: str) -> list[str]:
    values = [dockerfile_argv(rest) for key, rest in dockerfile_instructions() if key == keyword]
    return values[-1] if values else []


def as_argv(value: str | list[str] | None) -> list[str] | None:
    return shlex.split(value) if isinstance(value, str) else value


def container_argv(entrypoint: str | list[str] | None, arguments: str | list[str] | None) -> list[str]:
    """What a container of our image runs: overriding the entrypoint also drops the image's CMD."""
    entry, args = as_argv(entrypoint), as_argv(arguments)
    if entry is None:
        return image_default("ENTRYPOINT") + (args if args is not None else image_default("CMD"))
    return entry + (args or [])


def yaml_documents(path: Path) -> list[dict[str, Any]]:
    with path.open() as handle:
        return [document for document in yaml.safe_load_all(handle) if document]


def k8s_objects() -> list[tuple[str, dict[str, Any]]]:
    return [
        (path.name, document)
        for path in sorted(K8S.glob("*.yaml"))
        if path.name != "kustomization.yaml"
        for document in yaml_documents(path)
    ]


def pod_spec(document: dict[str, Any]) -> dict[str, Any] | None:
    spec = document.get("spec", {})
    if document["kind"] == "CronJob":
        return spec["jobTemplate"]["spec"]["template"]["spec"]
    if document["kind"] in {"Deployment", "StatefulSet", "DaemonSet", "Job"}:
        return spec["template"]["spec"]
    return None


@dataclass(frozen=True)
class K8sContainer:
    file: str
    pod: dict[str, Any]
    spec: dict[str, Any]

    @property
    def ours(self) -> bool:
        return self.spec["image"].split(":")[0] == IMAGE

    @property
    def argv(self) -> list[str]:
        return container_argv(self.spec.get("command"), self.spec.get("args"))

    @property
    def env(self) -> dict[str, dict[str, Any]]:
        return {variable["name"]: variable for variable in self.spec.get("env", [])}

    def runs(self, subcommand: str) -> bool:
        return any(subcommand_of(call) == subcommand for call in argv_invocations(self.argv))


def k8s_containers() -> list[K8sContainer]:
    containers = []
    for file, document in k8s_objects():
        pod = pod_spec(document)
        for spec in (pod or {}).get("initContainers", []) + (pod or {}).get("containers", []):
            containers.append(K8sContainer(file, pod, spec))
    return containers


def compose_services() -> dict[str, dict[str, Any]]:
    return yaml_documents(COMPOSE_FILE)[0]["services"]


def is_our_service(service: dict[str, Any]) -> bool:
    return "build" in service or service.get("image", "").split(":")[0] == IMAGE


def compose_unescape(value: str | list[str] | None) -> str | list[str] | None:
    """Compose turns ``$$`` into a literal ``$`` before the shell sees it."""
    if isinstance(value, list):
        return [word.replace("$$", "$") for word in value]
    return value.replace("$$", "$") if isinstance(value, str) else None


def crontab_entries() -> list[tuple[list[str], str]]:
    """(the five schedule fields, the command) of each job line; comments and VAR= lines skipped."""
    lines = (DEPLOY / "crontab.example").read_text().splitlines()
    jobs = [line for line in lines if line.strip() and not re.match(r"\s*#", line) and not _ASSIGNMENT.match(line)]
    return [(job.split(None, 5)[:5], job.split(None, 5)[5]) for job in jobs]


def systemd_unit(name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    parser.optionxform = str  # systemd keys are case-sensitive
    parser.read(SYSTEMD / name)
    return parser


def readme_shell_blocks() -> list[str]:
    text = (DEPLOY / "README.md").read_text()
    blocks = re.findall(r"```(?:sh|bash|shell|console)\n(.*?)```", text, flags=re.DOTALL)
    return [re.sub(r"^\$ ", "", block, flags=re.MULTILINE) for block in blocks]


def collect_invocations() -> list[Invocation]:
    found: list[tuple[str, str, list[str]]] = []
    found += [("Dockerfile", "ENTRYPOINT+CMD", argv) for argv in argv_invocations(container_argv(None, None))]
    for keyword, rest in dockerfile_instructions():
        if keyword == "RUN":
            found += [("Dockerfile", "RUN", argv) for argv in argv_invocations(dockerfile_argv(rest))]
    for name, service in compose_services().items():
        if is_our_service(service):
            argv = container_argv(compose_unescape(service.get("entrypoint")), compose_unescape(service.get("command")))
            found += [("docker-compose.yml", name, call) for call in argv_invocations(argv)]
    for container in filter(lambda c: c.ours, k8s_containers()):
        found += [(f"k8s/{container.file}", container.spec["name"], call) for call in argv_invocations(container.argv)]
    for _, command in crontab_entries():
        found += [("crontab.example", "entry", call) for call in shell_invocations(command)]
    for unit in SYSTEMD_SERVICES:
        for key, value in systemd_unit(unit)["Service"].items():
            if key.startswith("Exec"):
                argv = shlex.split(value.lstrip("-@:+!"))
                found += [(f"systemd/{unit}", key, call) for call in argv_invocations(argv)]
    for block in readme_shell_blocks():
        found += [("README.md", "code block", call) for call in shell_invocations(block)]
    return [Invocation(file, where, tuple(argv)) for file, where, argv in found]


INVOCATIONS = collect_invocations()


# ----------------------------------------------------------------- resolving against the CLI


def _option(command: click.Command, name: str) -> click.Option | None:
    for param in command.params:
        if isinstance(param, click.Option) and name in param.opts + param.secondary_opts:
            return param
    return None


def _exits_early(command: click.Command, context: click.Context, word: str) -> bool:
    """``--help`` and eager options like ``--version`` print and exit before any command runs."""
    option = _option(command, word)
    return word in command.get_help_option_names(context) or bool(
        option and option.is_eager and not option.expose_value
    )


def _takes_value(option: click.Option) -> bool:
    return not option.is_flag and not option.count


def _option_problem(command: click.Command, word: str, words: list[str]) -> str | None:
    """Check one ``--option[=value]``, taking its value off ``words``."""
    name, has_value, value = word.partition("=")
    option = _option(command, name)
    if option is None:
        return f"no option {name}"
    if not _takes_value(option):
        return f"{name} takes no value" if has_value else None
    if not has_value:
        if len(words) < option.nargs:
            return f"{name} needs a value"
        value = " ".join(words.pop(0) for _ in range(option.nargs))
    choices = option.type.choices if isinstance(option.type, click.Choice) else None
    if choices and not value.startswith("$") and value not in choices:
        return f"{name}: {value!r} is not one of {list(choices)}"
    return None


def _arguments_problem(command: click.Command, count: int) -> str | None:
    arguments = [param for param in command.params if isinstance(param, click.Argument)]
    least = sum(argument.nargs for argument in arguments if argument.required)
    most = math.inf if any(argument.nargs == -1 for argument in arguments) else sum(a.nargs for a in arguments)
    return None if least <= count <= most else f"takes {least}..{most} arguments, given {count}"


def cli_problem(argv: list[str] | tuple[str, ...]) -> str | None:
    """Why ``argv`` would not parse in the real CLI, or None when it would.

    Walks click's command tree from ``catalog_synth.entry.cli.main``: options are checked against
    the command they follow (group options before the subcommand), values against choices.
    """
    from catalog_synth.entry.cli import main

    command: click.Command = main
    context = click.Context(main, info_name=PROGRAM)
    words, positionals, problem = list(argv[1:]), 0, None
    while words and problem is None:
        word = words.pop(0)
        if _exits_early(command, context, word):
            return None
        if word.startswith("-") and word != "-":
            problem = _option_problem(command, word, words)
        elif isinstance(command, click.Group):
            subcommand = command.get_command(context, word)
            if subcommand is None:
                problem = f"no command {word!r}"
            else:
                context, command = click.Context(subcommand, info_name=word, parent=context), subcommand
        else:
            positionals += 1
    if problem is None and isinstance(command, click.Group):
        problem = "no command given"
    problem = problem or _arguments_problem(command, positionals)
    return f"{context.command_path}: {problem}" if problem else None


@pytest.mark.parametrize("invocation", INVOCATIONS, ids=lambda i: f"{i.file}[{i.where}]: {' '.join(i.argv[1:])}")
def test_command_exists_in_cli(invocation: Invocation) -> None:
    assert cli_problem(invocation.argv) is None, cli_problem(invocation.argv)


@pytest.mark.parametrize(
    "argv",
    [
        ["catalog-synth"],
        ["catalog-synth", "no-such-command"],
        ["catalog-synth", "sync", "--no-such-option"],
        ["catalog-synth", "sync", "--report"],
        ["catalog-synth", "sync", "unexpected-argument"],
        ["catalog-synth", "sync", "--executor", "spark"],
        ["catalog-synth", "--full", "sync"],
        ["catalog-synth", "sync", "--full=yes"],
    ],
)
def test_resolver_rejects_what_the_cli_would_reject(argv: list[str]) -> None:
    assert cli_problem(argv) is not None


def test_each_manifest_runs_the_expected_commands() -> None:
    expected = {
        "Dockerfile": {"serve", None},  # None: the build's `catalog-synth --version` check
        "docker-compose.yml": {"sync", "serve"},
        "k8s/cronjob-sync.yaml": {"sync"},
        "k8s/deployment-sandbox.yaml": {"serve"},
        "crontab.example": {"sync"},
        "systemd/catalog-synth-sync.service": {"sync"},
        "systemd/catalog-synth-sandbox.service": {"serve"},
    }
    for file, subcommands in expected.items():
        found = {invocation.subcommand for invocation in INVOCATIONS if invocation.file == file}
        assert found == subcommands, file
    assert any("--executor" in invocation.argv for invocation in INVOCATIONS if invocation.file == "README.md")


def test_shell_reader_finds_commands_behind_wrappers_and_operators() -> None:
    script = (
        "set -e\n"
        'A=1 exec /opt/x/bin/catalog-synth sync \\\n  --full 2>&1 >> "/var/log/a b" || echo "catalog-synth x"\n'
        "run() { sudo -u catalog-synth catalog-synth serve; }; useradd catalog-synth"
    )
    assert shell_invocations(script) == [["/opt/x/bin/catalog-synth", "sync", "--full"], ["catalog-synth", "serve"]]


# ----------------------------------------------------------------- locked down


def test_dockerfile_runs_as_a_numeric_non_root_user() -> None:
    users = [rest for keyword, rest in dockerfile_instructions() if keyword == "USER"]
    assert users, "the Dockerfile sets no USER"
    uid = users[-1].split(":")[0]
    assert uid.isdigit() and int(uid) != 0, "USER must be a numeric non-zero uid (runAsNonRoot checks it)"
    assert any(keyword == "FROM" and rest.startswith("python:3.11-slim") for keyword, rest in dockerfile_instructions())



def dockerfile_pip_installs() -> list[list[str]]:
    """The arguments of every ``pip install`` the Dockerfile's RUN lines make, in order."""
    installs = []
    for keyword, rest in dockerfile_instructions():
        if keyword == "RUN":
            lexer = shlex.shlex(rest, posix=True, punctuation_chars=True)
            lexer.whitespace_split = True
            installs += [words[2:] for words in simple_commands(list(lexer))
                         if PurePosixPath(words[0]).name == "pip" and words[1:2] == ["install"]]
    return installs


def test_dockerfile_takes_only_torch_from_pytorchs_cpu_index() -> None:
    """PyPI's Linux torch is a CUDA build of several GB: the image takes the CPU build (the
    version CI installs), and nothing else from that index (never --extra-index-url)."""
    torch, project = dockerfile_pip_installs()
    assert torch == ["--index-url", TORCH_CPU_INDEX, "torch==${TORCH_VERSION}"]
    assert not any("index-url" in word for word in project), project
    (version,) = [rest.partition("=")[2] for key, rest in dockerfile_instructions() if key == "ARG"
                  and rest.startswith("TORCH_VERSION=")]
    assert f"torch=={version}" in (DEPLOY.parent / ".ci" / "install").read_text()


@pytest.mark.parametrize("container", k8s_containers(), ids=lambda c: f"{c.file}:{c.spec['name']}")
def test_k8s_container_is_non_root_with_read_only_root(container: K8sContainer) -> None:
    pod_context = container.pod.get("securityContext", {})
    context = {**pod_context, **container.spec.get("securityContext", {})}
    assert context.get("runAsNonRoot") is True
    assert context.get("runAsUser", 1) != 0
    assert context.get("readOnlyRootFilesystem") is True
    assert context.get("allowPrivilegeEscalation") is False
    assert "ALL" in context.get("capabilities", {}).get("drop", [])
    assert container.pod.get("automountServiceAccountToken") is False


def test_compose_catalog_synth_services_are_locked_down() -> None:
    ours = {name: service for name, service in compose_services().items() if is_our_service(service)}
    assert ours
    for name, service in ours.items():
        assert service.get("read_only") is True, name
        assert "ALL" in service.get("cap_drop", []), name
        assert str(service.get("user", "")).split(":")[0] not in {"0", "root"}, name
        assert not service.get("privileged"), name


def configmap_config_text() -> str:
    configmaps = [document for _, document in k8s_objects() if document["kind"] == "ConfigMap"]
    return next(cm["data"]["catalog-synth.yml"] for cm in configmaps if "catalog-synth.yml" in cm.get("data", {}))


def example_secret() -> dict[str, dict[str, str]]:
    """{Secret name: {key: value}}, ``data`` decoded from base64 as the kubelet does."""
    secrets = {}
    for _, document in k8s_objects():
        if document["kind"] == "Secret":
            data = {key: base64.b64decode(value).decode() for key, value in document.get("data", {}).items()}
            secrets[document["metadata"]["name"]] = {**data, **document.get("stringData", {})}
    return secrets


def example_environ() -> dict[str, str]:
    """Every key of the example Secret, as the sync container sees them."""
    return {key: value for values in example_secret().values() for key, value in values.items()}


def store_dir(config: Config) -> PurePosixPath:
    return PurePosixPath(config.store).parent


def k8s_container_running(subcommand: str) -> K8sContainer:
    matches = [container for container in k8s_containers() if container.ours and container.runs(subcommand)]
    assert len(matches) == 1, f"{len(matches)} containers run {subcommand}"
    return matches[0]


def k8s_store_mount(container: K8sContainer, directory: PurePosixPath) -> tuple[dict[str, Any], dict[str, Any]]:
    mounts = [m for m in container.spec.get("volumeMounts", []) if directory.is_relative_to(m["mountPath"])]
    assert mounts, f"{container.spec['name']} does not mount {directory}"
    mount = max(mounts, key=lambda m: len(m["mountPath"]))
    volume = next(v for v in container.pod["volumes"] if v["name"] == mount["name"])
    return mount, volume


def test_k8s_sandbox_mounts_the_store_read_only_and_sync_writes_it() -> None:
    directory = store_dir(parse_config(configmap_config_text(), example_environ()))
    sandbox, sync = k8s_container_running("serve"), k8s_container_running("sync")
    mount, volume = k8s_store_mount(sandbox, directory)
    assert mount.get("readOnly") is True
    assert "persistentVolumeClaim" in volume and volume["persistentVolumeClaim"].get("readOnly") is True
    sync_mount, sync_volume = k8s_store_mount(sync, directory)
    assert not sync_mount.get("readOnly")
    assert sync_volume["persistentVolumeClaim"]["claimName"] == volume["persistentVolumeClaim"]["claimName"]


def compose_mounts(service: dict[str, Any]) -> list[tuple[str, str, bool]]:
    """(source, target, read_only) for short ``src:dst[:ro]`` and long-syntax volumes."""
    mounts = []
    for volume in service.get("volumes", []):
        if isinstance(volume, str):
            source, target, *mode = volume.split(":")
            mounts.append((source, target, "ro" in ",".join(mode).split(",")))
        else:
            mounts.append((volume.get("source", ""), volume["target"], bool(volume.get("read_only"))))
    return mounts


def compose_service_running(subcommand: str) -> dict[str, Any]:
    names = {i.where for i in INVOCATIONS if i.file == "docker-compose.yml" and i.subcommand == subcommand}
    assert len(names) == 1, names
    return compose_services()[names.pop()]


def test_compose_sandbox_mounts_the_store_read_only_and_sync_writes_it() -> None:
    directory = str(store_dir(parse_config(COMPOSE_CONFIG.read_text(), {})))
    sandbox_mounts = [m for m in compose_mounts(compose_service_running("serve")) if m[1] == directory]
    sync_mounts = [m for m in compose_mounts(compose_service_running("sync")) if m[1] == directory]
    assert len(sandbox_mounts) == len(sync_mounts) == 1
    assert sandbox_mounts[0][2] is True
    assert sync_mounts[0][2] is False
    assert sandbox_mounts[0][0] == sync_mounts[0][0], "the sandbox must read the volume the sync writes"


def secret_field_paths(model: type[BaseModel], prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    """Paths (``*`` for list items) of the config's SecretStr fields, read off the real model."""
    for name, field in model.model_fields.items():
        yield from _secret_paths_in(field.annotation, prefix + (name,))


def _secret_paths_in(annotation: Any, path: tuple[str, ...]) -> Iterator[tuple[str, ...]]:
    if annotation is SecretStr:
        yield path
    elif isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield from secret_field_paths(annotation, path)
    elif typing.get_origin(annotation) is list:
        yield from _secret_paths_in(typing.get_args(annotation)[0], path + ("*",))
    else:
        for argument in typing.get_args(annotation):
            yield from _secret_paths_in(argument, path)


def values_at(raw: Any, path: tuple[str, ...]) -> list[Any]:
    if not path:
        return [raw]
    if path[0] == "*":
        return [value for item in raw or [] for value in values_at(item, path[1:])]
    if isinstance(raw, dict) and path[0] in raw:
        return values_at(raw[path[0]], path[1:])
    return []


def secret_variables(config_text: str) -> dict[str, str]:
    """{env var: config key} for every secret field; each must be a pure ``${VAR}`` reference."""
    raw = yaml.safe_load(config_text)
    variables = {}
    for path in secret_field_paths(Config):
        for value in values_at(raw, path):
            match = _ENV_REFERENCE.fullmatch(str(value))
            assert match, f"{'.'.join(path)} is written into the config instead of coming from the environment"
            variables[match.group(1)] = ".".join(path)
    assert "warehouses.*.url" in variables.values()
    return variables


def required_variables(config_text: str) -> set[str]:
    return {name for name, default in _ENV_REFERENCE.findall(config_text) if not default}


def test_k8s_secrets_come_from_secret_objects() -> None:
    config_text = configmap_config_text()
    secret_vars = secret_variables(config_text)
    secrets = example_secret()
    ours = [c for c in k8s_containers() if c.ours]
    for container in ours:
        for name, variable in container.env.items():
            reference = variable.get("valueFrom", {}).get("secretKeyRef")
            if name in secret_vars or reference:
                assert reference and "value" not in variable, f"{container.spec['name']}: {name} is inlined"
                assert reference["key"] in secrets.get(reference["name"], {}), f"{reference} names no Secret key"
        assert required_variables(config_text) <= set(container.env), container.spec["name"]
    assert set(secret_vars) <= set(k8s_container_running("sync").env)


def test_k8s_sandbox_gets_no_warehouse_or_catalog_credentials() -> None:
    secret_vars = secret_variables(configmap_config_text())
    assert not set(secret_vars) & set(k8s_container_running("serve").env)


def test_compose_secrets_come_from_the_host_environment() -> None:
    secret_vars = secret_variables(COMPOSE_CONFIG.read_text())
    sync_env = compose_service_running("sync").get("environment", {})
    for name in secret_vars:
        assert _COMPOSE_REFERENCE.fullmatch(str(sync_env.get(name, ""))), f"{name} must be ${{{name}}} from deploy/.env"
    assert not set(secret_vars) & set(compose_service_running("serve").get("environment", {}))


@pytest.mark.parametrize("container", [c for c in k8s_containers() if c.ours], ids=lambda c: c.spec["name"])
def test_k8s_config_loads_in_each_container(container: K8sContainer) -> None:
    secrets = example_secret()
    environ = {}
    for name, variable in container.env.items():
        reference = variable.get("valueFrom", {}).get("secretKeyRef")
        environ[name] = secrets[reference["name"]][reference["key"]] if reference else variable["value"]
    config = parse_config(configmap_config_text(), environ)
    assert config.catalog.file is None, "the config mount is read-only: write the catalog to DataHub"


def test_compose_config_is_valid() -> None:
    config = parse_config(COMPOSE_CONFIG.read_text(), {})
    assert config.catalog.datahub is not None and config.catalog.datahub.server == "http://datahub-gms:8080"
    assert "datahub-gms" in compose_services()


def test_k8s_manifests_match_the_kubernetes_schema() -> None:
    for file, document in k8s_objects():
        kubernetes_validate.validate(document, "1.30.0", strict=True)


def test_kustomization_lists_every_manifest_but_the_example_secret() -> None:
    kustomization = yaml_documents(K8S / "kustomization.yaml")[0]
    manifests = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}
    assert set(kustomization["resources"]) == {name for name in manifests if ".example." not in name}
    images = {image["name"] for image in kustomization.get("images", [])}
    assert IMAGE in images


def test_crontab_entries_have_five_schedule_fields() -> None:
    entries = crontab_entries()
    assert entries
    for fields, command in entries:
        assert all(re.fullmatch(r"[\d*,/-]+", field) for field in fields), command


def test_systemd_timer_starts_the_sync_service_as_a_non_root_oneshot() -> None:
    service, timer = systemd_unit("catalog-synth-sync.service"), systemd_unit("catalog-synth-sync.timer")
    assert service["Service"]["Type"] == "oneshot"
    assert service["Service"]["User"] not in {"root", "0"}
    assert service["Service"].get("NoNewPrivileges") == "true"
    assert timer["Timer"]["Unit"] == "catalog-synth-sync.service"
    assert timer["Timer"]["OnCalendar"]
    assert timer["Install"]["WantedBy"] == "timers.target"


def test_systemd_sandbox_unit_serves_the_store_read_only_without_credentials() -> None:
    sync, sandbox = systemd_unit("catalog-synth-sync.service"), systemd_unit("catalog-synth-sandbox.service")
    service = sandbox["Service"]
    assert service["User"] not in {"root", "0"} and service.get("NoNewPrivileges") == "true"
    assert service["ProtectSystem"] == "strict" and service["Restart"] == "on-failure"
    store_dir = f"/var/lib/{sync['Service']['StateDirectory']}"
    assert store_dir in service["ReadOnlyPaths"].split()
    assert "StateDirectory" not in service and "ReadWritePaths" not in service
    assert sync["Service"]["EnvironmentFile"] not in service.get("EnvironmentFile", "")  # no sync secrets
    assert sandbox["Install"]["WantedBy"] == "multi-user.target"


def systemd_units() -> list[Path]:
    return sorted(SYSTEMD.glob("*.service")) + sorted(SYSTEMD.glob("*.timer"))


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze on this machine")
def test_systemd_units_pass_systemd_analyze_verify(tmp_path: Path) -> None:
    """systemd's own checker, with the installed command pointed at this venv's (verify wants it to exist)."""
    program = str(Path(sys.executable).with_name(PROGRAM))
    for unit in systemd_units():
        (tmp_path / unit.name).write_text(unit.read_text().replace(INSTALLED_PROGRAM, program))
    done = subprocess.run(
        ["systemd-analyze", "verify", *(str(tmp_path / unit.name) for unit in systemd_units())],
        capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0 and not (done.stdout + done.stderr).strip(), done.stdout + done.stderr


def test_k8s_ingress_serves_the_sandbox_url_over_tls() -> None:
    sandbox_url = urlsplit(parse_config(configmap_config_text(), example_environ()).catalog.sandbox_url or "")
    assert sandbox_url.scheme == "https"
    (ingress,) = [document for _, document in k8s_objects() if document["kind"] == "Ingress"]
    assert any(sandbox_url.hostname in tls["hosts"] and tls["secretName"] for tls in ingress["spec"]["tls"])
    (rule,) = [rule for rule in ingress["spec"]["rules"] if rule["host"] == sandbox_url.hostname]
    (path,) = rule["http"]["paths"]
    assert (path["path"], path["pathType"]) == ("/", "Prefix")
    backend = path["backend"]["service"]
    services = {d["metadata"]["name"]: d for _, d in k8s_objects() if d["kind"] == "Service"}
    service_port = next(p for p in services[backend["name"]]["spec"]["ports"] if p["name"] == backend["port"]["name"])
    (deployment,) = [document for _, document in k8s_objects() if document["kind"] == "Deployment"]
    assert services[backend["name"]]["spec"]["selector"].items() <= deployment["spec"]["template"]["metadata"]["labels"].items()
    assert service_port["targetPort"] in {port["name"] for port in k8s_container_running("serve").spec["ports"]}


def image_tags() -> dict[str, set[str]]:
    """Every tag of our image, by the file that names it: built, run or deployed."""
    tags: dict[str, set[str]] = {}

    def add(source: str, image: str) -> None:
        name, colon, tag = image.partition(":")
        if name == IMAGE and colon:
            tags.setdefault(source, set()).add(tag)

    for line in (DEPLOY / "Dockerfile").read_text().splitlines():  # the build command in its header
        for word in shlex.split(line.lstrip("# ")) if line.startswith("#") and "docker" in line else []:
            add("Dockerfile", word)
    for readme in (DEPLOY / "README.md", DEPLOY.parent / "README.md"):
        for block in re.findall(r"```(?:sh|bash|shell|console)\n(.*?)```", readme.read_text(), flags=re.DOTALL):
            for word in shlex.split(block.replace("\\\n", " "), comments=True):
                add(readme.relative_to(DEPLOY.parent).as_posix(), word)
        for word in re.findall(r"`docker [^`]*`", readme.read_text()):  # inline commands
            for part in shlex.split(word.strip("`")):
                add(readme.relative_to(DEPLOY.parent).as_posix(), part)
    for service in compose_services().values():
        add("docker-compose.yml", service.get("image", ""))
    for container in k8s_containers():
        add(f"k8s/{container.file}", container.spec["image"])
    for image in yaml_documents(K8S / "kustomization.yaml")[0].get("images", []):
        add("k8s/kustomization.yaml", f"{image['newName']}:{image['newTag']}")
    return tags


def test_one_image_tag_everywhere_and_it_is_the_package_version() -> None:
    tags = image_tags()
    expected_sources = {"Dockerfile", "deploy/README.md", "docker-compose.yml", "k8s/cronjob-sync.yaml",
                        "k8s/deployment-sandbox.yaml", "k8s/kustomization.yaml"}
    assert expected_sources <= set(tags), tags
    version = tomllib.loads((DEPLOY.parent / "pyproject.toml").read_text())["project"]["version"]
    assert {source: found for source, found in tags.items() if found != {version}} == {}

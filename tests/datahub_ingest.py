"""Running DataHub's own ingestion in tests, and reading what it wrote.

``run_pipeline`` uses DataHub's Pipeline API; ``run_datahub_cli`` the real
``datahub`` command from the venv. Telemetry is off (no network here).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml
from datahub.ingestion.run.pipeline import Pipeline
from sqlalchemy.engine import make_url

os.environ.setdefault("DATAHUB_TELEMETRY_ENABLED", "false")
DATAHUB_CLI = Path(sys.executable).with_name("datahub")


def postgres_source(url: str, **extra: Any) -> dict[str, Any]:
    """DataHub's ``postgres`` source config for a test database URL."""
    parsed = make_url(url)
    config: dict[str, Any] = {
        "host_port": f"{parsed.host}:{parsed.port}",
        "database": parsed.database,
        "username": parsed.username,
        "include_views": False,
    }
    if parsed.password:
        config["password"] = parsed.password
    config.update(extra)
    return {"type": "postgres", "config": config}


def recipe(source: dict[str, Any], out: Path, transformers: list[dict] | None = None) -> dict[str, Any]:
    result: dict[str, Any] = {"source": source, "sink": {"type": "file", "config": {"filename": str(out)}}}
    if transformers:
        result["transformers"] = transformers
    return result


def run_pipeline(source: dict[str, Any], out: Path, transformers: list[dict] | None = None) -> list[dict]:
    pipeline = Pipeline.create(recipe(source, out, transformers))
    pipeline.run()
    pipeline.raise_from_status()
    return json.loads(out.read_text())


def run_datahub_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATAHUB_TELEMETRY_ENABLED": "false"}
    return subprocess.run([str(DATAHUB_CLI), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600)


def ingest_with_cli(recipe_dict: dict[str, Any], workdir: Path) -> list[dict]:
    """``datahub ingest -c recipe.yml`` with a file sink; the records it wrote."""
    recipe_path = workdir / "recipe.yml"
    recipe_path.write_text(yaml.safe_dump(recipe_dict), encoding="utf-8")
    result = run_datahub_cli("ingest", "-c", str(recipe_path), cwd=workdir)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return json.loads(Path(recipe_dict["sink"]["config"]["filename"]).read_text())


def aspects(records: list[dict], aspect_name: str) -> dict[str, list[Any]]:
    """Every value of one aspect by entity URN, from MCPs and MCE snapshots alike."""
    found: dict[str, list[Any]] = {}
    for record in records:
        if record.get("aspectName") == aspect_name:
            aspect = record["aspect"]
            value = aspect["json"] if "json" in aspect else json.loads(aspect["value"])
            found.setdefault(record["entityUrn"], []).append(value)
        for snapshot in (record.get("proposedSnapshot") or {}).values():
            for entry in snapshot["aspects"]:
                for class_name, value in entry.items():
                    if class_name.rsplit(".", 1)[-1] == aspect_name[0].upper() + aspect_name[1:]:
                        found.setdefault(snapshot["urn"], []).append(value)
    return found


def field_paths(records: list[dict]) -> dict[str, list[str]]:
    """Dataset URN -> fieldPaths of its schemaMetadata."""
    return {
        urn: [field["fieldPath"] for field in values[-1]["fields"]]
        for urn, values in aspects(records, "schemaMetadata").items()
    }

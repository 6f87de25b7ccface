"""The REST sink against the local GMS stand-in, with DataHub's real emitter in both modes."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator

import pytest
from catalog_tables import catalog_config, synthetic_table
from datahub.configuration.common import OperationalError
from datahub.emitter.mcp import MetadataChangeProposalWrapper
from datahub.emitter.rest_emitter import DataHubRestEmitter
from datahub.metadata.schema_classes import (
    AuditStampClass,
    ChangeTypeClass,
    DatasetProfileClass,
    DatasetPropertiesClass,
    EmbedClass,
    GenericAspectClass,
    GlobalTagsClass,
    InstitutionalMemoryClass,
    InstitutionalMemoryMetadataClass,
    MetadataChangeProposalClass,
    TagAssociationClass,
    TagPropertiesClass,
)
from datahub_gms import GmsStandIn, running_gms
from pydantic import SecretStr

from catalog_synth.core.config import Config
from catalog_synth.publish.sinks import CatalogError, RestSink, open_sinks
from catalog_synth.publish.urns import DatasetLocation

TOKEN = "gms-test-token"
SANDBOX = "https://sandbox.example"
PERSON_LINK = "https://wiki.example/people-table"
PII_TAG = "urn:li:tag:pii"


@pytest.fixture
def gms() -> Iterator[GmsStandIn]:
    with running_gms(token=TOKEN) as server:
        yield server


def rest_config(tmp_path, gms_url: str, **datahub: object) -> Config:
    settings = {"server": gms_url, "token": TOKEN, "retries": 1, **datahub}
    return catalog_config(tmp_path, file=None, sandbox_url=SANDBOX, datahub=settings)


def location(config: Config) -> DatasetLocation:
    return DatasetLocation("postgres", "shopdb", config.warehouses[0])


def known_dataset(gms: GmsStandIn, urn: str) -> None:
    """What DataHub's own ingestion and a person wrote before catalog-synth runs."""
    stamp = AuditStampClass(time=1, actor="urn:li:corpuser:alice")
    gms.seed(
        [
            MetadataChangeProposalWrapper(entityUrn=urn, aspect=GlobalTagsClass([TagAssociationClass(PII_TAG)])),
            MetadataChangeProposalWrapper(
                entityUrn=urn,
                aspect=InstitutionalMemoryClass([InstitutionalMemoryMetadataClass(PERSON_LINK, "Notes", stamp)]),
            ),
            MetadataChangeProposalWrapper(
                entityUrn=urn, aspect=DatasetPropertiesClass(customProperties={"team": "growth"}, description="People")
            ),
        ]
    )


@pytest.mark.parametrize("mode", ["restli", "openapi"])
def test_publishes_profile_and_markers_without_clobbering(tmp_path, gms: GmsStandIn, mode: str) -> None:
    config = rest_config(tmp_path, gms.url, mode=mode)
    table = synthetic_table()
    urn = location(config).dataset_urn(table.ref)
    known_dataset(gms, urn)
    [sink] = open_sinks(config)
    sink.publish(table, location(config))
    report = sink.close()

    assert report.published == [urn] and not report.failed
    [profile] = gms.profiles(urn)
    assert profile["rowCount"] == 1234
    samples = {f["fieldPath"]: f["sampleValues"] for f in profile["fieldProfiles"]}
    assert samples["email"] == list(table.preview["email"])
    assert [t["tag"] for t in gms.aspect(urn, "globalTags")["tags"]] == [PII_TAG, "urn:li:tag:synthetic-sample"]
    links = [e["url"] for e in gms.aspect(urn, "institutionalMemory")["elements"]]
    assert links == [PERSON_LINK, f"{SANDBOX}/tables/public.people"]
    properties = gms.aspect(urn, "datasetProperties")
    assert properties["description"] == "People"
    assert properties["customProperties"] == {
        "team": "growth",
        "catalog_synth.synced_at": "2026-11-01T12:00:00+00:00",
        "catalog_synth.quality_score": "0.812",
    }
    assert gms.aspect(urn, "embed") == {"renderUrl": f"{SANDBOX}/tables/public.people"}
    assert {c.api for c in gms.changes} == {"seed", mode}
    endpoint = "/aspects?action=ingestProposalBatch" if mode == "restli" else "/openapi/v3/entity/dataset"
    assert any(path.startswith(endpoint) for _, path in gms.requests)


def test_a_second_sync_adds_nothing_twice(tmp_path, gms: GmsStandIn) -> None:
    config = rest_config(tmp_path, gms.url)
    table = synthetic_table()
    urn = location(config).dataset_urn(table.ref)
    known_dataset(gms, urn)
    for _ in range(2):
        [sink] = open_sinks(config)
        sink.publish(table, location(config))
        sink.close()
    assert len(gms.aspect(urn, "globalTags")["tags"]) == 2
    assert len(gms.aspect(urn, "institutionalMemory")["elements"]) == 2


def test_only_datasets_datahub_knows_get_a_profile(tmp_path, gms: GmsStandIn) -> None:
    config = rest_config(tmp_path, gms.url)
    known, ghost = synthetic_table("people"), synthetic_table("ghost")
    known_dataset(gms, location(config).dataset_urn(known.ref))
    [sink] = open_sinks(config)
    for table in (known, ghost):
        sink.publish(table, location(config))
    report = sink.close()
    ghost_urn = location(config).dataset_urn(ghost.ref)
    assert report.skipped_missing == [ghost_urn]
    assert len(report.published) == 1
    assert not gms.exists(ghost_urn)
    assert "skipped (not in DataHub" in report.summary()


def test_create_missing_publishes_unknown_datasets(tmp_path, gms: GmsStandIn) -> None:
    config = rest_config(tmp_path, gms.url, create_missing=True)
    table = synthetic_table("ghost")
    [sink] = open_sinks(config)
    sink.publish(table, location(config))
    report = sink.close()
    urn = location(config).dataset_urn(table.ref)
    assert report.published == [urn]
    assert gms.exists(urn) and len(gms.profiles(urn)) == 1


def test_batches_hold_at_most_batch_size_proposals(tmp_path, gms: GmsStandIn) -> None:
    config = rest_config(tmp_path, gms.url, batch_size=10, create_missing=True)
    [sink] = open_sinks(config)
    for name in ("a", "b", "c"):
        sink.publish(synthetic_table(name), location(config))  # 5 proposals each
    report = sink.close()
    batches = [path for method, path in gms.requests if "ingestProposalBatch" in path]
    assert len(report.published) == 3
    assert len(batches) == 2  # a+b when the buffer reached 10, then c at close


def test_frontend_url_is_a_clear_error(tmp_path) -> None:
    with running_gms(frontend=True) as frontend:
        with pytest.raises(CatalogError, match="frontend, not GMS"):
            open_sinks(rest_config(tmp_path, frontend.url))


def test_unreachable_server_is_a_clear_error(tmp_path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(CatalogError, match="unreachable"):
        open_sinks(rest_config(tmp_path, f"http://127.0.0.1:{port}", retries=0))


def test_refused_token_is_a_clear_error_that_never_shows_the_token(tmp_path, gms: GmsStandIn) -> None:
    config = rest_config(tmp_path, gms.url)
    wrong = config.catalog.datahub.model_copy(update={"token": SecretStr("not-the-token")})
    config = config.model_copy(update={"catalog": config.catalog.model_copy(update={"datahub": wrong})})
    with pytest.raises(CatalogError, match="refused the token") as caught:
        open_sinks(config)
    assert "not-the-token" not in str(caught.value)


def test_missing_token_says_how_to_set_one(tmp_path, gms: GmsStandIn, monkeypatch) -> None:
    monkeypatch.delenv("DATAHUB_GMS_TOKEN", raising=False)
    config = catalog_config(tmp_path, file=None, datahub={"server": gms.url, "retries": 0})
    with pytest.raises(CatalogError, match="requires a token"):
        open_sinks(config)


def test_server_and_token_from_the_environment(tmp_path, gms: GmsStandIn, monkeypatch) -> None:
    monkeypatch.setenv("DATAHUB_GMS_URL", gms.url)
    monkeypatch.setenv("DATAHUB_GMS_TOKEN", TOKEN)
    [sink] = open_sinks(catalog_config(tmp_path, file=None, datahub={}))
    assert isinstance(sink, RestSink)
    sink.close()


@pytest.mark.parametrize("status", [429, 503])
def test_retries_rate_limits_and_outages(tmp_path, gms: GmsStandIn, status: int) -> None:
    config = rest_config(tmp_path, gms.url, create_missing=True, retries=2)
    [sink] = open_sinks(config)
    gms.fail_next(status, times=1, path="ingestProposalBatch")
    sink.publish(synthetic_table(), location(config))
    report = sink.close()
    assert len(report.published) == 1 and not report.failed
    assert sum("ingestProposalBatch" in path for _, path in gms.requests) == 2


def test_an_outage_that_outlasts_the_retries_is_reported(tmp_path, gms: GmsStandIn) -> None:
    config = rest_config(tmp_path, gms.url, create_missing=True, retries=0)
    [sink] = open_sinks(config)
    gms.fail_next(503, times=1, path="ingestProposalBatch")
    sink.publish(synthetic_table(), location(config))
    report = sink.close()
    assert not report.published
    assert list(report.failed.values()) == ["HTTP 503: injected failure 503"]


def test_a_rejected_batch_is_retried_per_dataset(tmp_path, gms: GmsStandIn) -> None:
    config = rest_config(tmp_path, gms.url, create_missing=True)
    [sink] = open_sinks(config)
    tables = [synthetic_table(name) for name in ("a", "b", "c")]
    gms.fail_next(422, times=2, path="ingestProposalBatch")  # the batch, then dataset a
    for table in tables:
        sink.publish(table, location(config))
    report = sink.close()
    urns = [location(config).dataset_urn(t.ref) for t in tables]
    assert list(report.failed) == [urns[0]]
    assert report.published == urns[1:]
    assert gms.profiles(urns[1]) and not gms.profiles(urns[0])


# -- the stand-in is as strict as GMS ---------------------------------------------------------
URN = "urn:li:dataset:(urn:li:dataPlatform:postgres,db.public.t,PROD)"


def emitter(gms: GmsStandIn, openapi: bool = False) -> DataHubRestEmitter:
    client = DataHubRestEmitter(gms.url, token=TOKEN, openapi_ingestion=openapi, retry_max_times=0)
    client.test_connection()
    return client


def patch(aspect_name: str, ops: list[dict]) -> MetadataChangeProposalClass:
    return MetadataChangeProposalClass(
        entityType="dataset",
        entityUrn=URN,
        changeType=ChangeTypeClass.PATCH,
        aspectName=aspect_name,
        aspect=GenericAspectClass(value=json.dumps(ops).encode(), contentType="application/json-patch+json"),
    )


@pytest.mark.parametrize(
    "proposal, message",
    [
        (patch("datasetProfile", [{"op": "add", "path": "/rowCount", "value": 1}]), "UPSERT only"),
        (patch("embed", [{"op": "add", "path": "/renderUrl", "value": "x"}]), "does not support PATCH"),
        (MetadataChangeProposalWrapper(entityUrn=URN, aspect=TagPropertiesClass(name="t")), "not allowed"),
        (
            MetadataChangeProposalWrapper(entityUrn=URN.replace("db.public.t", "t" * 600), aspect=EmbedClass("x")),
            "longer than 512",
        ),
    ],
    ids=["patch-timeseries", "patch-without-template", "aspect-not-for-entity", "long-urn"],
)
@pytest.mark.parametrize("openapi", [False, True], ids=["restli", "openapi"])
def test_stand_in_rejects_what_gms_rejects(gms: GmsStandIn, proposal, message: str, openapi: bool) -> None:
    with pytest.raises(OperationalError) as caught:
        emitter(gms, openapi).emit_mcps([proposal])
    assert caught.value.info["status"] == 422 and message in caught.value.info["message"]
    assert not gms.changes


def test_stand_in_rejects_unknown_fields_and_bad_values(gms: GmsStandIn) -> None:
    client = emitter(gms)
    bad_value = MetadataChangeProposalClass(
        entityType="dataset",
        entityUrn=URN,
        changeType=ChangeTypeClass.UPSERT,
        aspectName="datasetProfile",
        aspect=GenericAspectClass(value=b'{"timestampMillis": 1, "rowCnt": 3}', contentType="application/json"),
    )
    with pytest.raises(OperationalError, match="unrecognized field"):
        client.emit_mcp(bad_value)
    bad_value.aspect = GenericAspectClass(value=b'{"rowCount": 3}', contentType="application/json")
    with pytest.raises(OperationalError, match="missing required field: timestampMillis"):
        client.emit_mcp(bad_value)
    client.emit_mcp(MetadataChangeProposalWrapper(entityUrn=URN, aspect=DatasetProfileClass(timestampMillis=1)))
    assert len(gms.profiles(URN)) == 1


def test_stand_in_batches_are_all_or_nothing(gms: GmsStandIn) -> None:
    good = MetadataChangeProposalWrapper(entityUrn=URN, aspect=EmbedClass("https://x"))
    bad = patch("datasetProfile", [{"op": "add", "path": "/rowCount", "value": 1}])
    with pytest.raises(OperationalError):
        emitter(gms).emit_mcps([good, bad])
    assert not gms.exists(URN)

"""Fixtures: a DJL artifact made from real settings (embedded model, a small index, the trained
moderation head, sessions in DynamoDB on a local moto server)."""

from __future__ import annotations

import shutil
import tarfile
import uuid
from pathlib import Path

import pytest

from parley.config import ModelSettings, Settings
from parley.deploy.djl import DjlArtifact, DjlOptions, write_djl_artifact
from parley.moderation.classifier import heads_dir
from parley.retrieval.settings import RetrievalSettings
from parley.sessions.settings import SessionSettings

STANDIN = Path(__file__).parent / "standin"

DOCS = {
    "lighthouse.md": "# Harbour lighthouse\n\nThe Harbour lighthouse was built in 1871 and "
    "stands 31 metres tall. Its lamp is visible for 22 nautical miles.\n",
    "ferries.txt": "Ferry timetable\n\nThe island ferry leaves the harbour every 40 minutes "
    "between 6 am and 11 pm. Bicycles travel free of charge.\n",
    "museum.md": "# Maritime museum\n\nThe maritime museum opens at 10 am and closes at 5 pm. "
    "It holds the figurehead of the schooner Aurora.\n",
}


@pytest.fixture(scope="session")
def deploy_settings(
    tmp_path_factory: pytest.TempPathFactory,
    moto_endpoint: str,
    shipped_moderator: object,
    moderation_data_dir: Path,
) -> Settings:
    """Settings as a user would deploy them: the data dir holds a trained moderation head."""
    root = tmp_path_factory.mktemp("deploy")
    docs = root / "docs"
    docs.mkdir()
    for name, text in DOCS.items():
        (docs / name).write_text(text, encoding="utf-8")
    data_dir = root / "data"
    shutil.copytree(heads_dir(moderation_data_dir), heads_dir(data_dir))
    return Settings(
        data_dir=data_dir,
        model=ModelSettings(engine="llama.cpp", context_window=2048),
        retrieval=RetrievalSettings(sources=[str(docs)], index_name="harbour", hybrid=False),
        sessions=SessionSettings(
            store="dynamodb",
            dynamodb_endpoint_url=moto_endpoint,
            dynamodb_table=f"deploy-{uuid.uuid4().hex[:10]}",
        ),
    )


@pytest.fixture(scope="session")
def djl_artifact(
    tmp_path_factory: pytest.TempPathFactory, deploy_settings: Settings
) -> DjlArtifact:
    folder = tmp_path_factory.mktemp("artifact") / "parley-chat"
    return write_djl_artifact(
        deploy_settings, folder, DjlOptions(include_index=True, streaming=False)
    )


@pytest.fixture(scope="session")
def sagemaker_model_dir(
    tmp_path_factory: pytest.TempPathFactory, djl_artifact: DjlArtifact
) -> Path:
    """The tarball unpacked the way SageMaker does: into /opt/ml/model."""
    root = tmp_path_factory.mktemp("opt-ml") / "model"
    root.mkdir()
    with tarfile.open(djl_artifact.tarball) as archive:
        archive.extractall(root, filter="data")
    return root

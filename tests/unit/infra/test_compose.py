"""docker-compose.yml, validated and resolved by the real `docker compose config` (the plugin is built from the
Go module proxy by infra/compose/install.sh into the cache when missing)."""

from __future__ import annotations

import json
import re
import secrets
import shutil
import subprocess
from pathlib import Path

import pytest

from jobs.core.settings import PROJECT_ROOT

COMPOSE_FILE = PROJECT_ROOT / "docker-compose.yml"
ENV_EXAMPLE = PROJECT_ROOT / ".env.example"
AIRFLOW = {"airflow-init", "airflow-apiserver", "airflow-scheduler", "airflow-dag-processor", "airflow-triggerer"}
EXPECTED = {"minio", "minio-init", "postgres", "spark-master", "spark-worker"} | AIRFLOW
PROJECT_IMAGE = "observatoire-clauses/platform"
PINNED = re.compile(r"^[\w./-]+:(?!latest$)[\w.-]*\d[\w.-]*$")  # a tag with a version number, never latest


@pytest.fixture(scope="module")
def compose(tmp_path_factory):
    """Runs `docker compose -f docker-compose.yml --env-file <file> config` with a clean environment."""
    if shutil.which("docker") is None:
        pytest.skip("no docker client on this machine")
    build = subprocess.run(["bash", str(PROJECT_ROOT / "infra" / "compose" / "install.sh")], capture_output=True,
                           text=True, timeout=1800)
    assert build.returncode == 0, build.stderr[-3000:]
    docker_config = build.stdout.strip().splitlines()[-1]
    tmp = tmp_path_factory.mktemp("compose")

    def run(env_values: dict[str, str]) -> subprocess.CompletedProcess:
        env_file = tmp / f"{secrets.token_hex(4)}.env"
        env_file.write_text("".join(f"{k}={v}\n" for k, v in env_values.items()), encoding="utf-8")
        # Only what docker needs: variables of the calling shell would win over the env file.
        env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(tmp), "DOCKER_CONFIG": docker_config}
        return subprocess.run(["docker", "compose", "-f", str(COMPOSE_FILE), "--env-file", str(env_file), "config",
                               "--format", "json"], capture_output=True, text=True, env=env, timeout=120)

    return run


def example_values() -> dict[str, str]:
    values = {}
    for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip()
    return values


@pytest.fixture(scope="module")
def test_env() -> dict[str, str]:
    """.env.example with every placeholder replaced by a fresh random value."""
    return {k: (f"{k.lower()}-{secrets.token_hex(8)}" if v == "CHANGE_ME" else v) for k, v in example_values().items()}


@pytest.fixture(scope="module")
def resolved(compose, test_env) -> dict:
    result = compose(test_env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_every_service_of_the_stack_is_there(resolved):
    assert set(resolved["services"]) == EXPECTED


def test_every_image_is_pinned(resolved):
    for name, service in resolved["services"].items():
        image = service["image"]
        assert PINNED.match(image), f"{name}: {image} is not pinned to a version"
        if image.startswith(PROJECT_IMAGE):
            assert service["build"]["dockerfile"] == "infra/docker/Dockerfile", name
            assert "airflow3.3.2" in image and "spark4.2.0" in image
    # The project image's bases are pinned too (Airflow 3.3.2 on Python 3.11, as the lock).
    dockerfile = (PROJECT_ROOT / "infra" / "docker" / "Dockerfile").read_text(encoding="utf-8")
    bases = re.findall(r"^ARG \w+_IMAGE=(\S+)$", dockerfile, flags=re.M)
    assert "apache/airflow:3.3.2-python3.11" in bases
    assert bases and all(PINNED.match(b) for b in bases), bases


def test_the_jobs_go_to_the_spark_master_and_the_lake_is_on_minio(resolved, test_env):
    services = resolved["services"]
    for name in AIRFLOW:
        env = services[name]["environment"]
        assert env["OBS_SPARK_MASTER"] == "spark://spark-master:7077", name
        assert env["OBS_LAKE_URI"] == f"s3a://{test_env['OBS_LAKE_BUCKET']}/{test_env['OBS_LAKE_PREFIX']}"
        assert env["OBS_S3_ENDPOINT"] == "http://minio:9000"
        # The pipeline runs with its own identity, not MinIO's root account.
        assert env["OBS_S3_ACCESS_KEY"] == test_env["OBS_PIPELINE_ACCESS_KEY"]
        assert env["OBS_S3_SECRET_KEY"] == test_env["OBS_PIPELINE_SECRET_KEY"]
        assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].startswith("postgresql+psycopg2://airflow:")
        assert test_env["POSTGRES_PASSWORD"] in env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
        assert "MINIO_ROOT_PASSWORD" not in env and test_env["OBS_READER_SECRET_KEY"] not in env.values()
    assert services["spark-master"]["command"][-7:] == ["master", "--host", "spark-master", "--port", "7077",
                                                        "--webui-port", "8081"]
    assert "spark://spark-master:7077" in services["spark-worker"]["command"]
    assert services["airflow-scheduler"]["hostname"] == "airflow-scheduler"
    commands = {n: " ".join(services[n]["command"]) for n in AIRFLOW}
    assert "airflow db migrate" in commands["airflow-init"] and "airflow pools import" in commands["airflow-init"]
    for component in ("api-server", "scheduler", "dag-processor", "triggerer"):
        assert any(c.startswith(f"airflow {component}") for c in commands.values()), component


def test_minio_init_creates_the_bucket_and_both_identities(resolved, test_env):
    init = resolved["services"]["minio-init"]
    assert init["depends_on"]["minio"]["condition"] == "service_healthy"
    for key in ("OBS_PIPELINE_ACCESS_KEY", "OBS_READER_ACCESS_KEY", "OBS_LAKE_BUCKET"):
        assert init["environment"][key] == test_env[key]
    script = (PROJECT_ROOT / "infra" / "minio" / "init.sh").read_text(encoding="utf-8")
    assert 'mc mb --ignore-existing "local/$OBS_LAKE_BUCKET"' in script
    assert 'attach observatoire-public-reader "$OBS_READER_ACCESS_KEY"' in script
    assert 'attach observatoire-pipeline "$OBS_PIPELINE_ACCESS_KEY"' in script
    for name in ("pipeline", "public-reader"):
        json.loads((PROJECT_ROOT / "infra" / "minio" / f"{name}-policy.json").read_text(encoding="utf-8"))


def test_each_required_secret_is_refused_when_missing(compose, test_env):
    required = [k for k, v in example_values().items() if v == "CHANGE_ME"]
    assert {"MINIO_ROOT_PASSWORD", "OBS_PIPELINE_SECRET_KEY", "OBS_READER_SECRET_KEY", "POSTGRES_PASSWORD",
            "AIRFLOW_FERNET_KEY", "AIRFLOW_JWT_SECRET", "OBS_PSEUDONYMIZATION_KEY"} <= set(required)
    for key in required:
        result = compose({k: v for k, v in test_env.items() if k != key})
        assert result.returncode != 0, f"compose accepted a missing {key}"
        assert f"required variable {key} is missing" in result.stderr


def test_no_secret_is_committed():
    """The compose file reads every secret from .env; .env.example holds placeholders only; .env is ignored."""
    values = example_values()
    secret_keys = [k for k in values if re.search(r"PASSWORD|SECRET|KEY|ROOT_USER", k) and "ACCESS_KEY" not in k]
    assert secret_keys and all(values[k] == "CHANGE_ME" for k in secret_keys), secret_keys
    text = COMPOSE_FILE.read_text(encoding="utf-8")
    for line in text.splitlines():
        if re.search(r"(PASSWORD|SECRET|_KEY)\w*:\s", line) and "${" not in line and "_FILE:" not in line:
            raise AssertionError(f"a secret without ${{...}} in docker-compose.yml: {line.strip()}")
    ignored = subprocess.run(["git", "check-ignore", "-q", ".env"], cwd=PROJECT_ROOT)
    assert ignored.returncode == 0, ".env must be ignored by git"
    assert Path(PROJECT_ROOT / ".dockerignore").read_text(encoding="utf-8").count(".env") >= 1

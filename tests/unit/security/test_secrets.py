"""No credential in the repository, and every credential the pipeline or Airflow uses comes from the
environment (or a secrets backend feeding it), never from a tracked file."""

from __future__ import annotations

import subprocess

import pytest

from jobs.core.settings import PROJECT_ROOT, Settings
from jobs.ops.secret_scan import scan_repo, scan_text

# Made-up credentials of each kind, split so that this file itself holds none.
PLANTED = {
    "aws_access_key_id": "aws_id = " + "AKIA" + "QX7RZ2MPLW4KJ5VB",
    "aws_secret_access_key": "AWS_SECRET" + "=" + "wJalrXUtnFEMI/K7MDENG/bPxRfiCY" + "3kTq9ZpL2m",
    "private_key": "-----BEGIN " + "RSA PRIVATE KEY-----",
    "password_in_url": "db = 'postgresql://airflow:" + "Hq7s9Lk2pWz" + "@db.internal:5432/airflow'",
    "secret_assignment": 'fernet_key = "' + "Zm9vYmFyYmF6cXV4" + 'Lx3"',
    "github_token": "token " + "ghp_" + "a1B2c3D4e5F6g7H8i9" + "J0k1L2m3N4o5P6q7R8",
    "high_entropy_token": "X-Api: " + "Q2hhbmdlZDpQ" + "aXJhdGU5ODc2NTQzMjFBYmNEZWY=",
}
HARMLESS = [
    "s3_secret_key: str = ''", 'OBS_S3_SECRET_KEY=${OBS_S3_SECRET_KEY}',
    "MINIO_ROOT_PASSWORD: ${MINIO_ROOT_PASSWORD:?set MINIO_ROOT_PASSWORD}",
    'secret_key = settings.s3_secret_key', '"spark.hadoop.fs.s3a.secret.key": settings.s3_secret_key,',
    "url = 'https://user:<password>@example.org/x'", 'sha256 = "' + "ab12" * 16 + '"',
    'api_key = "changeme-please"', "mc alias set local http://minio:9000 $$MINIO_ROOT_USER $$MINIO_ROOT_PASSWORD",
]


@pytest.mark.parametrize(("kind", "line"), list(PLANTED.items()), ids=list(PLANTED))
def test_each_kind_of_credential_is_found(kind, line):
    assert kind in {f.kind for f in scan_text("planted.txt", line)}, line


@pytest.mark.parametrize("line", HARMLESS)
def test_references_and_placeholders_are_not_findings(line):
    assert scan_text("config.txt", line) == []


def test_a_committed_aws_key_fails_the_scan(tmp_path):
    """A throw-away git repository: clean, then someone commits a key (the scan must fail)."""
    def git(*args):
        subprocess.run(["git", "-C", str(tmp_path), *args], check=True, capture_output=True)

    git("init", "-q")
    (tmp_path / "settings.py").write_text("region = 'eu-west-3'\n")
    git("add", ".")
    assert scan_repo(tmp_path) == (1, [])
    (tmp_path / "deploy.env").write_text(PLANTED["aws_access_key_id"] + "\n" + PLANTED["aws_secret_access_key"])
    git("add", "deploy.env")
    scanned, findings = scan_repo(tmp_path)
    assert scanned == 2
    assert {(f.path, f.kind) for f in findings} >= {("deploy.env", "aws_access_key_id"),
                                                    ("deploy.env", "aws_secret_access_key")}
    assert "QX7R" not in findings[0].masked()[10:]  # reports never print the whole secret


def test_the_repository_holds_no_credential():
    scanned, findings = scan_repo(PROJECT_ROOT)
    assert scanned > 100
    assert findings == [], "\n".join(f.masked() for f in findings)


def test_airflow_state_and_local_secrets_are_never_tracked():
    """Airflow writes its generated fernet key, JWT and API secrets into .airflow/airflow.cfg; the local
    pseudonymisation key lives in the lake; an .env holds MinIO's root password: all ignored by git."""
    for path in (".airflow/airflow.cfg", ".airflow/simple_auth_manager_passwords.json.generated",
                 "lake/_local/pseudonymization.key", ".env", "output/runs/x.json"):
        ignored = subprocess.run(["git", "-C", str(PROJECT_ROOT), "check-ignore", "-q", path])
        assert ignored.returncode == 0, f"{path} is not ignored by git"
    tracked = subprocess.run(["git", "-C", str(PROJECT_ROOT), "ls-files"], capture_output=True, text=True,
                             check=True).stdout.split()
    assert not [p for p in tracked if p.rsplit("/", 1)[-1] in ("airflow.cfg", ".env", "webserver_config.py")
                or p.endswith((".pem", ".key", ".p12", "id_rsa"))]
    env_sh = (PROJECT_ROOT / "infra" / "airflow" / "env.sh").read_text()
    assert "FERNET_KEY" not in env_sh and "JWT_SECRET" not in env_sh and "AIRFLOW_CONN_" not in env_sh


@pytest.mark.parametrize(("field", "variable"), [("s3_access_key", "OBS_S3_ACCESS_KEY"),
                                                 ("s3_secret_key", "OBS_S3_SECRET_KEY"),
                                                 ("pseudonymization_key", "OBS_PSEUDONYMIZATION_KEY")])
def test_credentials_come_from_the_environment_only(monkeypatch, field, variable):
    assert getattr(Settings(), field) == ""  # no default credential in the code
    monkeypatch.setenv(variable, "from-the-environment")
    assert getattr(Settings.from_env(), field) == "from-the-environment"


def test_a_lake_on_s3_refuses_to_run_without_a_configured_key():
    s3 = Settings().replace(lake_uri="s3a://bucket/lake", pseudonymization_key="")
    with pytest.raises(RuntimeError, match="OBS_PSEUDONYMIZATION_KEY must be set"):
        s3.pseudonymization_key_bytes()


def test_a_local_lake_gets_its_own_random_key_kept_private(tmp_path):
    a = Settings().replace(lake_uri=str(tmp_path / "a"))
    b = Settings().replace(lake_uri=str(tmp_path / "b"))
    key_a = a.pseudonymization_key_bytes()
    assert key_a == a.pseudonymization_key_bytes() != b.pseudonymization_key_bytes()  # stable per lake
    assert len(key_a) == 64
    assert (tmp_path / "a" / "_local" / "pseudonymization.key").stat().st_mode & 0o077 == 0


def test_a_lake_refuses_a_second_key_until_it_is_rotated(tmp_path):
    """Two keys in one lake give one person two pseudonyms (found by the backfill test: a history loaded with one
    key, a month with another, and the month's outcomes linked to no one)."""
    from jobs.core.privacy import KeyMismatchError, check_lake_key, key_fingerprint, key_mark_dir
    from jobs.core.storage import ObjectStore

    first = Settings().replace(lake_uri=str(tmp_path / "lake"), pseudonymization_key="key-A")
    store = ObjectStore(first)
    assert check_lake_key(first, store) == key_fingerprint(b"key-A") == check_lake_key(first, store)
    assert key_fingerprint(b"key-A") != key_fingerprint(b"key-B") and "key-A" not in key_fingerprint(b"key-A")
    second = first.replace(pseudonymization_key="key-B")
    with pytest.raises(KeyMismatchError, match="rotate-key"):
        check_lake_key(second, store)
    store.delete_prefix(key_mark_dir(second))  # what `rotate-key` does before reloading with the new key
    assert check_lake_key(second, store) == key_fingerprint(b"key-B")
    with pytest.raises(KeyMismatchError):
        check_lake_key(first, store)

"""The vault on an S3-compatible object store (django-storages' S3Storage), against a local moto server.

The server runs in this process on 127.0.0.1 (ThreadedMotoServer); nothing leaves the machine.
"""

from __future__ import annotations

import io
import socket

import pytest

from hozen.crypto.models import DataKey
from hozen.vault import blobs, services
from hozen.vault.models import Document

pytest.importorskip("storages.backends.s3")
moto_server = pytest.importorskip("moto.server")
boto3 = pytest.importorskip("boto3")

BUCKET = "hozen-vault-test"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def s3_endpoint():
    port = _free_port()
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def s3(settings, s3_endpoint, monkeypatch):
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(key, "test")
    client = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1",
                          aws_access_key_id="test", aws_secret_access_key="test")
    client.create_bucket(Bucket=BUCKET)
    for obj in client.list_objects_v2(Bucket=BUCKET).get("Contents", []):
        client.delete_object(Bucket=BUCKET, Key=obj["Key"])
    settings.STORAGES = {**settings.STORAGES, "vault": {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {"bucket_name": BUCKET, "endpoint_url": s3_endpoint, "region_name": "us-east-1",
                    "access_key": "test", "secret_key": "test", "file_overwrite": False,
                    "default_acl": None, "querystring_auth": False},
    }}
    return client


def _keys(client) -> list[str]:
    return [o["Key"] for o in client.list_objects_v2(Bucket=BUCKET).get("Contents", [])]


def test_upload_and_download_through_the_object_store(s3, upload_pdf, handler, pdf_bytes):
    assert type(blobs.storage()).__name__ == "S3Storage"
    version = upload_pdf()
    assert _keys(s3) == [version.stored_name]
    stored = s3.get_object(Bucket=BUCKET, Key=version.stored_name)["Body"].read()
    assert b"%PDF" not in stored and len(stored) == version.stored_size
    delivery = services.deliver(actor=handler, version=version, kind="download")
    try:
        assert delivery.file.read(5) == b"%PDF-"
    finally:
        delivery.close()


def test_failed_upload_leaves_nothing_in_the_bucket(s3, monkeypatch, upload_pdf):
    from hozen import audit

    monkeypatch.setattr(audit, "record", lambda *a, **k: (_ for _ in ()).throw(RuntimeError("crash")))
    with pytest.raises(RuntimeError):
        upload_pdf()
    assert _keys(s3) == []
    assert not Document.objects.exists() and not DataKey.objects.filter(owner__startswith="vault.").exists()


def test_large_file_in_several_chunks_round_trips(s3, handler, designation):
    body = bytes(range(256)) * (3 * 4096 + 17)  # about 3 MiB: several 1 MiB chunks
    version = services.upload(actor=handler, designation=designation, title="大きな表", source=io.BytesIO(body),
                              filename="big.bin")
    with blobs.open_plaintext(version) as plain:
        assert plain.read() == body


def test_a_backup_lists_each_vault_object_with_its_version_and_a_restore_brings_back_a_deleted_or_replaced_one(
        s3, upload_pdf):
    from hozen import backup

    s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    first, second = upload_pdf(), upload_pdf()
    originals = {v.stored_name: s3.get_object(Bucket=BUCKET, Key=v.stored_name)["Body"].read()
                 for v in (first, second)}
    taken = backup.Outcome()
    objects = backup._object_versions(sorted(originals), taken)
    assert [o["name"] for o in objects] == sorted(originals) and all(o["version_id"] for o in objects)
    assert not any("WARNING" in line for line in taken.lines)

    # After the backup: one object deleted, the other overwritten.
    s3.delete_object(Bucket=BUCKET, Key=first.stored_name)
    s3.put_object(Bucket=BUCKET, Key=second.stored_name, Body=b"not the backed-up bytes")
    restored = backup.Outcome()
    backup._restore_object_versions(objects, restored)
    assert restored.lines == ["vault: 0 objects present in the object store as backed up, 2 deleted or replaced "
                              "since and brought back from their backed-up version"]
    for name, body in originals.items():
        assert s3.get_object(Bucket=BUCKET, Key=name)["Body"].read() == body
    again = backup.Outcome()
    backup._restore_object_versions(objects + [{"name": "vault/never-stored.hzv", "version_id": None}], again)
    assert again.lines[0] == "vault: 2 objects present in the object store as backed up"  # nothing copied twice
    assert again.lines[-1] == ("WARNING: 1 vault objects the database refers to are not in the object store "
                               "(first: vault/never-stored.hzv)")

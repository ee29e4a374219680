"""With a bucket configured, media goes to S3 through django-storages: checked against a local S3-compatible server."""

import boto3
import pytest
from moto.server import ThreadedMotoServer

from happycrm.tests.test_settings import probe

pytestmark = pytest.mark.slow

ROUND_TRIP = """
import json
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
name = default_storage.save("media/hello.txt", ContentFile(b"merhaba"))
print(json.dumps({"name": name, "body": default_storage.open(name).read().decode(), "url": default_storage.url(name),
                  "backend": type(default_storage._wrapped).__name__}))
"""


@pytest.fixture
def s3_server():
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


def test_media_round_trips_through_s3_when_a_bucket_is_set(tmp_path, s3_server):
    credentials = {"aws_access_key_id": "test", "aws_secret_access_key": "test", "region_name": "us-east-1"}
    s3 = boto3.client("s3", endpoint_url=s3_server, **credentials)
    s3.create_bucket(Bucket="crm-media")

    result = probe(
        tmp_path,
        code=ROUND_TRIP,
        AWS_STORAGE_BUCKET_NAME="crm-media",
        AWS_S3_ENDPOINT_URL=s3_server,
        AWS_ACCESS_KEY_ID="test",
        AWS_SECRET_ACCESS_KEY="test",
        AWS_S3_REGION_NAME="us-east-1",
    )

    assert result["backend"] == "S3Storage"
    assert result["body"] == "merhaba"
    assert result["url"].startswith(f"{s3_server}/crm-media/media/hello")
    assert "Signature" in result["url"], "media URLs are signed, the bucket stays private"
    stored = s3.get_object(Bucket="crm-media", Key=result["name"])["Body"].read()
    assert stored == b"merhaba"

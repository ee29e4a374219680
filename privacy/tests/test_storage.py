"""The attachments of an erased lead are gone from S3 too (a local S3-compatible server), not only from disk."""

import boto3
import pytest

from happycrm.tests.test_storage import s3_server  # noqa: F401 -- the fixture
from privacy.services import Requester, lead_erase

from .factories import full_lead, others

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

BUCKET = "crm-media"


@pytest.fixture
def s3(s3_server, settings):  # noqa: F811
    credentials = {"aws_access_key_id": "test", "aws_secret_access_key": "test", "region_name": "us-east-1"}
    client = boto3.client("s3", endpoint_url=s3_server, **credentials)
    client.create_bucket(Bucket=BUCKET)
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {"bucket_name": BUCKET, "endpoint_url": s3_server, "access_key": "test",
                        "secret_key": "test", "region_name": "us-east-1", "file_overwrite": False},
        },
    }  # fmt: skip
    return client


def keys(s3) -> set[str]:
    return {item["Key"] for item in s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])}


def test_an_erased_leads_attachments_are_gone_from_s3(s3, admin_user, django_capture_on_commit_callbacks):
    lead, _, media = full_lead()
    _, near_media, _ = others()
    assert keys(s3) == {media.file.name, near_media.file.name}
    with django_capture_on_commit_callbacks(execute=True):
        lead_erase(lead=lead, requester=Requester.admin(admin_user))
    assert keys(s3) == {near_media.file.name}, "its object is deleted from the bucket; the other lead's stays"

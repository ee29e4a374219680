"""Encryption at rest: every stored copy of message content encrypted under MESSAGE_ENCRYPTION_KEYS, read back
unchanged; rotation, decryption, the counts per key and the refusal of an unknown key."""

import datetime
import io
import json

import boto3
import pytest
from cryptography.fernet import Fernet
from django.core.checks import run_checks
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.utils import timezone
from moto.server import ThreadedMotoServer

from encryption.models import KeyInUse
from happycrm import crypto
from leads.tests.factories import LeadFactory
from messaging.backends.twilio.tests.payloads import whatsapp_text
from messaging.models import Message, MessageMedia, ProviderLog, WebhookEvent
from messaging.services.messages import lead_activity_refresh
from messaging.services.outbound import message_send_media
from messaging.tests.factories import InboundMessageFactory, WebhookEventFactory
from notifications.models import Event

pytestmark = pytest.mark.django_db

KEY1 = Fernet.generate_key().decode()
KEY2 = Fernet.generate_key().decode()
JPEG = b"\xff\xd8\xff\xe0" + b"gizli fotograf " * 100


@pytest.fixture
def keys(settings):
    def use(*keys):
        settings.MESSAGE_ENCRYPTION_KEYS = list(keys)

    use(KEY1)
    return use


BUCKET = "crm-media-encrypted"  # moto keeps buckets for the whole test process: not another test's bucket


@pytest.fixture
def s3_server():
    """A local S3-compatible server, as happycrm/tests/test_storage.py uses; emptied afterwards."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    yield url
    s3 = boto3.client(
        "s3", endpoint_url=url, aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1"
    )
    for item in s3.list_objects_v2(Bucket=BUCKET).get("Contents", []):
        s3.delete_object(Bucket=BUCKET, Key=item["Key"])
    s3.delete_bucket(Bucket=BUCKET)
    server.stop()


def stored(model, field: str, pk) -> str:
    """The column as the database holds it, read past the ORM."""
    table, column = model._meta.db_table, model._meta.get_field(field).column
    with connection.cursor() as cursor:
        cursor.execute(
            f'SELECT CAST("{column}" AS TEXT) FROM "{table}" WHERE "id" = %s',  # noqa: S608 -- names from the model
            [model._meta.pk.get_db_prep_value(pk, connection)],
        )
        return cursor.fetchone()[0]


def one_of_each() -> dict:
    """A row of every model holding content, each content field set."""
    message = InboundMessageFactory(
        lead=LeadFactory(name="Ayşe Yılmaz"),
        body="Randevu için yarın uygun musunuz?",
        metadata={"profile_name": "Ayşe", "location": {"latitude": 41.0, "longitude": 29.0}},
        content={"location": {"latitude": 41.0, "longitude": 29.0, "label": "Randevu yeri, Ayşe'nin evi"}},
        content_variables={"1": "Ayşe"},
        error_message="Mesaj: Randevu için yarın",
    )
    card = MessageMedia.objects.create(
        message=message, position=0, content_type="text/vcard", contacts=[{"name": "Ayşe Randevu", "phones": ["+90"]}]
    )
    event = WebhookEventFactory(
        payload={"Body": "Randevu için yarın", "ProfileName": "Ayşe", "From": "whatsapp:+905551234567"},
        original_fields={"Body": "Randevu%00"},
        last_error="cannot read Randevu",
    )
    log = ProviderLog.objects.create(
        provider="twilio",
        kind=ProviderLog.Kind.SEND,
        method="POST",
        url="https://api.example.com/Messages.json",
        duration_ms=5,
        request_body="Body=Randevu",
        response_body='{"body": "Randevu"}',
        error="echo: Randevu",
        message=message,
    )
    notification = Event.objects.create(
        type=Event.Type.NEW_MESSAGE, lead=message.lead, message=message, payload={"body": "Randevu için yarın"}
    )
    return {
        (Message, "body"): (message.pk, message.body),
        (Message, "metadata"): (message.pk, message.metadata),
        (Message, "content"): (message.pk, message.content),
        (MessageMedia, "contacts"): (card.pk, card.contacts),
        (Message, "content_variables"): (message.pk, message.content_variables),
        (Message, "error_message"): (message.pk, message.error_message),
        (WebhookEvent, "payload"): (event.pk, event.payload),
        (WebhookEvent, "original_fields"): (event.pk, event.original_fields),
        (WebhookEvent, "last_error"): (event.pk, event.last_error),
        (ProviderLog, "request_body"): (log.pk, log.request_body),
        (ProviderLog, "response_body"): (log.pk, log.response_body),
        (ProviderLog, "error"): (log.pk, log.error),
        (Event, "payload"): (notification.pk, notification.payload),
    }


def assert_reads_back(rows: dict) -> None:
    for (model, field), (pk, value) in rows.items():
        assert getattr(model.objects.get(pk=pk), field) == value, (model, field)
        assert model.objects.filter(pk=pk).values_list(field, flat=True).get() == value, (model, field)


def test_every_content_field_is_stored_encrypted_and_read_back_unchanged(keys):
    rows = one_of_each()
    kid = crypto.key_id(KEY1)
    for (model, field), (pk, _value) in rows.items():
        raw = stored(model, field, pk)
        assert "Randevu" not in raw and "Ayşe" not in raw, (model, field, raw)
        assert raw.lstrip('"').startswith(f"enc1:{kid}:"), (model, field, raw)
    assert stored(Message, "search_body", rows[(Message, "body")][0]) == ""
    assert_reads_back(rows)


def test_with_no_key_the_columns_hold_what_they_always_held():
    rows = one_of_each()
    message_pk = rows[(Message, "body")][0]
    assert stored(Message, "body", message_pk) == "Randevu için yarın uygun musunuz?"
    assert stored(Message, "search_body", message_pk) == "randevu icin yarin uygun musunuz?"
    assert json.loads(stored(WebhookEvent, "payload", rows[(WebhookEvent, "payload")][0]))["ProfileName"] == "Ayşe"
    assert stored(ProviderLog, "request_body", rows[(ProviderLog, "request_body")][0]) == "Body=Randevu"
    assert not KeyInUse.objects.exists()


def test_a_partial_save_and_a_queryset_update_encrypt_too(keys):
    message = InboundMessageFactory(body="ilk")
    message.body = "ikinci metin"
    message.save(update_fields=["body"])
    Message.objects.filter(pk=message.pk).update(error_message="hata: ikinci metin")
    assert "ikinci" not in stored(Message, "body", message.pk)
    assert "ikinci" not in stored(Message, "error_message", message.pk)
    message.refresh_from_db()
    assert (message.body, message.error_message) == ("ikinci metin", "hata: ikinci metin")


def test_plaintext_rows_stay_readable_once_a_key_is_set(keys, settings):
    settings.MESSAGE_ENCRYPTION_KEYS = []
    rows = one_of_each()
    keys(KEY1)
    assert_reads_back(rows)


def test_the_webhook_stores_the_inbound_body_and_profile_name_encrypted_but_the_parties_in_plaintext(
    keys, post_webhook
):
    post_webhook(whatsapp_text(body="Fiyat listesi lütfen", profile_name="Mehmet Kaya"))
    event = WebhookEvent.objects.get()
    raw = stored(WebhookEvent, "payload", event.pk)
    assert "Fiyat" not in raw and "Mehmet" not in raw
    assert event.sender.startswith("+90"), "erasure matches the E.164 sender exactly: it stays plaintext"
    message = Message.objects.get()
    assert message.body == "Fiyat listesi lütfen"
    assert "Fiyat" not in stored(Message, "body", message.pk)
    assert "Mehmet" not in stored(Message, "metadata", message.pk)
    notification = Event.objects.get(type=Event.Type.NEW_MESSAGE)
    assert notification.payload["body"] == "Fiyat listesi lütfen"
    assert "Fiyat" not in stored(Event, "payload", notification.pk)


def test_message_text_is_not_searched_while_encrypted_names_and_phones_are(keys, staff_client, settings):
    lead = LeadFactory(name="Zeynep Demir", phone="+905559876543")
    InboundMessageFactory(lead=lead, body="kampanya fiyatları")
    lead_activity_refresh(lead=lead)

    def inbox(q):
        return staff_client.get("/inbox/", {"q": q}).content.decode()

    page = inbox("kampanya")
    assert "Zeynep Demir" not in page
    assert "Message text is encrypted and is not searched." in page
    assert "Zeynep Demir" in inbox("zeynep")
    assert "Zeynep Demir" in inbox("05559876543")
    admin = staff_client.get("/admin/messaging/message/", {"q": "kampanya"}).content.decode()
    assert "Message text is encrypted and is not searched" in admin
    assert "0 messages" in admin or "0 results" in admin
    leads = staff_client.get("/admin/leads/lead/", {"q": "kampanya"}).content.decode()
    assert "Message text is encrypted and is not searched" in leads
    assert "Zeynep Demir" in staff_client.get("/admin/leads/lead/", {"q": "zeynep"}).content.decode()

    keys(crypto.PLAINTEXT, KEY1)  # writing plaintext again: the note goes
    assert "Message text is encrypted" not in inbox("zeynep")


def test_search_finds_the_text_again_after_decrypt(keys, staff_client):
    lead = LeadFactory(name="Zeynep Demir")
    InboundMessageFactory(lead=lead, body="kampanya fiyatları")
    lead_activity_refresh(lead=lead)
    assert "Zeynep Demir" not in staff_client.get("/inbox/", {"q": "kampanya"}).content.decode()
    keys(crypto.PLAINTEXT, KEY1)
    call_command("encryption", "decrypt")
    assert "Zeynep Demir" in staff_client.get("/inbox/", {"q": "kampanya"}).content.decode()


def counts(capsys_output: str) -> dict[str, str]:
    return dict(line.split(": ", 1) for line in capsys_output.splitlines() if ": " in line)


def status(capsys) -> dict[str, str]:
    capsys.readouterr()
    call_command("encryption", "status")
    return counts(capsys.readouterr().out)


def test_rotate_encrypts_existing_rows_then_moves_them_to_the_newest_key(keys, settings, capsys):
    settings.MESSAGE_ENCRYPTION_KEYS = []
    rows = one_of_each()
    keys(KEY1)
    assert status(capsys)["message.body"] == "plaintext=1"

    call_command("encryption", "rotate", "--batch-size", "1")
    k1, k2 = crypto.key_id(KEY1), crypto.key_id(KEY2)
    report = status(capsys)
    assert report["message.body"] == f"{k1}=1"
    assert report["webhookevent.payload"] == f"{k1}=1"
    assert report["event.payload"] == f"{k1}=1"
    assert report["providerlog.request_body"] == f"{k1}=1"
    assert stored(Message, "search_body", rows[(Message, "body")][0]) == ""

    keys(KEY2, KEY1)
    InboundMessageFactory(body="yeni anahtarla")
    assert status(capsys)["message.body"] == ", ".join(sorted([f"{k1}=1", f"{k2}=1"]))
    call_command("encryption", "rotate")
    assert status(capsys)["message.body"] == f"{k2}=2"
    assert list(KeyInUse.objects.values_list("key_id", flat=True)) == [k2]
    call_command("encryption", "rotate")  # a rerun finds nothing to do
    assert "0 rows and files rewritten." in capsys.readouterr().out

    keys(KEY2)  # the old key can go now
    assert_reads_back(rows)
    assert run_checks(tags=["encryption"]) == []


def test_decrypt_turns_it_off(keys, capsys, settings):
    rows = one_of_each()
    keys(crypto.PLAINTEXT, KEY1)
    call_command("encryption", "decrypt")
    message_pk = rows[(Message, "body")][0]
    assert stored(Message, "body", message_pk) == "Randevu için yarın uygun musunuz?"
    assert stored(Message, "search_body", message_pk) == "randevu icin yarin uygun musunuz?"
    assert json.loads(stored(WebhookEvent, "payload", rows[(WebhookEvent, "payload")][0]))["ProfileName"] == "Ayşe"
    assert not KeyInUse.objects.exists()
    settings.MESSAGE_ENCRYPTION_KEYS = []
    assert_reads_back(rows)
    assert status(capsys)["message.body"] == "plaintext=1"


def test_the_app_refuses_to_start_with_rows_under_a_key_it_does_not_have(keys):
    assert run_checks(tags=["encryption"]) == []  # a starting process records its newest key
    assert list(KeyInUse.objects.values_list("key_id", flat=True)) == [crypto.key_id(KEY1)]
    InboundMessageFactory(body="eski anahtar")

    keys(KEY2)
    errors = run_checks(tags=["encryption"])
    assert [error.id for error in errors] == ["encryption.E002"]
    assert crypto.key_id(KEY1) in errors[0].msg
    with pytest.raises(CommandError, match=crypto.key_id(KEY1)):
        call_command("encryption", "rotate")


def test_a_value_that_is_not_a_fernet_key_is_refused_with_one_line(keys):
    keys("not-a-key")
    errors = run_checks(tags=["encryption"])
    assert [error.id for error in errors] == ["encryption.E001"]
    with pytest.raises(CommandError, match="not a Fernet key"):
        call_command("encryption", "status")


def test_reading_a_value_under_an_unknown_key_fails_loudly(keys):
    message = InboundMessageFactory(body="gizli")
    keys(KEY2)
    with pytest.raises(crypto.UnknownKeyError):
        Message.objects.get(pk=message.pk)


def test_rotate_without_a_key_to_encrypt_with_is_refused(settings):
    with pytest.raises(CommandError, match="no key to encrypt with"):
        call_command("encryption", "rotate")
    with pytest.raises(CommandError, match="MESSAGE_ENCRYPTION_KEYS is empty"):
        call_command("encryption", "decrypt")


def test_attachments_are_encrypted_on_disk_and_served_decrypted(keys, settings, staff_client, capsys):
    lead = LeadFactory(phone="+905551234567", last_inbound_at=timezone.now() - datetime.timedelta(hours=1))
    message = message_send_media(lead=lead, upload=SimpleUploadedFile("salon.jpg", JPEG, content_type="image/jpeg"))
    media = MessageMedia.objects.get(message=message)
    on_disk = (settings.MEDIA_ROOT / media.file.name).read_bytes()
    assert on_disk.startswith(f"enc1:{crypto.key_id(KEY1)}:".encode())
    assert b"gizli" not in on_disk
    response = staff_client.get(media.get_absolute_url())
    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    assert b"".join(response.streaming_content) == JPEG
    assert status(capsys)["messagemedia.file"] == f"{crypto.key_id(KEY1)}=1"

    keys(KEY2, KEY1)
    call_command("encryption", "rotate")
    media.refresh_from_db()
    assert (settings.MEDIA_ROOT / media.file.name).read_bytes().startswith(f"enc1:{crypto.key_id(KEY2)}:".encode())
    assert len(list((settings.MEDIA_ROOT / "messages").rglob("*.*"))) == 1, "the old copy is deleted"
    keys(crypto.PLAINTEXT, KEY2)
    call_command("encryption", "decrypt")
    media.refresh_from_db()
    assert (settings.MEDIA_ROOT / media.file.name).read_bytes() == JPEG
    assert b"".join(staff_client.get(media.get_absolute_url()).streaming_content) == JPEG


@pytest.mark.slow
def test_attachments_are_encrypted_in_s3_and_served_decrypted(keys, settings, staff_client, s3_server):
    credentials = {"aws_access_key_id": "test", "aws_secret_access_key": "test", "region_name": "us-east-1"}
    s3 = boto3.client("s3", endpoint_url=s3_server, **credentials)
    s3.create_bucket(Bucket=BUCKET)
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": BUCKET,
                "endpoint_url": s3_server,
                "access_key": "test",
                "secret_key": "test",
                "region_name": "us-east-1",
                "file_overwrite": False,
            },
        },
    }
    lead = LeadFactory(phone="+905551234567", last_inbound_at=timezone.now() - datetime.timedelta(hours=1))
    message = message_send_media(lead=lead, upload=SimpleUploadedFile("salon.jpg", JPEG, content_type="image/jpeg"))
    media = MessageMedia.objects.get(message=message)
    in_bucket = s3.get_object(Bucket=BUCKET, Key=media.file.name)["Body"].read()
    assert in_bucket.startswith(f"enc1:{crypto.key_id(KEY1)}:".encode())
    assert b"gizli" not in in_bucket
    response = staff_client.get(media.get_absolute_url())
    assert response["Content-Type"] == "image/jpeg"
    assert b"".join(response.streaming_content) == JPEG

    keys(KEY2, KEY1)
    call_command("encryption", "rotate")
    media.refresh_from_db()
    keys_in_bucket = [item["Key"] for item in s3.list_objects_v2(Bucket=BUCKET)["Contents"]]
    assert keys_in_bucket == [media.file.name], "the copy under the old key is deleted"
    in_bucket = s3.get_object(Bucket=BUCKET, Key=media.file.name)["Body"].read()
    assert in_bucket.startswith(f"enc1:{crypto.key_id(KEY2)}:".encode())
    assert b"".join(staff_client.get(media.get_absolute_url()).streaming_content) == JPEG


def test_an_encrypted_file_reads_back_in_chunks_and_seeks_anywhere(keys):
    content = bytes(range(256)) * (crypto.FILE_CHUNK * 7 // 512)  # three and a half chunks
    stored = crypto.encrypted_file(io.BytesIO(content), size=len(content))
    assert crypto.file_key_id(stored.read(crypto.HEADER_MAX)) == crypto.key_id(KEY1)
    stored.seek(0)
    reader = crypto.DecryptedFile(stored)
    assert reader.read(10) == content[:10]
    reader.seek(crypto.FILE_CHUNK - 3)
    assert reader.read(6) == content[crypto.FILE_CHUNK - 3 : crypto.FILE_CHUNK + 3]  # across two chunks
    assert reader.seek(0, io.SEEK_END) == len(content)
    assert reader.read() == b""
    reader.seek(0)
    assert reader.read() == content


def test_a_file_shorter_than_it_was_said_to_be_is_refused(keys):
    with pytest.raises(ValueError, match="not the 10"):
        crypto.encrypted_file(io.BytesIO(b"short"), size=10)

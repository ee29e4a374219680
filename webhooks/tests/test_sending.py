"""Sending a delivery to a real local receiver: signed, guarded at every attempt, retried, given up, disabled."""

import datetime
import json
import socket
import time

import pytest
from django.utils import timezone

from webhooks import services
from webhooks.models import Delivery, Subscription
from webhooks.services import BACKOFF, DISABLE_AFTER, MAX_ATTEMPTS, deliveries_attempt, deliveries_retry_due

from .factories import SubscriptionFactory
from .verify_snippet import verify

pytestmark = pytest.mark.django_db

PAYLOAD = {"event": "lead.updated", "event_id": 7, "occurred_at": "2026-12-01T10:00:00+00:00", "data": {"x": "ş"}}


def delivery_for(subscription, **fields) -> Delivery:
    return Delivery.objects.create(
        subscription=subscription, event="lead.updated", event_id=7, payload=PAYLOAD, **fields
    )


def due_now(delivery: Delivery) -> None:
    Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())


def test_a_delivery_is_signed_as_the_readme_says_and_succeeds(receiver):
    subscription = SubscriptionFactory(url=receiver.url("/ok"), secret="whsec_the-shared-secret-1234")
    delivery = delivery_for(subscription)
    deliveries_attempt(delivery_pks=[delivery.pk])

    (request,) = receiver.requests
    headers, body = request["headers"], request["body"]
    assert json.loads(body) == PAYLOAD
    assert headers["Content-Type"] == "application/json"
    assert headers["User-Agent"] == "HappyCRM-Webhooks/1"
    assert headers["X-HappyCRM-Event"] == "lead.updated"
    assert headers["X-HappyCRM-Delivery"] == str(delivery.delivery_id)
    assert abs(int(headers["X-HappyCRM-Timestamp"]) - time.time()) < 5
    assert headers["X-HappyCRM-Signature"].startswith("sha256=")
    assert verify("whsec_the-shared-secret-1234", headers, body)
    assert not verify("whsec_another-secret-entirely", headers, body)
    assert not verify("whsec_the-shared-secret-1234", headers, body + b" ")

    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.SUCCEEDED
    assert (delivery.attempts, delivery.response_status, delivery.response_body, delivery.error) == (1, 200, "ok", "")
    assert delivery.finished_at is not None and delivery.next_attempt_at is None
    assert delivery.duration_ms is not None


def test_a_stale_timestamp_fails_the_documented_check(receiver):
    subscription = SubscriptionFactory(url=receiver.url("/ok"))
    deliveries_attempt(delivery_pks=[delivery_for(subscription).pk])
    (request,) = receiver.requests
    assert not verify(subscription.secret, request["headers"], request["body"], tolerance=-1)


def test_failures_are_retried_with_growing_back_off_then_given_up(receiver):
    subscription = SubscriptionFactory(url=receiver.url("/fail"))
    delivery = delivery_for(subscription)
    waits = []
    for attempt in range(1, MAX_ATTEMPTS + 1):
        before = timezone.now()
        deliveries_attempt(delivery_pks=[delivery.pk])
        delivery.refresh_from_db()
        assert delivery.attempts == attempt
        assert delivery.response_status == 500
        assert delivery.response_body == "nope  broken"  # a NUL the database cannot keep is dropped
        assert delivery.error == "The receiver answered HTTP 500."
        if attempt < MAX_ATTEMPTS:
            assert delivery.status == Delivery.Status.RETRYING
            waits.append((delivery.next_attempt_at - before).total_seconds())
            assert deliveries_attempt(delivery_pks=[delivery.pk]) == [], "not due yet: nothing is sent"
            due_now(delivery)
    assert delivery.status == Delivery.Status.FAILED
    assert delivery.finished_at is not None and delivery.next_attempt_at is None
    assert len(receiver.requests) == MAX_ATTEMPTS
    for wait, planned in zip(waits, BACKOFF, strict=True):
        assert planned * 0.9 - 1 <= wait <= planned * 1.1 + 1
    assert waits == sorted(waits)
    assert Subscription.objects.get().failure_count == 1


def test_a_success_after_a_failure_resets_the_count(receiver):
    subscription = SubscriptionFactory(url=receiver.url("/ok"), failure_count=4)
    receiver.statuses = [503]
    delivery = delivery_for(subscription)
    deliveries_attempt(delivery_pks=[delivery.pk])
    assert Delivery.objects.get().status == Delivery.Status.RETRYING
    due_now(delivery)
    deliveries_attempt(delivery_pks=[delivery.pk])
    assert Delivery.objects.get().status == Delivery.Status.SUCCEEDED
    assert Subscription.objects.get().failure_count == 0


def test_repeated_failed_deliveries_disable_the_subscription_with_the_reason(receiver, monkeypatch):
    monkeypatch.setattr(services, "MAX_ATTEMPTS", 1)
    subscription = SubscriptionFactory(url=receiver.url("/fail"))
    for n in range(DISABLE_AFTER):
        deliveries_attempt(delivery_pks=[delivery_for(subscription).pk])
        subscription.refresh_from_db()
        assert subscription.is_active == (n < DISABLE_AFTER - 1)
    assert subscription.failure_count == DISABLE_AFTER
    assert "10 failed deliveries in a row" in subscription.disabled_reason
    assert "The receiver answered HTTP 500." in subscription.disabled_reason
    assert subscription.disabled_at is not None

    later = delivery_for(subscription)
    deliveries_attempt(delivery_pks=[later.pk])
    later.refresh_from_db()
    assert later.status == Delivery.Status.FAILED and later.error == "The subscription is disabled."
    assert len(receiver.requests) == DISABLE_AFTER, "nothing more is sent to a disabled subscription"


def test_a_redirect_is_not_followed(receiver):
    delivery = delivery_for(SubscriptionFactory(url=receiver.url("/redirect")))
    deliveries_attempt(delivery_pks=[delivery.pk])
    delivery.refresh_from_db()
    assert [request["path"] for request in receiver.requests] == ["/redirect"]
    assert delivery.status == Delivery.Status.RETRYING
    assert delivery.response_status == 302
    assert delivery.error.startswith("Redirect not followed (HTTP 302 to http://127.0.0.1:")


def test_a_large_answer_is_kept_to_its_start(receiver):
    delivery = delivery_for(SubscriptionFactory(url=receiver.url("/big")))
    deliveries_attempt(delivery_pks=[delivery.pk])
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.SUCCEEDED
    assert delivery.response_body == "x" * services.RESPONSE_KEPT


def test_a_name_that_rebinds_to_a_private_address_at_delivery_time_is_refused(receiver, settings, monkeypatch):
    """Saved while it resolved to an allowed address; by the delivery it resolves to the metadata service."""
    answers = {"hooks.example.test": "127.0.0.1"}
    real = socket.getaddrinfo

    def resolver(host, port, *args, **kwargs):
        if host in answers:
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (answers[host], port))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolver)
    url = f"http://hooks.example.test:{receiver.port}/ok"
    subscription = Subscription(name="ERP", url=url, events=["lead.updated"])
    services.subscription_save(subscription=subscription)
    answers["hooks.example.test"] = "169.254.169.254"

    delivery = delivery_for(subscription)
    deliveries_attempt(delivery_pks=[delivery.pk])
    delivery.refresh_from_db()
    assert receiver.requests == []
    assert delivery.status == Delivery.Status.RETRYING
    assert delivery.error == "Refused: hooks.example.test resolves to 169.254.169.254 is a cloud metadata address"
    assert delivery.response_status is None


def test_loopback_is_refused_unless_the_deployment_allows_it(receiver, settings):
    settings.OUTBOUND_HTTP_ALLOWED_NETWORKS = []
    delivery = delivery_for(SubscriptionFactory(url=receiver.url("/ok")))
    deliveries_attempt(delivery_pks=[delivery.pk])
    delivery.refresh_from_db()
    assert receiver.requests == []
    assert "127.0.0.1 is a loopback address" in delivery.error


def test_https_only_refuses_a_plain_http_url_at_delivery_time(receiver, settings):
    settings.WEBHOOK_HTTPS_ONLY = True
    delivery = delivery_for(SubscriptionFactory(url=receiver.url("/ok")))
    deliveries_attempt(delivery_pks=[delivery.pk])
    delivery.refresh_from_db()
    assert receiver.requests == []
    assert delivery.error == "Refused: only https:// URLs receive webhooks here"


def test_a_claimed_delivery_is_sent_once_however_many_tasks_run(receiver):
    delivery = delivery_for(SubscriptionFactory(url=receiver.url("/ok")))
    assert services._claim([delivery.pk])
    assert deliveries_attempt(delivery_pks=[delivery.pk]) == [], "another worker holds it"
    assert receiver.requests == []
    Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now() - datetime.timedelta(seconds=1))
    deliveries_attempt(delivery_pks=[delivery.pk])  # its lease ran out: that worker was lost, this one takes over
    deliveries_attempt(delivery_pks=[delivery.pk])
    assert len(receiver.requests) == 1
    assert Delivery.objects.get().attempts == 2


def test_the_sweep_sends_what_is_due_and_only_that(receiver, django_capture_on_commit_callbacks):
    subscription = SubscriptionFactory(url=receiver.url("/ok"))
    now = timezone.now()
    lost = delivery_for(subscription)  # its queued task was lost: no worker took it in QUEUED_GRACE
    Delivery.objects.filter(pk=lost.pk).update(next_attempt_at=now - services.QUEUED_GRACE)
    waiting = delivery_for(subscription)  # queued a minute ago, waiting its turn behind a burst: not queued twice
    Delivery.objects.filter(pk=waiting.pk).update(next_attempt_at=now - datetime.timedelta(minutes=1))
    retry = delivery_for(subscription, status=Delivery.Status.RETRYING)  # its retry's time came
    Delivery.objects.filter(pk=retry.pk).update(next_attempt_at=now - datetime.timedelta(seconds=1))
    later = delivery_for(subscription, status=Delivery.Status.RETRYING)
    Delivery.objects.filter(pk=later.pk).update(next_attempt_at=now + datetime.timedelta(minutes=5))
    done = delivery_for(subscription, status=Delivery.Status.SUCCEEDED, next_attempt_at=None)
    assert deliveries_retry_due() == 2
    sent = {request["headers"]["X-HappyCRM-Delivery"] for request in receiver.requests}
    assert sent == {str(lost.delivery_id), str(retry.delivery_id)}
    assert Delivery.objects.get(pk=waiting.pk).attempts == 0
    assert Delivery.objects.get(pk=done.pk).attempts == 0
    assert Delivery.objects.get(pk=later.pk).attempts == 0


def test_a_deleted_subscription_leaves_nothing_to_send(receiver):
    delivery = delivery_for(SubscriptionFactory(url=receiver.url("/ok")))
    Subscription.objects.all().delete()
    assert deliveries_attempt(delivery_pks=[delivery.pk]) == []
    assert receiver.requests == []


def test_ping_is_sent_now_and_once_and_counts_for_nothing(receiver):
    subscription = SubscriptionFactory(url=receiver.url("/fail"), failure_count=3)
    delivery = services.subscription_ping(subscription=subscription)
    assert delivery.status == Delivery.Status.FAILED and delivery.attempts == 1
    assert delivery.error == "The receiver answered HTTP 500."
    (request,) = receiver.requests
    assert request["headers"]["X-HappyCRM-Event"] == "ping"
    assert json.loads(request["body"])["data"] == {"subscription_id": str(subscription.pk), "name": subscription.name}
    assert verify(subscription.secret, request["headers"], request["body"])
    assert Subscription.objects.get().failure_count == 3
    assert deliveries_retry_due() == 0


def test_resend_makes_a_new_delivery_of_the_same_payload(receiver, django_capture_on_commit_callbacks):
    subscription = SubscriptionFactory(url=receiver.url("/ok"))
    original = delivery_for(subscription, status=Delivery.Status.FAILED, next_attempt_at=None, attempts=6)
    with django_capture_on_commit_callbacks(execute=True):
        copy = services.delivery_resend(delivery=original)
    copy.refresh_from_db()
    assert copy.pk != original.pk and copy.delivery_id != original.delivery_id
    assert (copy.event, copy.event_id, copy.payload) == (original.event, original.event_id, original.payload)
    assert copy.status == Delivery.Status.SUCCEEDED
    assert Delivery.objects.get(pk=original.pk).status == Delivery.Status.FAILED
    (request,) = receiver.requests
    assert request["headers"]["X-HappyCRM-Delivery"] == str(copy.delivery_id)

    Subscription.objects.update(is_active=False)
    original.subscription.refresh_from_db()
    with pytest.raises(services.ResendRefused):
        services.delivery_resend(delivery=original)


# Batches: one task sends several deliveries of a subscription, over one connection.


def test_a_batch_is_claimed_sent_over_one_connection_and_recorded_in_the_same_queries_whatever_its_size(
    receiver, django_assert_num_queries
):
    subscription = SubscriptionFactory(url=receiver.url("/ok"))
    small = [delivery_for(subscription).pk for _ in range(2)]
    large = [delivery_for(subscription).pk for _ in range(12)]
    # lock and read, claim (inside a savepoint here), the subscription, the outcomes
    with django_assert_num_queries(6):
        assert len(deliveries_attempt(delivery_pks=small)) == 2
    with django_assert_num_queries(6):
        assert len(deliveries_attempt(delivery_pks=large)) == 12
    assert len({request["client"] for request in receiver.requests[2:]}) == 1, "one connection for the batch"
    sent = [request["headers"]["X-HappyCRM-Delivery"] for request in receiver.requests[2:]]
    assert sent == [str(Delivery.objects.get(pk=pk).delivery_id) for pk in large], "in their order"
    assert set(Delivery.objects.values_list("status", "attempts", "response_body")) == {("succeeded", 1, "ok")}


def test_a_connection_the_receiver_cut_short_is_not_used_again(receiver):
    subscription = SubscriptionFactory(url=receiver.url("/big"))
    deliveries_attempt(delivery_pks=[delivery_for(subscription).pk for _ in range(3)])
    assert len({request["client"] for request in receiver.requests}) == 3, "an answer not read to its end closes it"
    assert Delivery.objects.filter(status="succeeded").count() == 3


def test_a_batch_past_its_deadline_gives_back_the_rest_untried_and_queues_them_again(receiver, monkeypatch):
    monkeypatch.setattr(services, "BATCH_DEADLINE", 0.0)
    queued = []
    monkeypatch.setattr(services, "send", lambda task, *args: queued.append((task, args)))
    subscription = SubscriptionFactory(url=receiver.url("/ok"))
    pks = [delivery_for(subscription).pk for _ in range(3)]
    assert [delivery.pk for delivery in deliveries_attempt(delivery_pks=pks)] == pks[:1], "one attempt at least"
    assert len(receiver.requests) == 1
    rest = Delivery.objects.filter(pk__in=pks[1:])
    assert set(rest.values_list("status", "attempts")) == {("pending", 0)}, "not counted as an attempt"
    assert all(delivery.next_attempt_at <= timezone.now() for delivery in rest), "due again now"
    assert queued == [(services.DELIVER_TASK, tuple(pks[1:]))]


def test_the_failures_in_a_row_are_counted_in_the_batch_s_order(receiver, monkeypatch):
    monkeypatch.setattr(services, "MAX_ATTEMPTS", 1)
    subscription = SubscriptionFactory(url=receiver.url("/ok"), failure_count=DISABLE_AFTER - 2)
    receiver.statuses = [500, 200, 500, 500]  # given up, delivered, given up twice: two in a row at the end
    deliveries_attempt(delivery_pks=[delivery_for(subscription).pk for _ in range(4)])
    subscription.refresh_from_db()
    assert (subscription.failure_count, subscription.is_active) == (2, True)

    receiver.statuses = [500] * 3
    deliveries_attempt(delivery_pks=[delivery_for(subscription).pk for _ in range(3)])
    subscription.refresh_from_db()
    assert (subscription.failure_count, subscription.is_active) == (5, True)
    subscription.failure_count = DISABLE_AFTER - 1
    subscription.save()
    receiver.statuses = [500, 500]
    deliveries_attempt(delivery_pks=[delivery_for(subscription).pk for _ in range(2)])
    subscription.refresh_from_db()
    assert (subscription.failure_count, subscription.is_active) == (DISABLE_AFTER + 1, False)
    assert "The receiver answered HTTP 500." in subscription.disabled_reason


def test_the_claim_outlasts_a_whole_batch():
    assert services.LEASE.total_seconds() > services.BATCH_DEADLINE + services.DEADLINE


def test_the_sweep_and_the_dispatcher_queue_a_task_per_batch_of_a_subscription(monkeypatch):
    queued = []
    monkeypatch.setattr(services, "send", lambda task, *args: queued.append(args))
    first, second = SubscriptionFactory(), SubscriptionFactory()
    lost = [delivery_for(first).pk for _ in range(services.DELIVER_BATCH + 3)] + [delivery_for(second).pk]
    Delivery.objects.update(next_attempt_at=timezone.now() - services.QUEUED_GRACE)
    assert deliveries_retry_due() == len(lost)
    assert sorted(queued) == sorted(
        [tuple(lost[: services.DELIVER_BATCH]), tuple(lost[services.DELIVER_BATCH : -1]), (lost[-1],)]
    )


def test_a_task_queued_with_one_delivery_before_batches_still_sends_it(receiver):
    from webhooks.tasks import deliver

    delivery = delivery_for(SubscriptionFactory(url=receiver.url("/ok")))
    deliver.apply(args=[delivery.pk])
    assert Delivery.objects.get().status == Delivery.Status.SUCCEEDED

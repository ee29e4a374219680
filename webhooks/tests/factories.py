import factory

from webhooks.models import Subscription, WebhookEvent


class SubscriptionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Subscription

    name = factory.Sequence(lambda n: f"Receiver {n}")
    url = "https://hooks.example.com/in"
    secret = factory.Sequence(lambda n: f"whsec_test-secret-{n:012d}")
    events = factory.LazyFunction(lambda: list(WebhookEvent.values))

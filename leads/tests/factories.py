import factory

from leads.models import Label, Lead, Stage


class StageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Stage

    name = factory.Sequence(lambda n: f"Stage {n}")
    position = factory.Sequence(lambda n: 100 + n)


class LeadFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Lead

    name = factory.Faker("name", locale="tr_TR")
    phone = factory.Sequence(lambda n: f"+90555{n:07d}")
    stage = factory.LazyFunction(lambda: Stage.objects.get(is_default=True))


class LabelFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Label

    name = factory.Sequence(lambda n: f"Label {n}")

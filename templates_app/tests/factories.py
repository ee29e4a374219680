import factory

from templates_app.models import Template


class TemplateFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Template

    name = factory.Sequence(lambda n: f"template_{n}")
    content = "Merhaba {{1}}, {{2}} tarihindeki etkinliğiniz için teşekkürler."
    content_sid = factory.Sequence(lambda n: f"HX{n:032x}")
    language = "tr"
    approval_status = Template.ApprovalStatus.APPROVED

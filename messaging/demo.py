"""Demo data for a zero-config run: an event business's leads mid-conversation, written idempotently."""

import datetime
import hashlib
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from leads.models import Lead, Stage
from templates_app.models import Template

from .models import Channel, Message, MessageStatus
from .services.messages import lead_activity_refresh

TEMPLATES = [
    {
        "key": "randevu",
        "name": "randevu_hatirlatma",
        "content": (
            "Merhaba {{1}}, {{2}} tarihindeki etkinliğiniz için saat {{3}} randevunuzu hatırlatırız. Görüşmek üzere!"
        ),
        "approval_status": Template.ApprovalStatus.APPROVED,
        "category": "UTILITY",
        "variables": {"1": "Ayşe", "2": "05.12.2026", "3": "19:30"},
    },
    {
        "key": "teklif",
        "name": "teklif_takip",
        "content": (
            "Merhaba {{1}}, {{2}} tarihli organizasyonunuz için hazırladığımız teklifi inceleme fırsatınız oldu mu?"
        ),
        "approval_status": Template.ApprovalStatus.APPROVED,
        "category": "MARKETING",
        "variables": {"1": "Ayşe", "2": "05.12.2026"},
    },
    {
        "key": "kampanya",
        "name": "sezon_kampanyasi",
        "content": "Merhaba {{1}}, 2027 düğün sezonu için erken rezervasyon indirimimiz başladı.",
        "approval_status": Template.ApprovalStatus.PENDING,
        "category": "MARKETING",
        "variables": {"1": "Ayşe"},
    },
    {
        "key": "indirim",
        "name": "son_dakika_indirim",
        "content": "{{1}} SON FIRSAT!!! Hemen yazın",
        "approval_status": Template.ApprovalStatus.REJECTED,
        "rejection_reason": "Template starts with a variable and reads as promotional spam.",
        "category": "MARKETING",
        "variables": {"1": "Ayşe"},
    },
]


@dataclass(frozen=True)
class DemoMessage:
    hours_ago: float
    body: str
    from_lead: bool
    status: str = MessageStatus.READ
    template: str = ""
    error_code: int | None = None
    error_message: str = ""
    is_read: bool = True


@dataclass(frozen=True)
class DemoLead:
    name: str
    phone: str
    stage_position: int
    event_in_days: int | None
    event_time: datetime.time | None
    location: str
    email: str = ""
    channel: str = Channel.WHATSAPP
    is_unregistered: bool = False
    opted_out: bool = False
    messages: tuple[DemoMessage, ...] = ()


LEADS = [
    DemoLead(
        name="Ayşe Yılmaz",
        phone="+905551234567",
        stage_position=2,
        event_in_days=45,
        event_time=datetime.time(19, 30),
        location="Çırağan Sarayı, Beşiktaş",
        email="ayse.yilmaz@example.com",
        messages=(
            DemoMessage(30, "Merhaba, 12 Ocak'taki düğünümüz için fiyat alabilir miyim?", True),
            DemoMessage(29.5, "Merhaba Ayşe Hanım, tabii! Kaç kişilik bir davet düşünüyorsunuz?", False),
            DemoMessage(29, "Yaklaşık 250 kişi, akşam yemeği ile birlikte.", True),
            DemoMessage(
                28,
                "Merhaba Ayşe Yılmaz, teklifimizi e-posta ile ilettik. İnceleme fırsatınız oldu mu?",
                False,
                template="teklif",
            ),
            DemoMessage(1.5, "Teklifi aldık, teşekkürler. Menüde vejetaryen seçenek var mı?", True, is_read=False),
            DemoMessage(1.2, "Bir de fotoğrafçı dahil mi?", True, status=MessageStatus.RECEIVED, is_read=False),
        ),
    ),
    DemoLead(
        name="Mehmet Demir",
        phone="+905321112233",
        stage_position=1,
        event_in_days=20,
        event_time=datetime.time(20, 0),
        location="Kalamış Marina, Kadıköy",
        messages=(
            DemoMessage(5, "İyi günler, nişan organizasyonu yapıyor musunuz?", True),
            DemoMessage(4.8, "Merhaba Mehmet Bey, evet yapıyoruz. Tarihiniz belli mi?", False),
            DemoMessage(4.5, "20 gün sonra, akşam 8 gibi.", True),
            DemoMessage(0.2, "Harika, size uygun mekanları paylaşıyorum.", False, status=MessageStatus.DELIVERED),
            DemoMessage(0.1, "Fiyat listesi ektedir.", False, status=MessageStatus.SENT),
        ),
    ),
    DemoLead(
        name="Zeynep Kaya",
        phone="+905301234567",
        stage_position=0,
        event_in_days=90,
        event_time=datetime.time(18, 0),
        location="Swissôtel The Bosphorus",
        messages=(
            DemoMessage(80, "Kına gecesi için bilgi almak istiyorum.", True),
            DemoMessage(79, "Merhaba Zeynep Hanım, kaç kişilik olacak?", False),
            DemoMessage(
                3,
                "Merhaba, yeni paketlerimizi paylaşmak isteriz.",
                False,
                status=MessageStatus.FAILED,
                error_code=63016,
                error_message="Failed to send freeform message because you are outside the allowed window.",
            ),
        ),
    ),
    DemoLead(
        name="Can Öztürk",
        phone="+905425556677",
        stage_position=3,
        event_in_days=12,
        event_time=datetime.time(14, 0),
        location="Feriye Lokantası, Ortaköy",
        email="can.ozturk@example.com",
        channel=Channel.SMS,
        messages=(
            DemoMessage(50, "Merhaba, şirket yemeği için rezervasyon onayı bekliyorum.", True),
            DemoMessage(
                49, "Rezervasyonunuz onaylandı Can Bey, teşekkür ederiz.", False, status=MessageStatus.DELIVERED
            ),
            DemoMessage(48, "Teşekkürler!", True),
        ),
    ),
    DemoLead(
        name="Elif Şahin",
        phone="+905067778899",
        stage_position=4,
        event_in_days=None,
        event_time=None,
        location="",
        opted_out=True,
        messages=(
            DemoMessage(100, "Merhaba, doğum günü partisi için fiyat?", True),
            DemoMessage(99, "Merhaba Elif Hanım, fiyat listemizi iletiyoruz.", False),
            DemoMessage(70, "STOP", True),
        ),
    ),
    DemoLead(
        name="Yeni lead",
        phone="+905334445566",
        stage_position=0,
        event_in_days=None,
        event_time=None,
        location="",
        is_unregistered=True,
        messages=(
            DemoMessage(
                0.05,
                "Merhaba, Instagram'daki ilanınızı gördüm. Bahçe düğünü yapıyor musunuz?",
                True,
                status=MessageStatus.RECEIVED,
                is_read=False,
            ),
        ),
    ),
]


def demo_sid(prefix: str, key: str) -> str:
    """A stable, Twilio-shaped SID (two letters + 32 hex), so a second run finds what the first wrote."""
    return prefix + hashlib.md5(f"happycrm-demo:{key}".encode()).hexdigest()  # noqa: S324


@transaction.atomic
def demo_data_seed() -> dict[str, int]:
    """Create the demo templates, leads and conversations that are missing; returns how many of each were created."""
    created = {"templates": 0, "leads": 0, "messages": 0}
    templates = {}
    for spec in TEMPLATES:
        template, was_created = Template.objects.get_or_create(
            content_sid=demo_sid("HX", spec["key"]),
            defaults={
                "name": spec["name"],
                "content": spec["content"],
                "language": "tr",
                "approval_status": spec["approval_status"],
                "rejection_reason": spec.get("rejection_reason", ""),
                "category": spec["category"],
                "variables": spec["variables"],
            },
        )
        templates[spec["key"]] = template
        created["templates"] += was_created

    stages = list(Stage.objects.all())
    now = timezone.now()
    today = timezone.localdate()
    for spec in LEADS:
        lead, was_created = Lead.objects.get_or_create(
            phone=spec.phone,
            defaults={
                "name": spec.name,
                "email": spec.email,
                "stage": stages[min(spec.stage_position, len(stages) - 1)],
                "event_date": today + datetime.timedelta(days=spec.event_in_days) if spec.event_in_days else None,
                "event_time": spec.event_time,
                "location": spec.location,
                "is_unregistered": spec.is_unregistered,
                "first_message_answered": any(not m.from_lead for m in spec.messages),
                "opted_out_at": now if spec.opted_out else None,
            },
        )
        created["leads"] += was_created
        if not was_created:
            # Its conversation was written with it, and has lived since: a message sent again got a new SID, so
            # looking messages up by their demo SIDs would add them twice.
            continue
        for index, item in enumerate(spec.messages):
            template = templates.get(item.template)
            created_at = now - datetime.timedelta(hours=item.hours_ago)
            _, was_created = Message.objects.get_or_create(
                twilio_message_sid=demo_sid("SM", f"{spec.phone}:{index}"),
                defaults={
                    "lead": lead,
                    "body": item.body,
                    "is_from_lead": item.from_lead,
                    "is_read": item.is_read,
                    "read_at": created_at if item.from_lead and item.is_read else None,
                    "is_notification_sent": item.from_lead,
                    "status": MessageStatus.RECEIVED if item.from_lead else item.status,
                    "channel": spec.channel,
                    "template": template,
                    "template_name": template.name if template else "",
                    "error_code": item.error_code,
                    "error_message": item.error_message,
                    "created_at": created_at,
                },
            )
            created["messages"] += was_created
        lead_activity_refresh(lead=lead)
    return created

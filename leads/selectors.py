from dataclasses import dataclass

from django.db.models import F

from .models import Lead
from .phones import fallback_digits


@dataclass(frozen=True)
class PhoneMatch:
    lead: Lead | None
    candidates: int = 0  # how many leads the last-10-digits fallback found

    @property
    def ambiguous(self) -> bool:
        return self.candidates > 1


def lead_find_by_phone(*, e164: str) -> PhoneMatch:
    """The spec's phone matcher: the exact E.164 number, else the last 10 digits (an indexed column, no LIKE).

    When the fallback finds several leads, the most recently active one wins and the caller is told.
    """
    lead = Lead.objects.filter(phone=e164).first()
    if lead is not None:
        return PhoneMatch(lead=lead, candidates=1)
    candidates = list(
        Lead.objects.filter(phone_national=fallback_digits(e164)).order_by(
            F("last_message_at").desc(nulls_last=True), "-created_at"
        )[:10]
    )
    return PhoneMatch(lead=candidates[0] if candidates else None, candidates=len(candidates))

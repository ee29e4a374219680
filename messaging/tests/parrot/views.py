import hmac
import json

from django.http import HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from messaging.services.webhooks import webhook_event_store

from . import sign


@csrf_exempt
@require_POST
def parrot_webhook(request):
    if not hmac.compare_digest(request.headers.get("X-Parrot-Signature", ""), sign(request.body)):
        return HttpResponse("bad signature", status=403)
    try:
        payload = json.loads(request.body)
    except ValueError:
        return HttpResponse("not JSON", status=400)
    if not isinstance(payload, dict):
        return HttpResponse("not an object", status=400)
    event = webhook_event_store(provider="parrot", payload=payload, signature_valid=True)
    return JsonResponse({"event": str(event.pk)})

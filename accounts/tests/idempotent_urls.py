"""A URLconf for the Idempotency-Key tests: one write that counts how often it really runs."""

from django.urls import include, path
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.idempotency import idempotent
from happycrm.rest.errors import ApiError

RUNS = []


class Write(APIView):
    @idempotent
    def post(self, request):
        RUNS.append(dict(request.data))
        if request.data.get("refuse"):
            raise ApiError("Refused.", code="refused")
        if request.data.get("crash"):
            raise RuntimeError("the server broke")
        return Response({"run": len(RUNS), "echo": request.data.get("value")}, status=201)


urlpatterns = [path("write", Write.as_view()), path("", include("happycrm.urls"))]

"""The inbox's lead panel merges a likely duplicate into the open lead here: privacy's service, which the inbox's
own views (messaging) may not use."""

from django.contrib import messages as flash
from django.contrib.auth.decorators import login_required, permission_required
from django.http import HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django_htmx.http import HttpResponseClientRedirect, reswap, retarget

from accounts.permissions import MERGE_LEADS
from leads.selectors import lead_get

from .services import LeadAlreadyGone, MergeRefused, Requester, leads_merge


@login_required
@permission_required(MERGE_LEADS, raise_exception=True)
@require_POST
def lead_merge(request, pk):
    """Merge the lead `other` (posted) into the open lead `pk`, which is kept; then the kept lead's conversation
    again, with what was merged. A lead gone meanwhile, or the same one twice, is said in the panel."""
    keep, other = lead_get(pk=pk), lead_get(pk=request.POST.get("other", ""))
    try:
        if keep is None or other is None:
            raise LeadAlreadyGone(_("The lead was erased or merged meanwhile."))
        receipt = leads_merge(keep=keep, other=other, requester=Requester.inbox(request.user))
    except (LeadAlreadyGone, MergeRefused) as refused:
        if request.htmx:
            response = HttpResponse(str(refused), content_type="text/plain; charset=utf-8")
            return reswap(retarget(response, "#merge-error"), "innerHTML")
        flash.error(request, str(refused))
        return redirect("inbox:conversation", pk) if keep is not None else redirect("inbox:index")
    flash.success(
        request,
        _("%(other)s was merged into %(lead)s (receipt #%(receipt)s).")
        % {"other": other.name, "lead": keep.name, "receipt": receipt.pk},
    )
    url = reverse("inbox:conversation", args=[keep.pk])
    return HttpResponseClientRedirect(url) if request.htmx else redirect(url)

"""What every page's shell needs: the active role, the others to switch to, the navigation."""

from django.conf import settings
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from .roles import Role

# Navigation per role: (label, url name, args). Later issues add their screens here.
_NAV = {
    Role.SYSADMIN: [(_("Accounts"), "core:accounts"), (_("Organisations"), "core:organisations")],
    Role.AUDITOR: [(_("Audit log"), "audit:log"), (_("Organisations"), "core:organisations")],
    Role.OVERSIGHT: [(_("Organisations"), "core:organisations")],
    Role.SUBJECT: [(_("Who has read my data"), "audit:my_reads")],
}


def shell(request):
    actor = getattr(request, "actor", None)
    if actor is None or actor.account is None:
        return {"idle_minutes": settings.SESSION_IDLE_MINUTES}
    nav = [(_("Dashboard"), reverse("core:dashboard"))]
    nav += [(label, reverse(name)) for label, name in _NAV.get(actor.role, [])]
    nav.append((_("Profile and security"), reverse("core:profile")))
    return {
        "actor": actor,
        "active_assignment": actor.assignment,
        "assignments": getattr(request, "assignments", []),
        "nav": nav,
        "idle_minutes": settings.SESSION_IDLE_MINUTES,
    }

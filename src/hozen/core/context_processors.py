"""What every page's shell needs: the active role, the others to switch to, the navigation."""

from django.conf import settings
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from .extensions import nav_for, shell_context
from .roles import Role

# Navigation per role: (label, url name, args). Later issues add their screens here.
_DESIGNATIONS = (_("Designations"), "designation:list")
_LEDGER = (_("Designation ledger"), "designation:ledger_index")
_NOTICES = (_("Designation notices"), "designation:notifications")
_NAV = {
    Role.SYSADMIN: [(_("Accounts"), "core:accounts"), (_("Sign-in locks"), "core:sign_in_locks"),
                    (_("Organisations"), "core:organisations"),
                    (_("Rules packs"), "rules:list")],
    Role.AUDITOR: [(_("Audit log"), "audit:log"), (_("Organisations"), "core:organisations")],
    Role.OVERSIGHT: [_DESIGNATIONS, (_("Designation ledgers"), "designation:ledger_index"),
                     (_("Designation statistics"), "designation:statistics"), (_("Organisations"), "core:organisations")],
    Role.SUBJECT: [(_("Who has read my data"), "audit:my_reads")],
    Role.ESI_MANAGER: [_DESIGNATIONS, (_("New draft designation"), "designation:create"), _LEDGER, _NOTICES,
                       (_("Rules packs"), "rules:list")],
    Role.ORGAN_HEAD: [_DESIGNATIONS, _LEDGER, _NOTICES, (_("Rules packs"), "rules:list")],
    Role.SECURITY_OFFICER: [_DESIGNATIONS, _LEDGER, _NOTICES],
    Role.BUSINESS_OFFICER: [(_("Designations provided to us"), "designation:list"), _NOTICES],
}


def shell(request):
    actor = getattr(request, "actor", None)
    if actor is None or actor.account is None:
        return {"idle_minutes": settings.SESSION_IDLE_MINUTES}
    nav = [(_("Dashboard"), reverse("core:dashboard"))]
    nav += [(label, reverse(name)) for label, name in _NAV.get(actor.role, []) + nav_for(actor.role, actor)]
    nav.append((_("Profile and security"), reverse("core:profile")))
    assignments = getattr(request, "assignments", [])
    return {
        "actor": actor,
        "active_assignment": actor.assignment,
        "assignments": assignments,
        "nav": nav,
        "idle_minutes": settings.SESSION_IDLE_MINUTES,
        **shell_context(actor, assignments),
    }

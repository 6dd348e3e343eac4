"""Rules for the test models' actions: investigators read, organ heads destroy."""

from hozen.access.policy import allow, deny, rule


@rule("dossier.read_personal")
def dossier_read_personal(actor, target):
    if actor.role == "investigator":
        return allow()
    return deny("not_investigator", "調査担当のみが閲覧できます。", "Only an investigator may read this.")


@rule("dossier.destroy")
def dossier_destroy(actor, target):
    if actor.role == "organ_head":
        return allow()
    return deny("not_organ_head", "行政機関の長のみが破棄できます。", "Only the organ head may destroy this.")

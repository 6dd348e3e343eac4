"""Rules for keys: KEK status and rotation, and crypto-shredding a subject's data key.

Reading encrypted personal data is decided by the action each protected model declares
(``crypto_read_action``), whose rule lives with that model's app.
"""

from __future__ import annotations

from ..policy import allow, decide, deny, rule

SERVER_OPERATOR_ONLY = ("server_operator_only", "サーバーの操作者のみが実行できます。",
                        "Only the server's operator may do this.")


def _is_operator(actor) -> bool:
    """The person at the server's shell running `hozen ...`: they hold the keyring file anyway."""
    return actor.is_system and actor.channel == "cli"


@rule("kek.view")
def kek_view(actor, target):
    return allow("server_operator") if _is_operator(actor) else deny(*SERVER_OPERATOR_ONLY)


rule("kek.rotate")(kek_view)


@rule("data_key.shred")
def data_key_shred(actor, target):
    """The operator, a background job (retention), or whoever the subject's own shred action allows."""
    if _is_operator(actor):
        return allow("server_operator")
    if actor.is_system and actor.channel == "job":
        return allow("background_job")
    action = getattr(type(target), "crypto_shred_action", "") if target is not None else ""
    if action:
        return decide(actor, action, target)
    return deny("shred_not_allowed", "このデータの暗号鍵を破棄する権限がありません。",
                "You may not destroy this data's encryption key.")

"""The seven items of an aptitude assessment (Art. 12(2); DOMAIN §6 step 4), as data.

The Japanese labels are the Act's, verbatim: notices quote them, findings and reasons are kept
per item, and the questionnaire asks nothing outside them and the listed background sections
(``questionnaire.py``). Investigating anything else (beliefs, lawful political or union activity)
is forbidden.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Item:
    number: int
    code: str
    label_ja: str
    label_en: str

    def label(self, language: str | None) -> str:
        return self.label_en if (language or "ja").startswith("en") else self.label_ja


ITEMS: tuple[Item, ...] = (
    Item(1, "item_1", "重要経済基盤毀損活動との関係に関する事項",
         "Relation to activities damaging critical economic foundations (espionage or terrorism-type), "
         "including the subject's family and cohabitants"),
    Item(2, "item_2", "犯罪及び懲戒の経歴に関する事項", "Criminal and disciplinary record"),
    Item(3, "item_3", "情報の取扱いに係る非違の経歴に関する事項", "Record of misconduct in handling information"),
    Item(4, "item_4", "薬物の濫用及び影響に関する事項", "Drug abuse and its effects"),
    Item(5, "item_5", "精神疾患に関する事項", "Mental illness"),
    Item(6, "item_6", "飲酒についての節度に関する事項", "Moderation in drinking"),
    Item(7, "item_7", "信用状態その他の経済的な状況に関する事項",
         "Credit and other financial circumstances (including foreign bank accounts)"),
)

ITEM_CODES: tuple[str, ...] = tuple(item.code for item in ITEMS)
BY_CODE: dict[str, Item] = {item.code: item for item in ITEMS}


def item(code: str) -> Item:
    """The item for ``code`` (``item_1`` … ``item_7``); KeyError for anything else."""
    return BY_CODE[code]

"""The questionnaire (質問票) of DOMAIN §6 step 4, as data: sections, fields, labels, checks.

The schema is reviewed against DOMAIN.md, not hidden in forms: the background sections DOMAIN
lists (identity, registered domicile and nationality history, relatives and cohabitants, ten years
of employment, ten years of private foreign travel, residence abroad) and one section per item of
the Act (``items.py``). Nothing else is asked — a test checks that no field is about beliefs,
religion, political or union activity. ``validation.py`` checks answers against this schema;
screens and the API render it; the server's validation is the only source of truth (LESSONS.md).

Field kinds: ``text`` (one line), ``long_text``, ``date`` (YYYY-MM-DD), ``yes_no`` (true/false),
``choice`` (one code of ``choices``), ``country`` (ISO 3166-1 alpha-2, e.g. JP), ``countries``
(a list of them), ``amount`` (whole yen, 0 or more) and ``group`` (a repeating group of
``fields``, e.g. one entry per relative). A ``katakana`` text is a reading, checked to be
katakana. Every string is stored as the one text policy leaves it (``hozen.core.text``: NFKC, no
control characters). ``required_if=("has_x", True)`` makes a field required
only when the sibling ``has_x`` has that value; a required group needs at least one entry. A
group of periods (``Period``) needs an end date unless its "ongoing" box is ticked.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Choice:
    code: str
    label_ja: str
    label_en: str


@dataclass(frozen=True)
class Period:
    """A group's entries are periods ``start``–``end``; checks on them (DOMAIN §6 step 4)."""

    start: str
    end: str
    #: a yes/no field meaning "still ongoing": then ``end`` is left empty
    ongoing: str | None = None
    #: the shortest period asked about, in months (jobs "of one month or more")
    min_months: int = 0
    #: entries may not overlap one another (a person holds one job at a time in this history)
    no_overlap: bool = False
    #: only periods that reach into the last N years are asked about ("10 years of employment")
    within_years: int | None = None


@dataclass(frozen=True)
class Field:
    name: str
    kind: str
    label_ja: str
    label_en: str
    required: bool = True
    required_if: tuple[str, object] | None = None
    choices: tuple[Choice, ...] = ()
    max_length: int = 200
    not_future: bool = False
    fields: tuple[Field, ...] = ()
    max_items: int = 100
    period: Period | None = None
    #: a reading (フリガナ): written in katakana (half-width kana is stored full-width, by NFKC)
    katakana: bool = False

    def label(self, language: str | None) -> str:
        return self.label_en if (language or "ja").startswith("en") else self.label_ja


@dataclass(frozen=True)
class Section:
    code: str
    #: the item of the Act this section belongs to (``item_1`` …), or None for a background section
    item: str | None
    title_ja: str
    title_en: str
    fields: tuple[Field, ...] = field(default_factory=tuple)

    def title(self, language: str | None) -> str:
        return self.title_en if (language or "ja").startswith("en") else self.title_ja


F = Field
KINDS = ("text", "long_text", "date", "yes_no", "choice", "country", "countries", "amount", "group")
LONG = 4000


def _yes_no(name, ja, en):
    return F(name, "yes_no", ja, en)


def _details(name, ja, en, flag, fields, period=None, max_items=100):
    """A repeating group filled in when the yes/no question ``flag`` is answered yes."""
    return F(name, "group", ja, en, required=False, required_if=(flag, True), fields=tuple(fields),
             period=period, max_items=max_items)


RELATIONS = (
    Choice("spouse", "配偶者（事実上婚姻関係と同様の事情にある者を含む）", "Spouse (including a common-law partner)"),
    Choice("parent", "父母", "Parent"),
    Choice("child", "子", "Child"),
    Choice("sibling", "兄弟姉妹", "Brother or sister"),
    Choice("spouse_parent", "配偶者の父母", "Spouse's parent"),
    Choice("spouse_child", "配偶者の子", "Spouse's child"),
    Choice("cohabitant", "同居人（家族以外）", "Cohabitant who is not family"),
)

FINANCIAL_KINDS = (
    Choice("bankruptcy", "破産手続", "Bankruptcy proceedings"),
    Choice("arrears", "返済の延滞", "Repayment in arrears"),
    Choice("garnishment", "差押え", "Garnishment or seizure"),
    Choice("other_debt", "返済が困難な債務", "Other debt you cannot repay"),
)

BACKGROUND_SECTIONS = ("identity", "domicile_and_nationality", "relatives_and_cohabitants", "employment_10y",
                       "foreign_travel_10y", "residence_abroad")

SECTIONS: tuple[Section, ...] = (
    Section("identity", None, "本人に関する事項", "About you", (
        F("family_name", "text", "氏", "Family name"),
        F("given_name", "text", "名", "Given name", required=False),
        F("family_name_kana", "text", "氏（カタカナ）", "Family name (katakana)", required=False, katakana=True),
        F("given_name_kana", "text", "名（カタカナ）", "Given name (katakana)", required=False, katakana=True),
        F("former_names", "group", "旧姓・旧名", "Former names", required=False, fields=(
            F("family_name", "text", "氏", "Family name"),
            F("given_name", "text", "名", "Given name", required=False),
            F("used_until", "date", "使用していた最後の日", "Used until", required=False, not_future=True),
        )),
        F("date_of_birth", "date", "生年月日", "Date of birth", not_future=True),
        F("place_of_birth_country", "country", "出生国", "Country of birth"),
        F("place_of_birth_city", "text", "出生地（市区町村）", "Place of birth (city)", required=False),
        F("current_address", "long_text", "現住所", "Current address", max_length=500),
    )),
    Section("domicile_and_nationality", None, "本籍及び国籍", "Registered domicile and nationality", (
        F("registered_domicile", "text", "本籍（戸籍のある方）", "Registered domicile (if you have a Japanese family register)",
          required=False, max_length=300),
        F("nationalities", "countries", "現在の国籍", "Current nationality or nationalities"),
        _yes_no("had_other_nationality", "過去に他の国籍を有していたことがありますか", "Have you held another nationality before?"),
        _details("former_nationalities", "過去の国籍", "Former nationalities", "had_other_nationality", (
            F("country", "country", "国", "Country"),
            F("lost_on", "date", "喪失した日", "Date it ended", required=False, not_future=True),
        )),
    )),
    Section("relatives_and_cohabitants", "item_1", "家族及び同居人", "Relatives and cohabitants", (
        _yes_no("has_relatives_or_cohabitants", "記載すべき家族又は同居人がいますか",
                "Do you have relatives or cohabitants of the kinds listed?"),
        _details("relatives", "家族及び同居人", "Relatives and cohabitants", "has_relatives_or_cohabitants", (
            F("relation", "choice", "続柄", "Relation", choices=RELATIONS),
            F("name", "text", "氏名", "Name"),
            F("date_of_birth", "date", "生年月日", "Date of birth", not_future=True),
            F("nationalities", "countries", "国籍", "Nationality or nationalities"),
            F("former_nationalities", "countries", "過去の国籍", "Former nationalities", required=False),
            F("address", "long_text", "住所", "Address", max_length=500),
        ), max_items=60),
    )),
    Section("employment_10y", None, "過去10年間の職歴", "Employment in the last ten years", (
        _yes_no("has_employment", "過去10年間に1か月以上の職歴がありますか",
                "Have you had any job of one month or more in the last ten years?"),
        _details("jobs", "職歴（1か月以上のもの）", "Jobs of one month or more", "has_employment", (
            F("employer", "text", "勤務先", "Employer"),
            F("employer_address", "text", "勤務先の所在地", "Employer's address", required=False, max_length=300),
            F("position", "text", "所属・役職", "Department and post", required=False),
            F("started_on", "date", "開始日", "Start date", not_future=True),
            F("ended_on", "date", "終了日", "End date", required=False, not_future=True),
            F("current", "yes_no", "現在も勤務している", "I still work here", required=False),
        ), period=Period("started_on", "ended_on", ongoing="current", min_months=1, no_overlap=True,
                         within_years=10)),
    )),
    Section("foreign_travel_10y", None, "過去10年間の私的な海外渡航", "Private foreign travel in the last ten years", (
        _yes_no("has_travel", "過去10年間に私的な海外渡航がありますか",
                "Have you travelled abroad privately in the last ten years?"),
        _details("trips", "渡航歴", "Trips", "has_travel", (
            F("country", "country", "渡航先の国", "Country visited"),
            F("departed_on", "date", "出国日", "Date of departure", not_future=True),
            F("returned_on", "date", "帰国日", "Date of return", not_future=True),
        ), period=Period("departed_on", "returned_on", within_years=10), max_items=300),
    )),
    Section("residence_abroad", None, "海外居住歴", "Residence abroad", (
        _yes_no("has_lived_abroad", "海外に居住したことがありますか", "Have you ever lived abroad?"),
        _details("residences", "海外居住歴", "Residences abroad", "has_lived_abroad", (
            F("country", "country", "国", "Country"),
            F("city", "text", "都市", "City", required=False),
            F("from_on", "date", "開始日", "From", not_future=True),
            F("until_on", "date", "終了日", "Until", required=False, not_future=True),
            F("current", "yes_no", "現在も居住している", "I still live there", required=False),
        ), period=Period("from_on", "until_on", ongoing="current")),
    )),
    Section("item_1", "item_1", "重要経済基盤毀損活動との関係に関する事項",
            "Relation to activities damaging critical economic foundations", (
        _yes_no("involvement", "スパイ活動、テロリズムその他の重要経済基盤毀損活動に関与し、協力し、又は協力を求められたことがありますか",
                "Have you ever taken part in, helped, or been asked to help espionage, terrorism or other "
                "activities damaging critical economic foundations?"),
        F("involvement_details", "long_text", "その内容", "Details", required=False, required_if=("involvement", True),
          max_length=LONG),
        _yes_no("contacts", "そのような活動に従事している又はその疑いがある者と接触がありますか",
                "Are you in contact with anyone you know or suspect to be engaged in such activities?"),
        F("contacts_details", "long_text", "その内容", "Details", required=False, required_if=("contacts", True),
          max_length=LONG),
    )),
    Section("item_2", "item_2", "犯罪及び懲戒の経歴に関する事項", "Criminal and disciplinary record", (
        _yes_no("has_convictions", "有罪判決を受けたことがありますか", "Have you ever been convicted of an offence?"),
        _details("convictions", "有罪判決", "Convictions", "has_convictions", (
            F("date", "date", "判決の日", "Date of judgment", not_future=True),
            F("offence", "text", "罪名", "Offence"),
            F("court", "text", "裁判所", "Court", required=False),
            F("sentence", "text", "刑", "Sentence"),
        )),
        _yes_no("has_disciplinary_actions", "懲戒処分を受けたことがありますか", "Have you ever been subject to disciplinary action?"),
        _details("disciplinary_actions", "懲戒処分", "Disciplinary actions", "has_disciplinary_actions", (
            F("date", "date", "処分の日", "Date", not_future=True),
            F("employer", "text", "処分を行った者（勤務先）", "Employer who took the action"),
            F("action", "text", "処分の内容", "Action taken"),
            F("grounds", "long_text", "処分の理由", "Grounds", max_length=LONG),
        )),
    )),
    Section("item_3", "item_3", "情報の取扱いに係る非違の経歴に関する事項", "Record of misconduct in handling information", (
        _yes_no("has_incidents", "情報の取扱いに関する規則に違反したことがありますか",
                "Have you ever broken rules for handling information (for example a leak or loss)?"),
        _details("incidents", "違反の内容", "Incidents", "has_incidents", (
            F("date", "date", "日付", "Date", not_future=True),
            F("description", "long_text", "内容", "What happened", max_length=LONG),
            F("consequence", "text", "その結果（処分等）", "Consequence (e.g. action taken)", required=False),
        )),
    )),
    Section("item_4", "item_4", "薬物の濫用及び影響に関する事項", "Drug abuse and its effects", (
        _yes_no("has_drug_use", "違法な薬物を使用し、又は医薬品を濫用したことがありますか",
                "Have you ever used illegal drugs or misused medicines?"),
        _details("drug_use", "使用の状況", "Use", "has_drug_use", (
            F("substance", "text", "薬物の種類", "Substance"),
            F("from_on", "date", "開始時期", "From", not_future=True),
            F("until_on", "date", "終了時期", "Until", required=False, not_future=True),
            F("effects_and_treatment", "long_text", "影響及び治療の状況", "Effects and treatment", required=False,
              max_length=LONG),
        ), period=Period("from_on", "until_on")),
    )),
    Section("item_5", "item_5", "精神疾患に関する事項", "Mental illness", (
        _yes_no("has_treatment", "判断力に影響し得る精神疾患で治療を受け、又は治療を勧められたことがありますか",
                "Have you been treated, or advised to seek treatment, for a mental illness that could affect "
                "your judgement?"),
        _details("treatments", "治療の状況", "Treatment", "has_treatment", (
            F("condition", "text", "疾患名", "Condition"),
            F("from_on", "date", "開始時期", "From", not_future=True),
            F("until_on", "date", "終了時期", "Until", required=False, not_future=True),
            F("institution", "text", "医療機関", "Clinic or hospital", required=False),
        ), period=Period("from_on", "until_on")),
    )),
    Section("item_6", "item_6", "飲酒についての節度に関する事項", "Moderation in drinking", (
        _yes_no("has_alcohol_problems", "飲酒が原因で問題を起こし、又は治療若しくは節酒の指導を受けたことがありますか",
                "Have you had trouble because of drinking, or been treated or advised to drink less?"),
        _details("alcohol_incidents", "その内容", "Details", "has_alcohol_problems", (
            F("date", "date", "日付", "Date", not_future=True),
            F("description", "long_text", "内容", "What happened", max_length=LONG),
        )),
    )),
    Section("item_7", "item_7", "信用状態その他の経済的な状況に関する事項", "Credit and other financial circumstances", (
        _yes_no("has_financial_difficulties", "破産、返済の延滞、差押え又は返済が困難な債務がありますか",
                "Have you had bankruptcy, arrears, garnishment, or debts you cannot repay?"),
        _details("financial_difficulties", "その内容", "Details", "has_financial_difficulties", (
            F("kind", "choice", "種類", "Kind", choices=FINANCIAL_KINDS),
            F("date", "date", "時期", "Date", not_future=True),
            F("amount_yen", "amount", "金額（円）", "Amount (yen)", required=False),
            F("description", "long_text", "内容", "Details", required=False, max_length=LONG),
        )),
        _yes_no("has_foreign_accounts", "外国の金融機関に口座を有していますか", "Do you hold accounts with banks or brokers abroad?"),
        _details("foreign_accounts", "外国の口座", "Accounts abroad", "has_foreign_accounts", (
            F("country", "country", "国", "Country"),
            F("institution", "text", "金融機関名", "Institution"),
        )),
    )),
)

BY_CODE: dict[str, Section] = {s.code: s for s in SECTIONS}
SECTION_CODES: tuple[str, ...] = tuple(BY_CODE)


def section(code: str) -> Section:
    """The section for ``code``; KeyError for anything else."""
    return BY_CODE[code]


def walk(fields: tuple[Field, ...] = (), prefix: str = ""):
    """Every field of the schema (or of ``fields``) with its dotted path, groups first."""
    if not fields and not prefix:
        for s in SECTIONS:
            yield from walk(s.fields, s.code + ".")
        return
    for f in fields:
        yield prefix + f.name, f
        if f.kind == "group":
            yield from walk(f.fields, prefix + f.name + "[].")

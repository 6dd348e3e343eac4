"""Model fields for personal data that is ciphertext at rest (ARCHITECTURE rule 3).

Services write plaintext and never see a key::

    case.family_details = {"spouse": {...}}
    case.save()                      # encrypted here, under the case's data key

Reading gives a ``Sealed`` value, never plaintext, whatever path loaded the row (ORM, admin,
serialisers, templates, repr in a traceback). Plaintext comes only from
``hozen.crypto.reveal(actor, instance, field, purpose=...)``, which asks the policy and writes
an audit entry.

The column holds an ``envelope`` field blob (AES-256-GCM) whose associated data is the row's
``crypto_id`` and the field name. ``None`` is stored as SQL NULL (not encrypted); for the JSON
field that means JSON ``null`` cannot be told apart from "no value".

Encrypted values cannot be filtered, ordered or compared in the database (only ``isnull``), and
are written only by ``Model.save()``: ``QuerySet.update`` and ``bulk_update`` with plaintext are
refused instead of storing it unencrypted.
"""

from __future__ import annotations

import base64
import json

from django.core import checks
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models

from .envelope import CryptoError


class Sealed:
    """An encrypted field value as stored: ciphertext only, no plaintext, no key."""

    __slots__ = ("_ciphertext", "_label")

    def __init__(self, ciphertext: bytes, label: str = "") -> None:
        self._ciphertext = bytes(ciphertext)
        self._label = label

    @property
    def ciphertext(self) -> bytes:
        return self._ciphertext

    def __repr__(self) -> str:
        return f"<Sealed {self._label}>" if self._label else "<Sealed>"

    def __str__(self) -> str:
        return "[encrypted]"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Sealed) and other._ciphertext == self._ciphertext

    def __hash__(self) -> int:
        return hash(self._ciphertext)


class _EncryptedField(models.BinaryField):
    """Shared machinery; subclasses turn plaintext into bytes and back."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("null", True)
        kwargs["editable"] = False
        super().__init__(*args, **kwargs)

    # --- plaintext <-> bytes (subclasses) ---

    def encode(self, value) -> bytes:
        raise NotImplementedError

    def decode(self, data: bytes):
        raise NotImplementedError

    # --- Django field protocol ---

    def _label(self) -> str:
        model = getattr(self, "model", None)
        return f"{model._meta.label_lower}.{self.name}" if model is not None else self.name or ""

    def get_default(self):
        return super().get_default() if self.has_default() else None

    def from_db_value(self, value, expression, connection):
        return None if value is None else Sealed(bytes(value), self._label())

    def to_python(self, value):
        if value is None or isinstance(value, Sealed):
            return value
        if isinstance(value, bytes | bytearray | memoryview):
            return Sealed(bytes(value), self._label())
        return value  # plaintext, encrypted by pre_save

    def get_prep_value(self, value):
        if value is None:
            return None
        if isinstance(value, Sealed):
            return value.ciphertext
        if isinstance(value, bytes | bytearray | memoryview):
            return bytes(value)  # ciphertext made by pre_save
        raise TypeError(
            f"{self._label()} is encrypted: plaintext is written only by Model.save() and cannot be "
            "used in QuerySet.update(), bulk_update() or filters"
        )

    def get_lookup(self, lookup_name):
        # Comparing ciphertexts says nothing useful, and plaintext must never reach a WHERE clause.
        return super().get_lookup(lookup_name) if lookup_name == "isnull" else None

    def get_transform(self, lookup_name):
        return None

    def pre_save(self, model_instance, add):
        value = getattr(model_instance, self.attname)
        if value is None:
            return None
        if isinstance(value, Sealed):
            return value.ciphertext
        if isinstance(value, bytes | bytearray | memoryview):
            raise TypeError(f"{self._label()} takes plaintext, not bytes")
        from .keys import SubjectKey

        plaintext = self.encode(value)
        save = getattr(model_instance, "_crypto_save", None)  # set by ProtectedRecord.save()
        if save is None:
            return SubjectKey(model_instance).seal(model_instance, self.name, plaintext)
        if save["key"] is None:
            save["key"] = SubjectKey(model_instance)
        ciphertext = save["key"].seal(model_instance, self.name, plaintext)
        save["sealed"][self.attname] = Sealed(ciphertext, self._label())  # swapped in after the save
        return ciphertext

    def value_to_string(self, obj) -> str:
        value = self.value_from_object(obj)
        if value is None:
            return ""
        if not isinstance(value, Sealed):
            raise CryptoError(f"{self._label()} holds unsaved plaintext; save before serialising")
        return base64.b64encode(value.ciphertext).decode("ascii")

    def check(self, **kwargs):
        from .models import ProtectedRecord

        errors = super().check(**kwargs)
        model = getattr(self, "model", None)
        if model is None or model._meta.abstract:
            return errors
        if not issubclass(model, ProtectedRecord):
            errors.append(checks.Error(
                f"{self._label()}: encrypted fields need a model based on hozen.crypto.models."
                "ProtectedSubject or ProtectedRecord (it provides the data key and crypto_id)",
                obj=self, id="hozen.E010"))
        elif not getattr(model, "crypto_read_action", ""):
            errors.append(checks.Error(
                f"{model._meta.label}: set crypto_read_action, the policy action hozen.crypto.reveal "
                "requires to decrypt its encrypted fields", obj=self, id="hozen.E011"))
        return errors


class EncryptedTextField(_EncryptedField):
    """Text stored encrypted (UTF-8 inside)."""

    description = "Encrypted text"

    def encode(self, value) -> bytes:
        if not isinstance(value, str):
            raise TypeError(f"{self._label()} takes str plaintext, got {type(value).__name__}")
        return value.encode("utf-8")

    def decode(self, data: bytes) -> str:
        return data.decode("utf-8")


class EncryptedJSONField(_EncryptedField):
    """A JSON value stored encrypted. ``None`` means "no value" (SQL NULL), not JSON null."""

    description = "Encrypted JSON"

    def __init__(self, *args, encoder=DjangoJSONEncoder, **kwargs):
        self.encoder = encoder
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        if self.encoder is not DjangoJSONEncoder:
            kwargs["encoder"] = self.encoder
        return name, path, args, kwargs

    def encode(self, value) -> bytes:
        return json.dumps(value, cls=self.encoder, ensure_ascii=False, separators=(",", ":")).encode("utf-8")

    def decode(self, data: bytes):
        return json.loads(data.decode("utf-8"))

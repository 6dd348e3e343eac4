"""Japanese government documents as PDF, rendered in-process with an embedded font.

Pure Python, no models and no templates: `pdf.Document` is the builder, `designation` holds
the designation's 指定書 and 指定管理簿. The font (IPAex Gothic) ships in `fonts/` with its
licence; nothing is fetched from the network or read from the system's fonts.
"""

from .designation import designation_document, designation_ledger
from .pdf import Document, date_ja, datetime_ja

__all__ = ["Document", "date_ja", "datetime_ja", "designation_document", "designation_ledger"]

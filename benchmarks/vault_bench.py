#!/usr/bin/env python3
"""The document vault (issue 7 §3): a marked, stamped 100-page PDF copy; encrypted upload/download.

Targets (issue 7): downloading a marked and stamped 100-page PDF takes under 1 second; encrypted
upload and download throughput is reported as a ratio to a plain file copy of the same bytes.

Per backend, in one scratch database and data folder (benchmarks/README.md), the vault storing in
the default local folder (``HOZEN_DATA_DIR/vault``):

1. Setup through the services, as production data is made: the test personas, a designation
   approved by the organ head, and a cleared handler (favourable clearance, on the handler list,
   briefing acknowledged: ``tests.handling_factories.make_cleared_handler``), so every download
   runs the real policy decision (``designation.material.read``), not a shortcut.
2. A 100-page A4 PDF of Japanese text made with ``hozen.documents`` (``--pages``), uploaded with
   ``services.upload``. Then ``--samples`` downloads with ``services.deliver(kind="download")``,
   each a new numbered copy: policy, unwrap the data key, decrypt and check the SHA-256, the
   marking and the recipient stamp on every page, the invisible identifier on every page and in the
   metadata, the copy row, its custody event and audit entry, one durable transaction. Timed around
   the whole call, plus the stamping step alone (``stamping.stamp_pdf``) on the same bytes.
3. Throughput for a file of ``--size`` bytes (random, so incompressible): ``services.upload``
   (read, encrypt in 1 MiB chunks, store, rows and audit entry) and ``blobs.open_plaintext`` (fetch,
   decrypt, SHA-256 check, into a temporary file) against ``shutil.copyfile`` of the same file, and
   the full download of a non-PDF file (decrypt, ZIP with a marked cover sheet, copy records).

    .venv/bin/python benchmarks/vault_bench.py                    # SQLite (and PostgreSQL if it answers)
    .venv/bin/python benchmarks/vault_bench.py --db sqlite --samples 10 --size 20MB --no-doc

Writes its section of docs/benchmarks.md between ``<!-- vault-bench:start -->`` and
``<!-- vault-bench:end -->``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (  # noqa: E402
    DOC,
    ROOT,
    backends_arg,
    command_line,
    fmt_ms,
    machine_facts,
    percentile,
    run_worker,
    scratch,
    setup_django,
    table,
    today,
    use_source,
    verdict,
    worker_main,
)

SCRIPT = Path(__file__).resolve()
BEGIN, END = "<!-- vault-bench:start -->", "<!-- vault-bench:end -->"
TARGET_S = 1.0


def _mb_s(nbytes: int, seconds: float) -> float:
    return nbytes / 1e6 / seconds if seconds > 0 else float("inf")


def _median(values: list[float]) -> float:
    values = sorted(values)
    return values[len(values) // 2]


# --- the worker --------------------------------------------------------------------------------------

def _make_pdf(pages: int) -> bytes:
    from reportlab.platypus import PageBreak

    from hozen.documents.pdf import Document

    doc = Document(title="ベンチマーク文書", marking=None)
    text = ("重要インフラの設備に関する防護措置の計画について、関係機関との調整の結果を次のとおり整理する。"
            "各項目は担当部署が確認し、必要な改善を行うこと。") * 6
    for n in range(pages):
        doc.heading(f"第{n + 1}節 防護措置の概要")
        doc.paragraph(text)
        doc.paragraph(text)
        if n < pages - 1:
            doc._story.append(PageBreak())
    return doc.render()


def worker_vault(*, pages: int, samples: int, size: int, rounds: int) -> dict:
    setup_django()
    sys.path.insert(0, str(ROOT))  # the test personas and the cleared-handler helper
    import datetime as dt
    import io
    import shutil
    import tempfile

    from django.utils import timezone
    from tests import factories
    from tests.handling_factories import make_cleared_handler

    from hozen.core.actor import Actor
    from hozen.designation import services as designations
    from hozen.rules.queries import current_pack
    from hozen.vault import blobs, services, stamping

    orgs = factories.organisations()
    people = factories.people(orgs)

    def actor(account):
        return Actor.for_account(account, account.active_assignments().first(), channel="web",
                                 second_factor_verified=True)

    today = timezone.localdate()
    pack = current_pack("esi", today)
    item = pack.sub_items.select_related("category").get(code="A-1")
    draft = designations.create_draft(
        actor=actor(people["esi_manager"]), organisation=orgs["METI"], title="ベンチマーク用の指定",
        summary="ベンチマーク（内容は記載しない）", category=item.category, sub_item=item,
        justification_category="法第2条第4項第1号の措置に関する計画であり細目A-1に該当する。",
        justification_not_public="公表されておらず、関係者以外に知られていない。",
        justification_harm="漏えいすれば設備への妨害行為を容易にし安全保障に支障を与える。",
        in_advance=False, advance_reason="", designated_on=today, term_end=today + dt.timedelta(days=365 * 4),
        protective_measure="marking")
    designation = designations.approve(actor=actor(people["organ_head"]), designation=draft)
    handler = make_cleared_handler(designation)

    def fresh(a):  # a new request id per call, as each HTTP request has
        return Actor.for_account(a.account, a.assignment, channel="web", second_factor_verified=True)

    # 2. The 100-page PDF.
    pdf = _make_pdf(pages)
    version = services.upload(actor=fresh(handler), designation=designation, title="百頁の文書",
                              source=io.BytesIO(pdf), filename="hundred.pdf", content_type="application/pdf")
    assert version.pages == pages, version.pages
    for _ in range(2):  # warm-up: fonts registered, code paths imported
        services.deliver(actor=fresh(handler), version=version, kind="download").close()
    download = []
    out_size = 0
    for _ in range(samples):
        start = time.perf_counter()
        delivery = services.deliver(actor=fresh(handler), version=version, kind="download")
        download.append(time.perf_counter() - start)
        out_size = delivery.size
        delivery.close()
    stamp = stamping.Stamp(marking="重要経済安保情報", recipient="山田 太郎", organisation="経済産業省 (METI)",
                           issued_at=timezone.now(), copy_number=1, token="0" * 24, reference="METI-2026-0001")
    stamp_only = []
    for _ in range(samples):
        start = time.perf_counter()
        stamping.stamp_pdf(pdf, stamp)
        stamp_only.append(time.perf_counter() - start)
    with blobs.open_plaintext(version) as plain:
        check = plain.read()
    evidence = stamping.find_identifiers(stamping.stamp_pdf(check, stamp))
    pages_with_id = sum(1 for p in evidence.tokens.get("0" * 24, []) if p.startswith("page "))

    # 3. Throughput against a plain copy.
    tmp = Path(tempfile.mkdtemp(prefix="vault-bench-"))
    src = tmp / "src.bin"
    with src.open("wb") as f:
        remaining = size
        while remaining:
            chunk = os.urandom(min(remaining, 4 * 1024 * 1024))
            f.write(chunk)
            remaining -= len(chunk)
    copy_t, upload_t, open_t, deliver_t = [], [], [], []
    big = None
    for n in range(rounds):
        dst = tmp / f"copy-{n}.bin"
        start = time.perf_counter()
        shutil.copyfile(src, dst)
        copy_t.append(time.perf_counter() - start)
        dst.unlink()
        with src.open("rb") as f:
            start = time.perf_counter()
            big = services.upload(actor=fresh(handler), designation=designation, title=f"大きなファイル{n}",
                                  source=f, filename="big.bin", declared_size=size)
            upload_t.append(time.perf_counter() - start)
        start = time.perf_counter()
        with blobs.open_plaintext(big) as plain:
            while plain.read(1024 * 1024):
                pass
        open_t.append(time.perf_counter() - start)
        start = time.perf_counter()
        delivery = services.deliver(actor=fresh(handler), version=big, kind="download")
        deliver_t.append(time.perf_counter() - start)
        delivery.close()
    shutil.rmtree(tmp, ignore_errors=True)
    return {
        "pages": pages, "pdf_bytes": len(pdf), "out_bytes": out_size, "pages_with_id": pages_with_id,
        "download": download, "stamp_only": stamp_only,
        "size": size, "stored_size": big.stored_size, "copy": copy_t, "upload": upload_t, "open": open_t,
        "deliver_zip": deliver_t,
    }


WORKERS = {"vault": worker_vault}


# --- the report ----------------------------------------------------------------------------------------

def _row_times(name: str, values: list[float]) -> list:
    s = sorted(values)
    return [name, len(s), fmt_ms(percentile(s, 50)), fmt_ms(percentile(s, 95)), fmt_ms(s[-1])]


def report(results: dict, argv: list[str], args) -> str:
    lines = [
        "## Document vault (`benchmarks/vault_bench.py`)",
        "",
        f"Command: `{command_line(SCRIPT, argv)}`  ",
        f"Date: {today()}",
        "",
        machine_facts(),
        "",
    ]
    for backend, r in results.items():
        d = sorted(r["download"])
        p95 = percentile(d, 95)
        lines += [
            f"### {backend}: a marked and stamped {r['pages']}-page PDF",
            "",
            f"The PDF: {r['pages']} A4 pages of Japanese text made with `hozen.documents`, {r['pdf_bytes']:,} bytes; "
            f"each copy delivered is {r['out_bytes']:,} bytes (marking at the top and bottom, the recipient stamp "
            f"and a faint diagonal name on every page, the invisible identifier on every page and in the XMP and "
            f"document information; {r['pages_with_id']} of {r['pages']} pages carry it as extracted by `trace`).",
            "",
            table(["operation", "samples", "p50 (ms)", "p95 (ms)", "max (ms)"], [
                _row_times("`services.deliver(kind=\"download\")`: policy, decrypt, SHA-256, stamp, copy + "
                           "custody + audit", r["download"]),
                _row_times("`stamping.stamp_pdf` alone (same bytes)", r["stamp_only"]),
            ]),
            "",
            f"Target: under {TARGET_S:.0f} s per download: {verdict(p95 < TARGET_S)} (p95 {fmt_ms(p95)} ms).",
            "",
            f"### {backend}: encrypted upload and download against a plain copy",
            "",
            f"One file of {r['size'] / 1e6:,.0f} MB of random bytes (stored as {r['stored_size']:,} bytes of "
            f"ciphertext: 16 bytes of tag per 1 MiB chunk and a 12-byte header), {len(r['copy'])} rounds, medians. "
            "Ratio = the plain copy's time divided by the operation's (1.00 = as fast as copying the file; 0.50 = "
            "half the throughput).",
            "",
        ]
        copy = _median(r["copy"])
        rows = [["`shutil.copyfile` (file to file, page cache, no fsync)", fmt_ms(copy), f"{_mb_s(r['size'], copy):,.0f}",
                 "1.00"]]
        for label, key in (("`services.upload` (read, encrypt, store, rows, audit)", "upload"),
                           ("`blobs.open_plaintext` (fetch, decrypt, SHA-256 check)", "open"),
                           ("`services.deliver` of a non-PDF: decrypt + ZIP with marked cover + copy records",
                            "deliver_zip")):
            t = _median(r[key])
            rows.append([label, fmt_ms(t), f"{_mb_s(r['size'], t):,.0f}", f"{copy / t:.2f}"])
        lines += [table(["operation", "median (ms)", "MB/s", "ratio to copy"], rows), ""]
    lines += [
        "Notes: the ZIP stores its members uncompressed (the cover PDF is compressed already, as are most "
        "office files and images). Uploads hold the database's write transaction while the ciphertext is "
        "stored (so a failure leaves nothing behind); on SQLite that serialises concurrent uploads. The machine "
        "is shared: see the load average above.",
    ]
    return "\n".join(lines)


def write_vault_section(body: str) -> None:
    text = DOC.read_text()
    block = f"{BEGIN}\n{body.rstrip()}\n{END}"
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        _, tail = rest.split(END, 1)
        text = head + block + tail
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    DOC.write_text(text)
    print(f"wrote the vault section of {DOC.relative_to(ROOT)}")


def _size(text: str) -> int:
    text = text.strip().upper()
    for unit, factor in (("GB", 10**9), ("MB", 10**6), ("KB", 10**3)):
        if text.endswith(unit):
            return int(float(text[: -len(unit)]) * factor)
    return int(text)


def main(argv: list[str]) -> int:
    if worker_main(WORKERS, argv):
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", default="sqlite", type=backends_arg,
                        help="sqlite (default), postgresql, or auto (both when PostgreSQL answers)")
    parser.add_argument("--pages", type=int, default=100)
    parser.add_argument("--samples", type=int, default=20, help="downloads of the PDF (default 20)")
    parser.add_argument("--size", type=_size, default=_size("50MB"), help="throughput file size (default 50MB)")
    parser.add_argument("--rounds", type=int, default=3, help="throughput rounds (default 3)")
    parser.add_argument("--rev", help="measure a snapshot of this commit's src/ (e.g. HEAD)")
    parser.add_argument("--no-doc", action="store_true", help="print the section instead of writing it")
    args = parser.parse_args(argv)
    use_source(args.rev)
    results = {}
    for backend in args.db:
        with scratch(backend) as s:
            print(f"{backend}: running…", flush=True)
            results[backend] = run_worker(SCRIPT, "vault", s.env, {
                "pages": args.pages, "samples": args.samples, "size": args.size, "rounds": args.rounds}).data
    body = report(results, argv, args)
    if args.no_doc:
        print(body)
    else:
        write_vault_section(body)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

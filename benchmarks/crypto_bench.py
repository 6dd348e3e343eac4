#!/usr/bin/env python3
"""Document encryption throughput (hozen.crypto.envelope) against a plain file copy of the same bytes.

For each size (default 1 KB, 1 MB, 10 MB, 100 MB) of random bytes:

- ``shutil.copyfile``: the baseline, file to file;
- ``encrypt`` / ``decrypt`` (field blob, AES-256-GCM in one piece): file to file (read the file,
  encrypt or decrypt, write the result), and in memory alone;
- ``encrypt_stream`` / ``decrypt_stream`` (STREAM, 1 MiB chunks): file to file.

Every operation's output is checked (decrypting gives the original bytes). Each figure is the
median over repetitions (enough to move ``--budget`` MB, at least 3, at most 20000); ratios are
throughput divided by ``copyfile``'s at the same size. Files live in a temporary folder (page
cache; nothing is fsync'ed, by any of them). At the largest size the peak Python allocation of
each path is also measured (``tracemalloc``), to show what the stream keeps flat. No database
is used.

    .venv/bin/python benchmarks/crypto_bench.py
    .venv/bin/python benchmarks/crypto_bench.py --sizes 1KB,1MB --no-doc
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (  # noqa: E402
    command_line,
    fmt_bytes,
    fmt_rate,
    machine_facts,
    table,
    today,
    use_source,
    write_section,
)

envelope = None  # hozen.crypto.envelope, imported once use_source() has chosen the source tree

SCRIPT = Path(__file__).resolve()
_UNITS = {"KB": 1000, "MB": 1000**2, "GB": 1000**3, "KIB": 1024, "MIB": 1024**2, "GIB": 1024**3, "B": 1}


def size_arg(text: str) -> list[int]:
    out = []
    for part in text.split(","):
        part = part.strip().upper()
        if not part:
            continue
        for unit in sorted(_UNITS, key=len, reverse=True):
            if part.endswith(unit):
                out.append(int(float(part[: -len(unit)]) * _UNITS[unit]))
                break
        else:
            out.append(int(part))
    return out


def human(n: int) -> str:
    for unit, size in (("GB", 1000**3), ("MB", 1000**2), ("KB", 1000)):
        if n >= size and n % size == 0:
            return f"{n // size} {unit}"
    return f"{n} B"


def _median_time(fn, reps: int) -> float:
    """Median seconds per call; tiny operations are timed in groups so the clock's cost vanishes."""
    group = max(1, min(reps, 1000)) if reps >= 1000 else 1
    samples = []
    perf = time.perf_counter
    for _ in range(max(1, reps // group)):
        t0 = perf()
        for _ in range(group):
            fn()
        samples.append((perf() - t0) / group)
    return statistics.median(samples)


def measure(size: int, tmp: Path, budget: int, chunk_size: int) -> dict:
    data = os.urandom(size)
    dek = envelope.new_data_key()
    aad = envelope.aad_for("bench:1", "document")
    src, dst = tmp / "plain", tmp / "out"
    blob_path, stream_path = tmp / "blob", tmp / "stream"
    src.write_bytes(data)
    blob = envelope.encrypt(dek, data, aad)
    blob_path.write_bytes(blob)
    with open(src, "rb") as r, open(stream_path, "wb") as w:
        envelope.encrypt_stream(dek, r, w, aad, chunk_size)
    reps = max(3, min(20_000, budget // size))

    def copy():
        shutil.copyfile(src, dst)

    def enc_file():
        dst.write_bytes(envelope.encrypt(dek, src.read_bytes(), aad))

    def dec_file():
        dst.write_bytes(envelope.decrypt(dek, blob_path.read_bytes(), aad))

    def enc_mem():
        envelope.encrypt(dek, data, aad)

    def dec_mem():
        envelope.decrypt(dek, blob, aad)

    def enc_stream():
        with open(src, "rb") as r, open(dst, "wb") as w:
            envelope.encrypt_stream(dek, r, w, aad, chunk_size)

    def dec_stream():
        with open(stream_path, "rb") as r, open(dst, "wb") as w:
            envelope.decrypt_stream(dek, r, w, aad)

    ops = {"copyfile": copy, "encrypt (file)": enc_file, "decrypt (file)": dec_file,
           "encrypt (memory)": enc_mem, "decrypt (memory)": dec_mem,
           "encrypt_stream": enc_stream, "decrypt_stream": dec_stream}
    # Correctness, once each, outside the clock.
    dec_file()
    assert dst.read_bytes() == data
    dec_stream()
    assert dst.read_bytes() == data
    for fn in ops.values():  # warm-up
        fn()
    # Interleave the operations over three rounds so that drift hits each one alike.
    seconds: dict[str, list[float]] = {k: [] for k in ops}
    for _ in range(3):
        for name, fn in ops.items():
            seconds[name].append(_median_time(fn, max(1, reps // 3)))
    result = {"size": size, "reps": reps, "seconds": {k: statistics.median(v) for k, v in seconds.items()}}
    return result


def peak_memory(size: int, tmp: Path, chunk_size: int) -> dict:
    """Peak traced Python allocation of each file-to-file path, at one size."""
    data = os.urandom(size)
    dek = envelope.new_data_key()
    aad = envelope.aad_for("bench:1", "document")
    src, dst, blob_path, stream_path = tmp / "plain", tmp / "out", tmp / "blob", tmp / "stream"
    src.write_bytes(data)
    blob_path.write_bytes(envelope.encrypt(dek, data, aad))
    with open(src, "rb") as r, open(stream_path, "wb") as w:
        envelope.encrypt_stream(dek, r, w, aad, chunk_size)
    del data

    def run(fn):
        tracemalloc.start()
        fn()
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        return peak

    def enc_stream():
        with open(src, "rb") as r, open(dst, "wb") as w:
            envelope.encrypt_stream(dek, r, w, aad, chunk_size)

    def dec_stream():
        with open(stream_path, "rb") as r, open(dst, "wb") as w:
            envelope.decrypt_stream(dek, r, w, aad)

    return {
        "encrypt (file)": run(lambda: dst.write_bytes(envelope.encrypt(dek, src.read_bytes(), aad))),
        "decrypt (file)": run(lambda: dst.write_bytes(envelope.decrypt(dek, blob_path.read_bytes(), aad))),
        "encrypt_stream": run(enc_stream),
        "decrypt_stream": run(dec_stream),
    }


def render(args, argv, results, peaks) -> str:
    import cryptography
    from cryptography.hazmat.backends.openssl import backend

    out = [
        "## Document encryption (`benchmarks/crypto_bench.py`)",
        "",
        f"Command: `{command_line(SCRIPT, argv)}`  ",
        f"Date: {today()}",
        "",
        machine_facts({"cryptography": f"{cryptography.__version__} ({backend.openssl_version_text()})",
                       "CPU flags": ", ".join(f for f in ("aes", "vaes", "pclmulqdq", "vpclmulqdq", "avx2")
                                              if f in _cpu_flags())}),
        "",
        "Throughput in MB/s (10^6 bytes of plaintext per second; median); in brackets, the ratio to "
        "`shutil.copyfile` of the same bytes (file to file, page cache, no fsync). \"file\" = read the "
        "file, `encrypt`/`decrypt` the whole blob, write the result; \"memory\" = the call alone; "
        f"streams use {fmt_bytes(args.chunk_size)} chunks, file to file.",
        "",
    ]
    names = ["copyfile", "encrypt (file)", "decrypt (file)", "encrypt (memory)", "decrypt (memory)",
             "encrypt_stream", "decrypt_stream"]
    rows = []
    for r in results:
        size = r["size"]
        base = size / r["seconds"]["copyfile"]
        row = [human(size), str(r["reps"])]
        for n in names:
            rate = size / r["seconds"][n]
            cell = fmt_rate(rate / 1e6)
            if n != "copyfile":
                cell += f" ({rate / base:.2f})"
            row.append(cell)
        rows.append(row)
    out += [table(["size", "reps", *names], rows), ""]
    small = next((r for r in results if r["size"] <= 4096), None)
    if small:
        s = small["seconds"]
        out += [f"Per operation at {human(small['size'])}: copyfile {s['copyfile'] * 1e6:.1f} µs, "
                f"encrypt {s['encrypt (memory)'] * 1e6:.1f} µs, decrypt {s['decrypt (memory)'] * 1e6:.1f} µs "
                f"(memory), encrypt_stream {s['encrypt_stream'] * 1e6:.1f} µs (file to file).", ""]
    if peaks:
        size, p = peaks
        out += [f"Peak Python allocation at {human(size)} (tracemalloc): "
                + ", ".join(f"{k} {fmt_bytes(v)}" for k, v in p.items()) + ".", ""]
    return "\n".join(out)


def _cpu_flags() -> set[str]:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", type=size_arg, default=size_arg("1KB,1MB,10MB,100MB"),
                   help="document sizes (1KB,1MB,10MB,100MB)")
    p.add_argument("--budget", type=size_arg, default=[1000 * 1000**2],
                   help="bytes to move per operation and size, bounding repetitions (1000MB)")
    p.add_argument("--chunk-size", type=int, default=1024 * 1024, help="stream chunk size (1 MiB, the default of encrypt_stream)")
    p.add_argument("--no-memory", action="store_true", help="skip the tracemalloc run at the largest size")
    p.add_argument("--tmpdir", help="where the scratch files go (default: the system temp folder)")
    p.add_argument("--rev", help="measure this commit's src/ (git archive snapshot) instead of the work tree")
    p.add_argument("--no-doc", action="store_true", help="print the section instead of writing docs/benchmarks.md")
    args = p.parse_args(argv)
    use_source(args.rev)
    global envelope
    if args.rev is None:
        sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))
    from hozen.crypto import envelope as _envelope

    envelope = _envelope
    if envelope.DEFAULT_CHUNK_SIZE != 1024 * 1024 and "--chunk-size" not in argv:
        args.chunk_size = envelope.DEFAULT_CHUNK_SIZE
    results, peaks = [], None
    with tempfile.TemporaryDirectory(prefix="hozen-bench-crypto-", dir=args.tmpdir) as tmp:
        for size in args.sizes:
            print(f"{human(size)}…", flush=True)
            results.append(measure(size, Path(tmp), args.budget[0], args.chunk_size))
        if not args.no_memory:
            peaks = (max(args.sizes), peak_memory(max(args.sizes), Path(tmp), args.chunk_size))
    text = render(args, argv, results, peaks)
    if not args.no_doc:
        write_section("crypto", text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

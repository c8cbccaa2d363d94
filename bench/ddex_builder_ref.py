"""Reference for `liner bench ern`: the ddex-builder PyPI package building the same shape
(a 12-track album) in the same run. Prints one JSON line: {"messages_per_s": ..., "bytes": ...}.

Run it in a venv: python3 -m venv .venv && .venv/bin/pip install ddex-builder==0.4.4
(ddex-builder emits no DealList and its output fails the ERN 4.3 XSD; it is the speed
reference the issue names, not a correctness one.)
"""
import json
import sys
import time

import ddex_builder as d


def build_once():
    b = d.DdexBuilder()
    isrcs = []
    for n in range(1, 13):
        isrc = "GBNJR26%05d" % n
        isrcs.append(isrc)
        b.add_resource(d.Resource(
            resource_id="A%d" % n, resource_type="SoundRecording", title="Aurora %d" % n,
            artist="Nova Lune", isrc=isrc, duration="PT3M%dS" % (10 + n), track_number=n))
    b.add_release(d.Release(
        release_id="R0", release_type="Album", title="Northern Lights", artist="Nova Lune",
        label="Nightjar Records", catalog_number="NJR-001", upc="196543210010",
        release_date="2026-12-04", genre="Electronic", parental_warning=False,
        track_ids=["A%d" % n for n in range(1, 13)]))
    return b.build()


def main():
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 2.0
    out = build_once()
    size = len(out if isinstance(out, (bytes, str)) else str(out))
    n = 0
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        build_once()
        n += 1
    elapsed = time.perf_counter() - start
    print(json.dumps({"messages_per_s": n / elapsed, "messages": n, "bytes": size}))


if __name__ == "__main__":
    main()

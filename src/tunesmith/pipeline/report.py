"""Writing an evaluation: ``report.json`` (every figure), ``report.md`` (tables), ``report.html``
(the same, self-contained: PNGs embedded as base64, a little CSS, nothing fetched) and the PNGs.

The plots (:mod:`tunesmith.pipeline.report_figures`): per feature, the density of the training draw
against each temperature's samples and the held-out reference; and a histogram of each group's
longest run shared with the training set.
"""

from __future__ import annotations

import base64
import html
import json
import math
from pathlib import Path
from typing import Any

from tunesmith.pipeline.report_figures import feature_png, novelty_png
from tunesmith.representations import REGISTRY

DPI = 90
# the few features whose OA the main table shows, with their short column names
FEATURE_OAS = {"pitch_range": "range", "pitch_class_entropy": "pc entropy", "note_density": "density"}
_CSS = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 1100px; color: #1a202c; padding: 0 1em; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 1.6em; border-bottom: 1px solid #e2e8f0; }
table { border-collapse: collapse; margin: .6em 0; } td, th { padding: 3px 9px; border-bottom: 1px solid #edf2f7; }
th { text-align: left; background: #f7fafc; } td.n { text-align: right; font-variant-numeric: tabular-nums; }
.figs { display: flex; flex-wrap: wrap; gap: 8px; } .figs img { border: 1px solid #e2e8f0; }
p.note { color: #4a5568; }
"""


# -- numbers for people ------------------------------------------------------------------------


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.0f}%"


def _fmt(value: Any, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def main_table(report: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    """One row per group (each temperature, then the held-out reference): validity, novelty, a few OAs."""
    groups = report.get("groups") or []
    abc = any("valid_share" in g["validity"] for g in groups)  # ABC tunes are judged valid; other pieces are not
    tokens = any(g["validity"].get("syntax_error_rate") is not None for g in groups)
    oas = [f for f in FEATURE_OAS if f in report.get("features", {})]
    headers = ["group"]
    real = next((g["validity"].get("valid_share") for g in groups if g["temperature"] is None), None)
    if abc:
        headers += ["valid (real tunes)", "forced", "bars ok", "shape OA", "told apart"]
    else:
        headers += [*(["syntax err", "clean"] if tokens else []), "ended", "with notes"]
    headers += ["near copies", "longest run", f"{report['novelty_settings']['n']}-gram overlap"] if groups else []
    headers += ["mean OA", *[f"OA {FEATURE_OAS[f]}" for f in oas]]
    rows = []
    for g in groups:
        v, n = g["validity"], g["novelty"] or {}
        row = [g["name"]]
        if abc:
            beside = f" ({_pct(real)})" if g["temperature"] is not None and real is not None else ""
            row += [_pct(v.get("valid_share")) + beside]
            row += ["-" if g["temperature"] is None else _pct(v.get("forced_share")), _pct(v.get("bars_ok_share"))]
            row += [_fmt(g.get("mean_shape_oa"), 2), _accuracy(g.get("two_sample"))]
        else:
            if tokens:
                rate = v.get("syntax_error_rate")
                row += ["-" if rate is None else f"{100 * rate:.2f}%", _pct(v.get("clean_share"))]
            ended = "-" if g["temperature"] is None else _pct(v.get("ended_share"))
            row += [ended, _pct(g["with_notes"] / g["pieces"] if g["pieces"] else None)]
        row += [
            _pct(n.get("near_copy_share")),
            _fmt(n.get("mean_longest_run_notes"), 1),
            _pct(n.get("mean_ngram_overlap")),
        ]
        row += [_fmt(g["mean_oa"], 2), *[_fmt(g["features"][f]["oa"], 2) for f in oas]]
        rows.append(row)
    return headers, rows


def _accuracy(test: dict[str, Any] | None) -> str:
    """A two-sample accuracy with its 95% interval: 0.50 means the classifier cannot tell the groups apart."""
    if not test:
        return "-"
    return f"{test['accuracy']:.2f} [{test['low']:.2f}, {test['high']:.2f}]"


def reason_rows(report: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    """Why tunes are not valid: per reason, the share of each group's tunes failing it."""
    from tunesmith.metrics.validity import REASONS

    groups = report["groups"]
    rows = []
    for key, words in REASONS.items():
        shares = [(g["validity"].get("by_reason") or {}).get(key) for g in groups]
        if any(shares):
            rows.append([words, *[_pct(s) for s in shares]])
    for what in ("meter", "key"):
        for g in groups:
            outside = (g["validity"].get("outside") or {}).get(what) or {}
            if outside:
                listed = ", ".join(f"{value or '(none)'} {_pct(share)}" for value, share in list(outside.items())[:6])
                rows.append([f"{g['name']}: {what}s outside the corpus", listed, *[""] * (len(groups) - 1)])
    return ["reason", *[g["name"] for g in groups]], rows


def _symbol(report: dict[str, Any]) -> str:
    """What one id of the report's representation is: "char" for characters, else "token"."""
    cls = REGISTRY.get(report.get("representation", ""))
    return cls.unit if cls is not None and cls.kind == "tokens" else "token"


def likelihood_rows(report: dict[str, Any]) -> list[list[str]]:
    """(figure, value) rows of the held-out likelihood."""
    lk = report["likelihood"]
    unit = _symbol(report)
    if lk.get("unit") == "frames":
        names = {"loss": "loss per value", "f1": "F1 of bits", "onset_f1": "onset F1", "precision": "precision"}
        names |= {"recall": "recall", "frames": "frames"}
        extra = [k for k in lk if k not in names and k not in ("unit", "seq_len")]
        return [[names.get(k, k.replace("_", " ")), _fmt(lk[k], 4)] for k in [*names, *extra] if k in lk]
    text = lk.get("chars") is not None and _text(report)  # bits per character of text, whatever the token
    rows = [
        [f"loss (nats/{unit})", _fmt(lk["loss"], 4)],
        [f"bits per {'character' if text else unit}", _fmt(lk["bpc"], 4)],
        ["accuracy", _pct(lk["acc"]) if lk["acc"] is None else f"{100 * lk['acc']:.1f}%"],
        [f"{unit}s", f"{lk['tokens']:,}"],
    ]
    if text and unit != "char":
        rows.append(["characters", f"{round(lk['chars']):,}"])
    return rows


def _text(report: dict[str, Any]) -> bool:
    """The report's representation is of text (its bits are per character: ``char_counts``)."""
    cls = REGISTRY.get(report.get("representation", ""))
    return cls is not None and cls.kind == "tokens" and bool(getattr(cls, "reads_text", False))


def feature_rows(report: dict[str, Any], kind: str = "features") -> tuple[list[str], list[list[str]]]:
    """Per feature (``features``: the note statistics; ``shape_features``: the shape of a tune): the training
    mean, then each group's mean, OA and KL."""
    groups = report["groups"]
    headers = ["feature", "training"]
    for g in groups:
        headers += [f"{g['name']} mean", "OA", "KL"]
    rows = []
    for f, meta in report.get(kind, {}).items():
        row = [f"{meta['label']} ({meta['unit']})", _fmt(report["training_draw"]["means"].get(f), 2)]
        for g in groups:
            c = g["features" if kind == "features" else "shape"][f]
            row += [_fmt(c["sample_mean"], 2), _fmt(c["oa"], 2), _fmt(c["kl"], 2)]
        rows.append(row)
    return headers, rows


def copies_rows(report: dict[str, Any], most: int = 5) -> list[list[str]]:
    """Each group's pieces with the longest runs shared with a training piece, and that piece."""
    rows = []
    for g in report["groups"]:
        ranked = sorted((s for s in g["samples"] if s.get("novelty")), key=lambda s: -s["novelty"]["longest_run_notes"])
        for s in ranked[:most]:
            n = s["novelty"]
            count = n["longest_run_bars"]
            bars = "" if count is None else f"{count} bar{'s' * (count != 1)}"
            rows.append(
                [
                    g["name"],
                    s.get("file", "-"),
                    str(n["longest_run_notes"]),
                    bars,
                    "yes" if n["near_copy"] else "",
                    n["closest"] or "-",
                ]
            )
    return rows


# -- plots -------------------------------------------------------------------------------------


def _md_table(headers: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in rows])


def _html_table(headers: list[str], rows: list[list[str]]) -> str:
    def cell(value: str, tag: str) -> str:
        numeric = tag == "td" and value[:1].isdigit() or value[:1] == "-" and value[1:2].isdigit()
        return f"<{tag}{' class=n' if numeric else ''}>{html.escape(value)}</{tag}>"

    head = "".join(cell(h, "th") for h in headers)
    body = "".join("<tr>" + "".join(cell(c, "td") for c in r) + "</tr>" for r in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _sections(report: dict[str, Any]) -> list[tuple[str, str, tuple[list[str], list[list[str]]] | None]]:
    """(title, paragraph, table) in report order; markdown and HTML render the same list."""
    s = report["settings"]
    unit = "characters" if _symbol(report) == "char" else report["likelihood"].get("unit")
    sections: list[tuple[str, str, Any]] = [
        (
            "Held-out likelihood",
            f"On the validation split of {report['data']}, windows of {report['likelihood'].get('seq_len')} "
            f"{unit}, as training's validation reads them.",
            (["figure", "value"], likelihood_rows(report)),
        )
    ]
    if report.get("note_statistics"):
        sections.append(("Musical statistics and novelty", report["note_statistics"], None))
        return sections
    ns = report["novelty_settings"]
    bars = f" or {ns['copy_bars']} bars" if ns["kind"] == "abc" else ""
    sections.append(
        (
            "Temperature sweep",
            f"{s['num']} samples per temperature (seed {s['seed']}, at most {s['max_length']} {unit} each); "
            f"'held-out' is a draw of {s['num']} real validation pieces "
            "for reference. Near copy: a run of at least "
            f"{ns['copy_notes']} notes{bars} shared with one training piece; overlap: share of a piece's "
            f"{ns['n']}-note n-grams found in the training set (notes as interval, onset gap and duration). "
            "OA: overlapping area of the feature's distribution with the training draw's (1 = the same).",
            main_table(report),
        )
    )
    sections.append(
        (
            "Musical statistics",
            f"Per piece, against {report['training_draw']['pieces']} training pieces drawn with the same seed "
            "(MusPy definitions; see tunesmith.metrics.features). OA and KL(training ‖ group) of Gaussian "
            "kernel densities, Scott's bandwidth.",
            feature_rows(report),
        )
    )
    if report.get("shape_features"):
        profile = report.get("corpus_profile") or {}
        floor = (
            f"at least {profile['min_bars']} bars and {profile['min_notes']} notes (the training corpus's shortest 1%)"
            if not profile.get("generic")
            else "the generic floor (no corpus profile: the model predates them)"
        )
        sections.append(
            (
                "Why tunes are not valid",
                f"Share of each group's tunes failing each check (a tune may fail several). Valid means: abc2midi "
                f"plays it without an error, every bar fits its meter, {floor}, only header fields, meters and "
                "keys the corpus uses, text fields of words, no runs of spaces, and an ending the model wrote "
                "('forced': cut at the length or steered to its end by the grammar).",
                reason_rows(report),
            )
        )
        sections.append(
            (
                "The shape of a tune",
                "Per tune, from its ABC: bars, parts (split at repeats and double bars) and 8-bar parts, repeat "
                "marks, the last note against the key's tonic, bars repeating an earlier bar (exactly or "
                "transposed), how alike the parts open, and bars whose rhythm is among the corpus's 50 commonest "
                "for the meter (after folk-rnn's analyses, Sturm & Ben-Tal 2017). 'told apart' in the first "
                "table: cross-validated accuracy of a classifier telling the group from real held-out tunes "
                "(the held-out row: from the training draw), 0.50 = it cannot (Lopez-Paz & Oquab 2017).",
                feature_rows(report, "shape_features"),
            )
        )
    corpus = ns["corpus"]
    sections.append(
        (
            "Novelty: the longest shared runs",
            f"Against {corpus['pieces']:,} training pieces ({corpus['notes']:,} notes); the five pieces of each "
            "group that share the most with one training piece.",
            (["group", "file", "notes", "bars", "near copy", "closest training piece"], copies_rows(report)),
        )
    )
    return sections


def _header(report: dict[str, Any]) -> str:
    return (
        f"Model {report['model']} ({report['model_kind']}, {report.get('checkpoint') or 'weights'}), "
        f"representation {report['representation']}; evaluated in {report.get('seconds', 0):.0f} s."
    )


def write_report(report: dict[str, Any], groups: list[Any], out: Path) -> Path:
    """Write the PNGs, report.json, report.md and report.html into ``out``; returns ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    figures: list[str] = []
    if groups:
        *shown, training = groups
        for prefix, kind in (("feature", "features"), ("shape", "shape_features")):
            for name, meta in report.get(kind, {}).items():
                path = feature_png(name, meta["label"], meta["unit"], shown, training, out / f"{prefix}_{name}.png")
                figures.append(path.name)
        figures.append(novelty_png(shown, report["novelty_settings"]["copy_notes"], out / "novelty.png").name)
    report["figures"] = figures
    (out / "report.json").write_text(json.dumps(report, indent=1, allow_nan=False))

    title = f"tunesmith evaluation: {Path(report['model']).name}"
    md = [f"# {title}", "", _header(report), ""]
    body = [f"<h1>{html.escape(title)}</h1>", f"<p>{html.escape(_header(report))}</p>"]
    for heading, text, table in _sections(report):
        md += [f"## {heading}", "", text, ""]
        body += [f"<h2>{html.escape(heading)}</h2>", f"<p class=note>{html.escape(text)}</p>"]
        if table:
            md += [_md_table(*table), ""]
            body.append(_html_table(*table))
    if figures:
        md += ["## Figures", "", *[f"![{f}]({f})" for f in figures], ""]
        images = []
        for f in figures:
            data = base64.b64encode((out / f).read_bytes()).decode("ascii")
            images.append(f'<img alt="{html.escape(f)}" src="data:image/png;base64,{data}">')
        body += ["<h2>Figures</h2>", f"<div class=figs>{''.join(images)}</div>"]
    (out / "report.md").write_text("\n".join(md))
    page = f"<!doctype html><html><head><meta charset=utf-8><title>{html.escape(title)}</title>"
    page += f"<style>{_CSS}</style></head><body>{''.join(body)}</body></html>"
    (out / "report.html").write_text(page, encoding="utf-8")
    return out

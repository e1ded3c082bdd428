"""Reads for the staff dashboard: the model versions with their offline metrics,
the online metrics, and the CTR-per-version plot (an SVG drawn server-side, so
the page needs no script under the Content-Security-Policy)."""

from __future__ import annotations

import io
from collections import defaultdict
from typing import Any

from movie.online_metrics import MetricRow, compute_online_metrics
from movie.recommendations.versions import list_versions


def dashboard_context() -> dict[str, Any]:
    versions = [
        {
            "version": v.version,
            "status": v.get_status_display(),
            "created_at": v.created_at,
            "ndcg": (v.metrics.get("test") or {}).get("ndcg@20"),
            "recall": (v.metrics.get("test") or {}).get("recall@20"),
            "visitor_users": v.data_snapshot.get("visitor_users", 0),
        }
        for v in list_versions()
    ]
    return {"versions": versions, "rows": compute_online_metrics()}


def ctr_by_version(rows: list[MetricRow]) -> dict[str, list[tuple[str, float]]]:
    """Per version, (day, CTR over every surface) in day order."""
    shown: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for row in rows:
        totals = shown[(row.model_version, row.day)]
        totals[0] += row.impressions
        totals[1] += row.clicked_lists
    series: dict[str, list[tuple[str, float]]] = defaultdict(list)
    for (version, day), (lists, clicked) in sorted(shown.items()):
        series[version].append((day, clicked / lists if lists else 0.0))
    return dict(series)


def ctr_plot_svg() -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    figure = Figure(figsize=(8, 3.5))
    axes = figure.subplots()
    for version, points in ctr_by_version(compute_online_metrics()).items():
        axes.plot([d for d, _ in points], [c for _, c in points], "o-", label=version)
    axes.set_ylabel("CTR (lists with a click / lists shown)")
    axes.set_xlabel("day (UTC)")
    axes.set_ylim(bottom=0)
    if axes.get_legend_handles_labels()[0]:
        axes.legend(fontsize="small")
    figure.autofmt_xdate()
    out = io.BytesIO()
    figure.savefig(out, format="svg", bbox_inches="tight")
    return out.getvalue()

"""Scrape a running server's ``/metrics`` and compare samples between two scrapes."""

from __future__ import annotations

import httpx
from prometheus_client.parser import text_string_to_metric_families

__all__ = ["Samples", "scrape"]

SampleKey = tuple[str, frozenset[tuple[str, str]]]


class Samples:
    """One scrape: sample value by name and labels (absent samples read as 0)."""

    def __init__(self, text: str) -> None:
        self.values: dict[SampleKey, float] = {}
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                self.values[(sample.name, frozenset(sample.labels.items()))] = sample.value

    def get(self, name: str, **labels: str) -> float:
        """The sample's value, 0 when the scrape does not hold it."""
        return self.values.get((name, frozenset(labels.items())), 0.0)

    def delta(self, before: Samples, name: str, **labels: str) -> float:
        """How much the sample grew since ``before``."""
        return self.get(name, **labels) - before.get(name, **labels)

    def changed(self, before: Samples, prefix: str) -> dict[SampleKey, float]:
        """Every sample under ``prefix`` whose value differs from ``before`` (for exact whole-family checks)."""
        keys = {key for key in (*self.values, *before.values) if key[0].startswith(prefix)}
        changes = {key: self.values.get(key, 0.0) - before.values.get(key, 0.0) for key in keys}
        return {key: value for key, value in changes.items() if value}


def scrape(base_url: str, token: str | None = None) -> Samples:
    """GET ``/metrics`` (with the bearer token when given); fails unless it answers 200."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = httpx.get(f"{base_url}/metrics", headers=headers, timeout=30)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=")
    return Samples(response.text)

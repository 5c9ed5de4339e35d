"""CITATION.cff is valid Citation File Format 1.2.0 and cites the package with the two papers its method comes from.

The schema is the CFF project's own (https://citation-file-format.github.io/1.2.0/schema.json, CC-BY-4.0), kept in
tests/data so that the check runs offline; ``cffconvert --validate`` checks against the same file.
"""
from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import yaml

REPO = Path(__file__).resolve().parents[1]
SCHEMA = Path(__file__).resolve().parent / "data" / "cff-1.2.0.schema.json"


def _citation() -> dict:
    # YAML reads 2024-07-30 as a date; CFF means the string (as cffconvert reads it)
    return json.loads(json.dumps(yaml.safe_load((REPO / "CITATION.cff").read_text(encoding="utf-8")), default=str))


def test_citation_file_is_valid_cff_120():
    schema = json.loads(SCHEMA.read_text())
    assert schema["$id"].endswith("/1.2.0/schema.json")
    cff = _citation()
    jsonschema.Draft7Validator(schema, format_checker=jsonschema.FormatChecker()).validate(cff)
    assert cff["cff-version"] == "1.2.0" and cff["type"] == "software"


def test_citation_names_the_package_and_its_two_source_papers():
    cff = _citation()
    assert cff["title"].startswith("lprnn_brian")
    assert "version" not in cff, "the version lives in lprnn_brian/version.py only"
    refs = {r["title"]: r for r in cff["references"]}
    icons = refs["Accurate Mapping of RNNs on Neuromorphic Hardware with Adaptive Spiking Neurons"]
    assert [a["family-names"] for a in icons["authors"]] == ["Boeshertz", "Indiveri", "Nair", "Renner"]
    assert (icons["year"], icons["start"], icons["end"]) == (2024, 376, 380)
    assert icons["doi"] == "10.1109/ICONS62911.2024.00064" and icons["url"].endswith("2407.13534")
    lowpass = refs["Mapping high-performance RNNs to in-memory neuromorphic chips"]
    assert [a["family-names"] for a in lowpass["authors"]] == ["Nair", "Indiveri"]
    assert lowpass["year"] == 2019 and lowpass["url"].endswith("1905.10692")

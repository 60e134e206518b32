#!/usr/bin/env python3
"""Schema check of Kubernetes manifests, offline.

Each YAML document is validated against the JSON Schema committed for its apiVersion/kind under infra/k8s/schema/;
a document of a kind with no schema there fails (add the schema rather than skipping the check). Needs PyYAML and
jsonschema, which cfn-lint installs (pip install cfn-lint). Exit 0 = every document valid, 1 = one is not, 2 = usage.

Usage: infra/k8s/check_manifests.py MANIFEST.yaml...
"""
import json
import pathlib
import sys

import jsonschema
import yaml

SCHEMAS = {
    ("serving.knative.dev/v1", "Service"): "knative-service.schema.json",
}
SCHEMA_DIR = pathlib.Path(__file__).resolve().parent / "schema"


def path_of(error):
    return "/".join(str(p) for p in error.absolute_path) or "(document)"


def check(file):
    failures = 0
    with open(file, encoding="utf-8") as f:
        documents = [d for d in yaml.safe_load_all(f) if d is not None]
    if not documents:
        print(f"{file}: no YAML document found")
        return 1
    for index, doc in enumerate(documents):
        where = f"{file} (document {index + 1})"
        if not isinstance(doc, dict):
            print(f"{where}: expected a mapping with apiVersion and kind, got {type(doc).__name__}")
            failures += 1
            continue
        key = (doc.get("apiVersion"), doc.get("kind"))
        if key not in SCHEMAS:
            known = ", ".join(f"{a} {k}" for a, k in SCHEMAS)
            print(f"{where}: no schema for apiVersion {key[0]!r} kind {key[1]!r}; known: {known}. "
                  f"Add one under {SCHEMA_DIR} and list it in SCHEMAS.")
            failures += 1
            continue
        schema = json.loads((SCHEMA_DIR / SCHEMAS[key]).read_text(encoding="utf-8"))
        validator = jsonschema.Draft202012Validator(schema)
        errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path))
        for e in errors:
            print(f"{where}: {path_of(e)}: {e.message}")
        failures += len(errors)
    if failures == 0:
        print(f"{file}: valid ({len(documents)} document(s))")
    return failures


def main(argv):
    if not argv:
        print(__doc__)
        return 2
    for name in SCHEMAS.values():  # a broken schema would let everything through
        jsonschema.Draft202012Validator.check_schema(json.loads((SCHEMA_DIR / name).read_text(encoding="utf-8")))
    return 1 if sum(check(f) for f in argv) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

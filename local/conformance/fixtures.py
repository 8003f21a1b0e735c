"""The scenario both SDK drivers play (fixtures.json), for the Python driver."""

import json
import os

PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures.json")
SINGLE_LINE = ("sku", "quantity", "unit_amount", "product", "tax")


def load():
    with open(PATH, encoding="utf-8") as handle:
        return json.load(handle)


def purchase(account, **extra):
    """A `POST /_sim/agentic_checkouts` body: the standard purchase, with `extra` on top
    (`line_items` replaces the single line)."""
    body = dict(load()["purchase"], account=account)
    if "line_items" in extra:
        for key in SINGLE_LINE:
            body.pop(key, None)
    body.update(extra)
    return body

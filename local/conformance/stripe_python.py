"""stripe-python as the judge of stripe-sim.

Drives the official Python SDK (pinned in local/scripts/requirements.txt) against a running
stripe-sim, through every Stripe flow the bundle uses, and asserts what the SDK itself makes
of each answer: its typed objects, its list and auto-pagination helpers, its typed errors,
its webhook and thin-event signature checks.

    .local/venv/bin/python local/conformance/stripe_python.py --base-url http://127.0.0.1:12111

Exit 0 when every flow passes, 1 when one fails (each failure is printed), 3 when the SDK is
not installed. Purchases, agreements and hooks are set up through stripe-sim's `/_sim/`
control surface (local/stripe-sim/README.md); the flows assume a fresh emulator.
"""

import argparse
import io
import json
import os
import sys
import tempfile
import threading
import time
import traceback
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import fixtures  # the scenario, shared with the Node driver (fixtures.json)

try:
    import stripe
except ImportError:
    print("stripe-python is not installed in this Python: run `make install`", file=sys.stderr)
    sys.exit(3)

F = fixtures.load()
ACCT = F["accounts"]["python"]
V1_IMPORT_SETS_VERSION = F["versions"]["import_sets"]
V2_CATALOG_VERSION = F["versions"]["catalog_v2"]
AGREEMENTS_VERSION = F["versions"]["agreements"]
ACCOUNT_SESSION_BETA = F["versions"]["account_session_beta"]


class Fail(AssertionError):
    pass


def check(condition, message):
    if not condition:
        raise Fail(message)


def eq(actual, expected, what):
    if actual != expected:
        raise Fail(f"{what}: expected {expected!r}, got {actual!r}")


# Fields the emulator sends that stripe-python's classes do not declare: documented
# private-preview fields (docs/stripe.md §6.2, §6.5.2). Anything else is an invention.
PREVIEW_FIELDS = {
    "PaymentIntent.agent_details",
    "Price.external_reference",
    "Product.identifiers",
    "AccountSession.components.agentic_commerce_settings",
}


def undeclared(cls, raw, path):
    """Keys of `raw` (recursively through the class's inner types) that `cls` does not
    declare: fields stripe-python has never heard of."""
    declared, inner = {}, {}
    for klass in reversed(cls.__mro__):
        declared.update(getattr(klass, "__annotations__", {}))
        inner.update(getattr(klass, "_inner_class_types", None) or {})
    found = []
    for key, value in raw.items():
        if key not in declared:
            found.append(f"{path}.{key}")
        elif key in inner:
            items = value if isinstance(value, list) else [value]
            for item in items:
                if isinstance(item, dict):
                    found += undeclared(inner[key], item, f"{path}.{key}")
    return sorted(set(found) - PREVIEW_FIELDS)


class Listener:
    """A loopback HTTP server standing in for the platform: it records every request
    (raw body and headers, as a signature check needs them) and answers the checkout hooks."""

    def __init__(self):
        self.requests = []
        self.lock = threading.RLock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's naming)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                with outer.lock:
                    outer.requests.append(
                        (self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                    )
                answer = b"{}"
                if self.path == "/hooks/finalize":
                    answer = json.dumps({"manual_approval_details": {"type": "approved"}}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def take(self, path):
        with self.lock:
            taken = [r for r in self.requests if r[0] == path]
            self.requests = [r for r in self.requests if r[0] != path]
        return taken

    def wait_for(self, path, count, timeout=10.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if sum(1 for r in self.requests if r[0] == path) >= count:
                    return self.take(path)
            time.sleep(0.02)
        raise Fail(f"expected {count} request(s) on {path}, got {len(self.take(path))}")


class Driver:
    def __init__(self, base_url, api_key):
        self.base = base_url.rstrip("/")
        self.api_key = api_key
        addresses = {"api": self.base, "files": self.base, "connect": self.base}
        # A StripeClient retries only when told to (stripe-node defaults to 2).
        self.client = stripe.StripeClient(api_key, base_addresses=addresses, max_network_retries=2)
        self.listener = Listener()

    # --- the emulator's control surface (plain HTTP, not the SDK) -------------------------

    def control(self, path, body=None, method="POST", expect=200):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base + path, data=data, method=method)
        request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=20) as response:
                status, text = response.status, response.read()
        except urllib.error.HTTPError as error:
            status, text = error.code, error.read()
        eq(status, expect, f"{method} {path} status ({text[:300]!r})")
        return json.loads(text) if text else None

    def purchase(self, **extra):
        body = fixtures.purchase(ACCT, **extra)
        return self.control("/_sim/agentic_checkouts", body)["checkout_session"]

    # --- flows -----------------------------------------------------------------------------

    def checkout_session(self):
        lines = F["many_lines"]
        session = self.purchase(line_items=lines)
        options = {"stripe_account": ACCT}
        got = self.client.v1.checkout.sessions.retrieve(
            session["id"], {"expand": F["order_expand"]}, options
        )
        check(isinstance(got, stripe.checkout.Session), f"a Session, got {type(got)}")
        eq(got.id, session["id"], "session id")
        items = got.line_items
        check(isinstance(items, stripe.ListObject), f"line_items is a ListObject: {type(items)}")
        first = items.data[0]
        check(isinstance(first, stripe.LineItem), f"a LineItem, got {type(first)}")
        check(isinstance(first.price, stripe.Price), "price expanded to a Price")
        check(isinstance(first.price.product, stripe.Product), "price.product expanded")
        check(first.price.product.name, "the product has a name")
        check(isinstance(first.taxes, list) and first.taxes, "taxes listed")
        check(first.taxes[0].rate.percentage is not None, "tax rate expanded")
        intent = got.payment_intent
        check(isinstance(intent, stripe.PaymentIntent), "payment_intent expanded")
        check(isinstance(intent.latest_charge, stripe.Charge), "latest_charge expanded")
        eq(intent.latest_charge.payment_intent, intent.id, "charge.payment_intent")
        eq(got.amount_total, session["amount_total"], "amount_total")

        # An expanded list is its first page (10 lines, has_more), as on Stripe.
        eq(len(items.data), 10, "the expanded line_items are a first page")
        check(items.has_more, "the expanded line_items say there are more")

        # The full list, page by page and with the SDK's auto-pagination.
        service = self.client.v1.checkout.sessions.line_items
        params = {"limit": 10, "expand": ["data.price.product", "data.taxes"]}
        page = service.list(session["id"], params, options)
        check(page.has_more, "a first page of 10 has more")
        eq(len(page.data), 10, "first page size")
        check(isinstance(page.data[0].price.product, stripe.Product), "data.price.product")
        manual = [li.id for li in page.data]
        while page.has_more:
            page = service.list(session["id"], {**params, "starting_after": manual[-1]}, options)
            manual += [li.id for li in page.data]
        eq(len(manual), len(lines), "every line, once")
        eq(len(set(manual)), len(lines), "no line twice")
        eq([li.id for li in items.data], manual[:10], "the expanded page is the list's first")
        want = manual
        first_page = service.list(session["id"], {"limit": 7}, options)
        auto = [li.id for li in first_page.auto_paging_iter()]
        eq(auto, want, "auto_paging_iter")
        before = service.list(session["id"], {"limit": 5, "ending_before": want[12]}, options)
        eq([li.id for li in before.data], want[7:12], "ending_before")

        # The order reconciler's list: completed sessions created since a time, paged.
        since = {"status": "complete", "created": {"gte": session["created"]}, "limit": 1}
        listed = self.client.v1.checkout.sessions.list(since, options)
        check(isinstance(listed, stripe.ListObject), "sessions list is a ListObject")
        eq(listed.url, "/v1/checkout/sessions", "sessions list url")
        found = list(listed.auto_paging_iter())
        check(all(isinstance(s, stripe.checkout.Session) for s in found), "Session objects")
        check(session["id"] in [s.id for s in found], "the completed session is listed")
        check(all(s.status == "complete" for s in found), "only complete sessions")
        check(all(s.created >= session["created"] for s in found), "none created before")
        later = {"status": "complete", "created": {"gt": session["created"] + 86400}}
        eq(len(self.client.v1.checkout.sessions.list(later, options).data), 0, "none later")

    def payment_intents(self):
        session = self.purchase(capture_method="manual")
        pi_id = session["payment_intent"]["id"]
        options = {"stripe_account": ACCT}
        listed = self.client.v1.payment_intents.list({"limit": 3}, options)
        check(isinstance(listed, stripe.ListObject), "a ListObject")
        eq(listed.url, "/v1/payment_intents", "list url")
        ids = [pi.id for pi in listed.auto_paging_iter()]
        check(pi_id in ids, f"{pi_id} listed in {ids}")
        eq(ids[0], pi_id, "newest first")
        eq(len(ids), len(set(ids)), "no duplicates across pages")
        intent = self.client.v1.payment_intents.retrieve(pi_id, options=options)
        check(isinstance(intent, stripe.PaymentIntent), "a PaymentIntent")
        eq(intent.status, "requires_capture", "status before capture")
        captured = self.client.v1.payment_intents.capture(
            pi_id, {"amount_to_capture": intent.amount, "expand": ["latest_charge"]}, options
        )
        eq(captured.status, "succeeded", "status after capture")
        eq(captured.amount_received, intent.amount, "amount_received")
        check(isinstance(captured.latest_charge, stripe.Charge), "expanded latest_charge")
        check(captured.latest_charge.captured, "charge captured")

        refund = self.client.v1.refunds.create({"payment_intent": pi_id, "amount": 500}, options)
        check(isinstance(refund, stripe.Refund), "a Refund")
        eq(refund.amount, 500, "refund amount")
        eq(refund.payment_intent, pi_id, "refund.payment_intent")
        eq(refund.status, "succeeded", "refund status")
        again = self.client.v1.refunds.retrieve(refund.id, {"expand": ["charge"]}, options)
        eq(again.charge.amount_refunded, 500, "charge.amount_refunded")

    def files(self):
        options = {"stripe_account": ACCT}
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "catalog.csv")
            with open(path, "wb") as out:
                out.write(F["catalog_csv"].encode())
            # stripe-python sends every file part as application/octet-stream, named after
            # the file object's `name` (here the full path).
            with open(path, "rb") as handle:
                file = self.client.v1.files.create(
                    {"purpose": "data_management_manual_upload", "file": handle}, options
                )
        check(isinstance(file, stripe.File), f"a File, got {type(file)}")
        eq(file.type, "csv", "file type")
        eq(file.size, len(F["catalog_csv"].encode()), "file size")
        eq(file.purpose, "data_management_manual_upload", "purpose")
        tsv = io.BytesIO(F["catalog_tsv"].encode())
        tsv.name = "inventory.tsv"
        tsv_file = self.client.v1.files.create(
            {"purpose": "data_management_manual_upload", "file": tsv}, options
        )
        eq(tsv_file.type, "tsv", "a .tsv upload's type")
        got = self.client.v1.files.retrieve(file.id, options=options)
        eq(got.id, file.id, "retrieved file")

        image = io.BytesIO(b"\x89PNG\r\n\x1a\n" + bytes(64))
        image.name = "logo.png"
        try:
            self.client.v1.files.create(
                {"purpose": "data_management_manual_upload", "file": image}, options
            )
            raise Fail("a PNG was accepted as a catalog file")
        except stripe.InvalidRequestError as error:
            eq(error.http_status, 400, "refusal status")
            eq(error.param, "file", "refusal param")
        self.file_id = file.id

    def import_sets(self):
        if not getattr(self, "file_id", None):
            raise Fail("needs the files flow's upload")
        options = {"stripe_account": ACCT, "stripe_version": V1_IMPORT_SETS_VERSION}
        raw = self.client.raw_request(
            "post",
            "/v1/data_management/import_sets",
            file=self.file_id,
            standard_data_format="product_catalog_feed",
            **options,
        )
        created = self.client.deserialize(raw, api_mode="V1")
        eq(created.object, "data_management.import_set", "object")
        check(created.id.startswith("impset_"), f"an impset_ id: {created.id}")
        eq(created.status, "pending", "status at creation")
        path = f"/v1/data_management/import_sets/{created.id}"
        got = self.client.deserialize(
            self.client.raw_request("get", path, **options), api_mode="V1"
        )
        eq(got.status, "succeeded", "status on the next read")
        eq(got.result.successes.row_count, F["catalog_rows"], "rows imported")
        try:
            self.client.raw_request("get", path, stripe_account=ACCT)
            raise Fail("an import set read without the beta version was answered")
        except stripe.InvalidRequestError as error:
            eq(error.http_status, 400, "status without the beta")

    def catalog_v2(self):
        options = {"stripe_context": ACCT, "stripe_version": V2_CATALOG_VERSION}
        imports = self.client.v2.commerce.product_catalog.imports
        created = imports.create(
            {"feed_type": "product", "mode": "upsert", "metadata": {"source": "sdk"}}, options
        )
        eq(type(created).__name__, "ProductCatalogImport", "typed object")
        eq(created.object, "v2.commerce.product_catalog_import", "object")
        eq(created.status, "awaiting_upload", "status at creation")
        eq(created.metadata["source"], "sdk", "metadata")
        upload = created.status_details.awaiting_upload.upload_url
        check(upload.url.startswith(self.base), f"upload URL on the emulator: {upload.url}")
        check(isinstance(upload.expires_at, str), "expires_at is a timestamp string")
        request = urllib.request.Request(
            upload.url, data=F["catalog_with_error_csv"].encode(), method="PUT"
        )
        request.add_header("Content-Type", "text/csv")
        with urllib.request.urlopen(request, timeout=10) as response:
            eq(response.status, 200, "PUT to the upload URL")
        done = self.poll_import(created.id, options)
        eq(done.status, "succeeded_with_errors", "final status")
        details = done.status_details.succeeded_with_errors
        # int64 fields travel as strings; the SDK decodes them to int.
        eq(details.success_count, F["catalog_with_error_ok_rows"], "success_count (int)")
        eq(details.error_count, 1, "error_count (int)")
        eq(type(details.error_file.size), int, "error_file.size decoded")
        eq(type(details.samples[0].row), int, "samples[].row decoded")
        with urllib.request.urlopen(details.error_file.download_url.url, timeout=10) as response:
            report = response.read().decode()
        check(report.startswith("stripe_error_message,"), f"error report: {report[:80]!r}")

        try:
            imports.retrieve(
                created.id,
                options={
                    "stripe_context": "acct_1SomeoneElse",
                    "stripe_version": V2_CATALOG_VERSION,
                },
            )
            raise Fail("another account read the import")
        except stripe.InvalidRequestError as error:
            eq(error.http_status, 404, "another context")

    def poll_import(self, import_id, options):
        imports = self.client.v2.commerce.product_catalog.imports
        deadline = time.monotonic() + 10
        while True:
            got = imports.retrieve(import_id, options=options)
            if got.status not in ("awaiting_upload", "processing"):
                return got
            if time.monotonic() > deadline:
                raise Fail(f"import {import_id} still {got.status}")
            time.sleep(0.05)

    def thin_events(self):
        secret = "whsec_py_thin"
        self.control(
            "/_sim/thin_event_endpoint", {"url": self.listener.url + "/thin", "secret": secret}
        )
        try:
            options = {"stripe_context": ACCT, "stripe_version": V2_CATALOG_VERSION}
            imports = self.client.v2.commerce.product_catalog.imports
            created = imports.create(
                {"feed_type": "product", "mode": "upsert", "metadata": {}}, options
            )
            url = created.status_details.awaiting_upload.upload_url.url
            request = urllib.request.Request(url, data=F["catalog_csv"].encode(), method="PUT")
            with urllib.request.urlopen(request, timeout=10) as response:
                eq(response.status, 200, "PUT")
            self.poll_import(created.id, options)
            received = self.listener.wait_for("/thin", 2)
        finally:
            self.control("/_sim/thin_event_endpoint", {"url": None})
        client = stripe.StripeClient(
            self.api_key,
            base_addresses={"api": self.base},
            stripe_version=V2_CATALOG_VERSION,
        )
        types = []
        for _, headers, body in received:
            notification = client.parse_event_notification(
                body, headers.get("stripe-signature"), secret
            )
            types.append(notification.type)
            eq(str(notification.context), ACCT, "notification context")
            related = notification.fetch_related_object()
            eq(related.id, created.id, "fetch_related_object")
            event = notification.fetch_event()
            eq(event.id, notification.id, "fetch_event")
            eq(undeclared(type(event), event.to_dict(), "v2.Event"), [], "unknown v2 event fields")
            eq(
                undeclared(type(event), json.loads(body), "thin"),
                [],
                "unknown thin fields",
            )
            try:
                client.parse_event_notification(
                    body, headers.get("stripe-signature"), "whsec_wrong"
                )
                raise Fail("a thin event verified with the wrong secret")
            except stripe.SignatureVerificationError:
                pass
        # Deliveries are not ordered (docs/stripe.md §4.2.2).
        eq(
            sorted(types),
            [
                "v2.commerce.product_catalog.imports.processing",
                "v2.commerce.product_catalog.imports.succeeded",
            ],
            "thin event types",
        )

    def agreements(self):
        made = [
            self.control("/_sim/agreements", {"account": ACCT, "confirm": c, "deliver": False})[
                "agreement"
            ]
            for c in ("both", "orchestrator", "none")
        ]
        options = {"stripe_context": ACCT, "stripe_version": AGREEMENTS_VERSION}
        path = "/v2/orchestrated_commerce/agreements"
        listed = self.client.deserialize(
            self.client.raw_request("get", path + "?limit=2", **options), api_mode="V2"
        )
        eq([a.id for a in listed.data], [made[2]["id"], made[1]["id"]], "first page, newest first")
        check(listed.next_page_url, "a next_page_url")
        rest = self.client.deserialize(
            self.client.raw_request("get", listed.next_page_url, **options), api_mode="V2"
        )
        eq([a.id for a in rest.data], [made[0]["id"]], "second page")
        eq(rest.next_page_url, None, "last page")
        got = self.client.deserialize(
            self.client.raw_request("get", f"{path}/{made[0]['id']}", **options), api_mode="V2"
        )
        eq(got.object, "v2.orchestrated_commerce.agreement", "object")
        eq(got.status, "confirmed", "status")
        check(isinstance(got.created, str), "created is RFC 3339 text")
        try:
            self.client.raw_request(
                "get",
                f"{path}/{made[0]['id']}",
                stripe_context="acct_1SomeoneElse",
                stripe_version=AGREEMENTS_VERSION,
            )
            raise Fail("another seller read the agreement")
        except stripe.InvalidRequestError as error:
            eq(error.http_status, 404, "another context")

    def account_sessions(self):
        version = f"{stripe.api_version}; {ACCOUNT_SESSION_BETA}"
        session = self.client.v1.account_sessions.create(
            {"account": ACCT, "components": {"agentic_commerce_settings": {"enabled": True}}},
            {"stripe_version": version},
        )
        check(isinstance(session, stripe.AccountSession), f"an AccountSession: {type(session)}")
        eq(session.account, ACCT, "account")
        check(session.client_secret.startswith("accs_secret__"), "client_secret")
        check(session.expires_at > time.time(), "expires_at in the future")
        eq(session.components.agentic_commerce_settings.enabled, True, "component enabled")
        eq(session.last_response.headers.get("Stripe-Version"), version, "version echoed")

    def errors(self):
        options = {"stripe_account": ACCT}
        try:
            self.client.v1.payment_intents.retrieve("pi_doesnotexist", options=options)
            raise Fail("an unknown intent was found")
        except stripe.InvalidRequestError as error:
            eq(error.http_status, 404, "404 status")
            eq(error.code, "resource_missing", "404 code")
            eq(error.error.type, "invalid_request_error", "404 type")
            check(error.request_id, "a Request-Id")
        try:
            self.client.v2.commerce.product_catalog.imports.retrieve(
                "pcimprt_doesnotexist",
                options={"stripe_context": ACCT, "stripe_version": V2_CATALOG_VERSION},
            )
            raise Fail("an unknown import was found")
        except stripe.InvalidRequestError as error:
            eq(error.http_status, 404, "v2 404 status")

        session = self.purchase()
        pi_id = session["payment_intent"]["id"]
        key = f"py-conformance-{time.time_ns()}"
        keyed = {"stripe_account": ACCT, "idempotency_key": key}
        first = self.client.v1.refunds.create({"payment_intent": pi_id, "amount": 100}, keyed)
        replay = self.client.v1.refunds.create({"payment_intent": pi_id, "amount": 100}, keyed)
        eq(replay.id, first.id, "replayed refund")
        eq(replay.last_response.headers.get("Idempotent-Replayed"), "true", "replay header")
        try:
            self.client.v1.refunds.create({"payment_intent": pi_id, "amount": 200}, keyed)
            raise Fail("a reused key with other parameters was accepted")
        except stripe.IdempotencyError as error:
            eq(error.http_status, 400, "idempotency status")
            eq(error.error.type, "idempotency_error", "idempotency type")
        v2 = {
            "stripe_context": ACCT,
            "stripe_version": V2_CATALOG_VERSION,
            "idempotency_key": key + "-v2",
        }
        imports = self.client.v2.commerce.product_catalog.imports
        imports.create({"feed_type": "pricing", "mode": "upsert", "metadata": {}}, v2)
        try:
            imports.create({"feed_type": "promotion", "mode": "upsert", "metadata": {}}, v2)
            raise Fail("a reused v2 key with other parameters was accepted")
        except stripe.IdempotencyError as error:
            eq(error.http_status, 400, "v2 idempotency status")

    def shapes(self):
        """Every field the emulator sends is one stripe-python's classes declare (or a
        documented preview field): the emulator leaves fields out, it invents none."""
        session = self.purchase(capture_method="manual")
        options = {"stripe_account": ACCT}
        got = self.client.v1.checkout.sessions.retrieve(
            session["id"], {"expand": F["order_expand"]}, options
        ).to_dict()
        line = got["line_items"]["data"][0]
        intent = got["payment_intent"]
        self.client.v1.payment_intents.capture(intent["id"], options=options)
        refund = self.client.v1.refunds.create({"payment_intent": intent["id"]}, options)
        upload = io.BytesIO(F["catalog_csv"].encode())
        upload.name = "catalog.csv"
        file = self.client.v1.files.create(
            {"purpose": "data_management_manual_upload", "file": upload}, options
        )
        account_session = self.client.v1.account_sessions.create(
            {"account": ACCT, "components": {"agentic_commerce_settings": {"enabled": True}}},
            {"stripe_version": f"{stripe.api_version}; {ACCOUNT_SESSION_BETA}"},
        )
        catalog_import = self.client.v2.commerce.product_catalog.imports.create(
            {"feed_type": "product", "mode": "upsert", "metadata": {}},
            {"stripe_context": ACCT, "stripe_version": V2_CATALOG_VERSION},
        )
        samples = [
            (stripe.checkout.Session, got),
            (stripe.LineItem, line),
            (stripe.Price, line["price"]),
            (stripe.Product, line["price"]["product"]),
            (stripe.TaxRate, line["taxes"][0]["rate"]),
            (stripe.PaymentIntent, intent),
            (stripe.Charge, intent["latest_charge"]),
            (stripe.Refund, refund.to_dict()),
            (stripe.File, file.to_dict()),
            (stripe.AccountSession, account_session.to_dict()),
            (type(catalog_import), catalog_import.to_dict()),
        ]
        found = []
        for cls, raw in samples:
            found += undeclared(cls, raw, cls.__name__)
        eq(found, [], "fields stripe-python does not know")

    def retries(self):
        """The SDK's own retry rules over stripe-sim's injected faults (docs/stripe.md §7.7,
        §7.9): a lost response is retried with the SDK's automatic Idempotency-Key and gets
        the stored answer; `Stripe-Should-Retry: false` and a 429 are not retried."""
        session = self.purchase()
        pi_id = session["payment_intent"]["id"]
        options = {"stripe_account": ACCT}
        self.control(
            "/_sim/faults",
            {
                "path_prefix": "/v1/refunds",
                "method": "POST",
                "status": 500,
                "after_processing": True,
            },
        )
        refund = self.client.v1.refunds.create({"payment_intent": pi_id, "amount": 300}, options)
        eq(
            refund.last_response.headers.get("Idempotent-Replayed"),
            "true",
            "the retry was a replay",
        )
        charge = self.client.v1.charges.retrieve(refund.charge, options=options)
        eq(charge.amount_refunded, 300, "refunded once")

        self.control(
            "/_sim/faults",
            {"path_prefix": "/v1/refunds", "method": "POST", "status": 500, "should_retry": False},
        )
        try:
            self.client.v1.refunds.create({"payment_intent": pi_id, "amount": 300}, options)
            raise Fail("an injected 500 did not surface")
        except stripe.APIError as error:
            eq(error.http_status, 500, "500 status")
        self.control("/_sim/faults", {"path_prefix": "/v1/payment_intents", "status": 429})
        try:
            self.client.v1.payment_intents.retrieve(pi_id, options=options)
            raise Fail("an injected 429 did not surface")
        except stripe.RateLimitError as error:
            eq(error.http_status, 429, "429 status")
        self.control("/_sim/faults", method="DELETE")
        eq(
            self.client.v1.charges.retrieve(refund.charge, options=options).amount_refunded,
            300,
            "the refused request did nothing",
        )

    def webhooks(self):
        secret = "whsec_py_webhooks"
        self.control(
            "/_sim/webhook_endpoint", {"url": self.listener.url + "/webhooks", "secret": secret}
        )
        try:
            session = self.purchase(wait_for_delivery=True)
        finally:
            self.control("/_sim/webhook_endpoint", {"url": None})
        received = self.listener.take("/webhooks")
        check(received, "webhooks delivered")
        types = []
        for _, headers, body in received:
            event = self.client.construct_event(body, headers.get("stripe-signature"), secret)
            check(isinstance(event, stripe.Event), f"an Event: {type(event)}")
            eq(undeclared(stripe.Event, json.loads(body), "Event"), [], "unknown event fields")
            eq(event.account, ACCT, "event.account")
            types.append(event.type)
            if event.type == "checkout.session.completed":
                check(
                    isinstance(event.data.object, stripe.checkout.Session),
                    "data.object is a Session",
                )
                eq(event.data.object.id, session["id"], "the session")
            again = stripe.Webhook.construct_event(body, headers.get("stripe-signature"), secret)
            eq(again.id, event.id, "Webhook.construct_event")
            try:
                stripe.Webhook.construct_event(body, headers.get("stripe-signature"), "whsec_wrong")
                raise Fail("a webhook verified with the wrong secret")
            except stripe.SignatureVerificationError:
                pass
        check("checkout.session.completed" in types, f"checkout.session.completed in {types}")

    def hooks(self):
        secret = "whsec_py_hooks"
        self.control(
            "/_sim/hooks",
            {
                "customize_url": self.listener.url + "/hooks/customize",
                "finalize_url": self.listener.url + "/hooks/finalize",
                "secret": secret,
            },
        )
        try:
            self.purchase()
        finally:
            self.control("/_sim/hooks", {"customize_url": None, "finalize_url": None})
        for path, kind in (
            ("/hooks/customize", "customize_checkout"),
            ("/hooks/finalize", "finalize_checkout"),
        ):
            calls = self.listener.take(path)
            eq(len(calls), 1, f"{kind} calls")
            _, headers, body = calls[0]
            event = stripe.Webhook.construct_event(body, headers.get("stripe-signature"), secret)
            eq(event.type, f"v1.delegated_checkout.{kind}", "hook type")
            eq(event.context, ACCT, "hook context")
            try:
                stripe.Webhook.construct_event(body, headers.get("stripe-signature"), "whsec_wrong")
                raise Fail("a hook call verified with the wrong secret")
            except stripe.SignatureVerificationError:
                pass


FLOWS = [
    "checkout_session",
    "payment_intents",
    "files",
    "import_sets",
    "catalog_v2",
    "thin_events",
    "agreements",
    "account_sessions",
    "errors",
    "shapes",
    "retries",
    "webhooks",
    "hooks",
]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", default=os.environ.get("STRIPE_SIM_URL"))
    parser.add_argument("--api-key", default=os.environ.get("STRIPE_SIM_API_KEY", "sk_test_sim"))
    parser.add_argument("--only", nargs="*", default=None, help="run only these flows")
    args = parser.parse_args()
    if not args.base_url:
        parser.error("--base-url (or STRIPE_SIM_URL) is required")
    print(f"stripe-python {stripe.VERSION} against {args.base_url}", flush=True)
    driver = Driver(args.base_url, args.api_key)
    failed = []
    for name in args.only or FLOWS:
        start = time.monotonic()
        try:
            getattr(driver, name)()
            print(f"ok    {name} ({time.monotonic() - start:.2f}s)", flush=True)
        except Exception:  # noqa: BLE001 (every failure is reported, then the next flow runs)
            failed.append(name)
            print(f"FAIL  {name}", flush=True)
            traceback.print_exc(file=sys.stdout)
    driver.listener.server.shutdown()
    if failed:
        print(f"stripe-python: {len(failed)} flow(s) failed: {', '.join(failed)}")
        sys.exit(1)
    print(f"stripe-python: all {len(args.only or FLOWS)} flows passed")


if __name__ == "__main__":
    main()

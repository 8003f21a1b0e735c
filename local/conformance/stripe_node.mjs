// stripe-node as the judge of stripe-sim.
//
// Drives the official Node SDK (pinned in local/conformance/package.json, installed by
// local/scripts/install.sh into .local/sdk-node) against a running stripe-sim, through every
// Stripe flow the bundle uses, and asserts what the SDK itself makes of each answer: its
// error classes, its auto-pagination, its int64 decoding, its webhook and thin-event
// signature checks.
//
//   NODE_PATH=.local/sdk-node/node_modules node local/conformance/stripe_node.mjs \
//     --base-url http://127.0.0.1:12111
//
// Exit 0 when every flow passes, 1 when one fails (each failure is printed), 3 when the SDK
// is not installed. The scenario is the Python driver's (fixtures.json); the flows assume a
// fresh emulator.

import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

// `require` honours NODE_PATH (ES module imports do not), so the SDK is found in .local/.
const require = createRequire(import.meta.url);
let Stripe;
try {
  Stripe = require('stripe');
} catch {
  console.error(
    'stripe-node is not installed (NODE_PATH=.local/sdk-node/node_modules): run `make install`',
  );
  process.exit(3);
}

const here = dirname(fileURLToPath(import.meta.url));
const F = JSON.parse(readFileSync(join(here, 'fixtures.json'), 'utf8'));
const ACCT = F.accounts.node;
const V = F.versions;
const OTHER = 'acct_1SomeoneElse';

class Fail extends Error {}
function check(condition, message) {
  if (!condition) throw new Fail(message);
}
function eq(actual, expected, what) {
  const a = JSON.stringify(actual, (_, v) => (typeof v === 'bigint' ? `${v}n` : v));
  const e = JSON.stringify(expected, (_, v) => (typeof v === 'bigint' ? `${v}n` : v));
  if (a !== e) throw new Fail(`${what}: expected ${e}, got ${a}`);
}
/** The error `call` throws or rejects with (the SDK throws some synchronously). */
async function rejects(call, what) {
  try {
    await call();
  } catch (error) {
    return error;
  }
  throw new Fail(`${what}: expected an error`);
}

/** A loopback server standing in for the platform: records raw bodies, answers the hooks. */
function listen() {
  const requests = [];
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      requests.push({ path: req.url, headers: req.headers, body: Buffer.concat(chunks) });
      const answer =
        req.url === '/hooks/finalize' ? { manual_approval_details: { type: 'approved' } } : {};
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(answer));
    });
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const url = `http://127.0.0.1:${server.address().port}`;
      const take = (path) => {
        const taken = requests.filter((r) => r.path === path);
        requests.splice(0, requests.length, ...requests.filter((r) => r.path !== path));
        return taken;
      };
      const waitFor = async (path, count, timeoutMs = 10000) => {
        const deadline = Date.now() + timeoutMs;
        while (Date.now() < deadline) {
          if (requests.filter((r) => r.path === path).length >= count) return take(path);
          await new Promise((r) => setTimeout(r, 20));
        }
        throw new Fail(`expected ${count} request(s) on ${path}, got ${take(path).length}`);
      };
      resolve({
        url,
        take,
        waitFor,
        close: () => {
          server.closeAllConnections();
          server.close();
        },
      });
    });
  });
}

function clientFor(base, apiKey, config = {}) {
  const url = new URL(base);
  return new Stripe(apiKey, {
    host: url.hostname,
    port: Number(url.port),
    protocol: url.protocol.replace(':', ''),
    ...config,
  });
}

class Driver {
  constructor(base, apiKey, listener) {
    this.base = base.replace(/\/$/, '');
    this.apiKey = apiKey;
    this.stripe = clientFor(this.base, apiKey);
    this.listener = listener;
  }

  async control(path, body, expect = 200) {
    const res = await fetch(this.base + path, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(body ?? {}),
    });
    const text = await res.text();
    eq(res.status, expect, `POST ${path} status (${text.slice(0, 300)})`);
    return text ? JSON.parse(text) : null;
  }

  async purchase(extra = {}) {
    const body = { ...F.purchase, account: ACCT };
    if (extra.line_items) {
      for (const key of ['sku', 'quantity', 'unit_amount', 'product', 'tax']) delete body[key];
    }
    Object.assign(body, extra);
    return (await this.control('/_sim/agentic_checkouts', body)).checkout_session;
  }

  async put(url, text, contentType = 'text/csv') {
    const res = await fetch(url, {
      method: 'PUT',
      headers: { 'Content-Type': contentType },
      body: text,
    });
    eq(res.status, 200, `PUT ${url}`);
  }

  async checkout_session() {
    const session = await this.purchase({ line_items: F.many_lines });
    const opts = { stripeAccount: ACCT };
    const got = await this.stripe.checkout.sessions.retrieve(
      session.id,
      { expand: F.order_expand },
      opts,
    );
    eq(got.object, 'checkout.session', 'object');
    eq(got.lastResponse.statusCode, 200, 'status');
    check(got.lastResponse.requestId?.startsWith('req_'), 'a Request-Id');
    const first = got.line_items.data[0];
    eq(got.line_items.object, 'list', 'line_items is a list');
    eq(first.price.product.object, 'product', 'price.product expanded');
    check(
      first.taxes.length > 0 && first.taxes[0].rate.object === 'tax_rate',
      'taxes with their rate',
    );
    eq(got.payment_intent.object, 'payment_intent', 'payment_intent expanded');
    eq(got.payment_intent.latest_charge.object, 'charge', 'latest_charge expanded');
    eq(got.amount_total, session.amount_total, 'amount_total');

    // An expanded list is its first page (10 lines, has_more), as on Stripe.
    eq(got.line_items.data.length, 10, 'the expanded line_items are a first page');
    check(got.line_items.has_more, 'the expanded line_items say there are more');
    const params = { limit: 10, expand: ['data.price.product', 'data.taxes'] };
    let page = await this.stripe.checkout.sessions.listLineItems(session.id, params, opts);
    check(page.has_more, 'a first page of 10 has more');
    eq(page.data[0].price.product.object, 'product', 'data.price.product');
    const manual = page.data.map((li) => li.id);
    while (page.has_more) {
      page = await this.stripe.checkout.sessions.listLineItems(
        session.id,
        { ...params, starting_after: manual[manual.length - 1] },
        opts,
      );
      manual.push(...page.data.map((li) => li.id));
    }
    eq(manual.length, F.many_lines.length, 'every line, once');
    eq(new Set(manual).size, F.many_lines.length, 'no line twice');
    eq(
      got.line_items.data.map((li) => li.id),
      manual.slice(0, 10),
      "the expanded page is the list's first",
    );
    const want = manual;
    const auto = await this.stripe.checkout.sessions
      .listLineItems(session.id, { limit: 7 }, opts)
      .autoPagingToArray({ limit: 100 });
    eq(
      auto.map((li) => li.id),
      want,
      'autoPagingToArray',
    );
    const each = [];
    await this.stripe.checkout.sessions
      .listLineItems(session.id, { limit: 4 }, opts)
      .autoPagingEach((li) => {
        each.push(li.id);
      });
    eq(each, want, 'autoPagingEach');
    const before = await this.stripe.checkout.sessions.listLineItems(
      session.id,
      { limit: 5, ending_before: want[12] },
      opts,
    );
    eq(
      before.data.map((li) => li.id),
      want.slice(7, 12),
      'ending_before',
    );

    // The order reconciler's list: completed sessions created since a time, paged.
    const since = { status: 'complete', created: { gte: session.created }, limit: 1 };
    const found = await this.stripe.checkout.sessions
      .list(since, opts)
      .autoPagingToArray({ limit: 100 });
    check(found.every((s) => s.object === 'checkout.session'), 'Session objects');
    check(found.some((s) => s.id === session.id), 'the completed session is listed');
    check(found.every((s) => s.status === 'complete'), 'only complete sessions');
    check(found.every((s) => s.created >= session.created), 'none created before');
    const later = await this.stripe.checkout.sessions.list(
      { status: 'complete', created: { gt: session.created + 86400 } },
      opts,
    );
    eq(later.data.length, 0, 'none later');
  }

  async payment_intents() {
    const session = await this.purchase({ capture_method: 'manual' });
    const piId = session.payment_intent.id;
    const opts = { stripeAccount: ACCT };
    const ids = await this.stripe.paymentIntents
      .list({ limit: 2 }, opts)
      .autoPagingToArray({ limit: 100 });
    eq(ids[0]?.id, piId, 'newest first');
    eq(new Set(ids.map((p) => p.id)).size, ids.length, 'no duplicates across pages');
    const intent = await this.stripe.paymentIntents.retrieve(piId, {}, opts);
    eq(intent.status, 'requires_capture', 'status before capture');
    const captured = await this.stripe.paymentIntents.capture(
      piId,
      { amount_to_capture: intent.amount, expand: ['latest_charge'] },
      opts,
    );
    eq(captured.status, 'succeeded', 'status after capture');
    eq(captured.latest_charge.captured, true, 'charge captured');
    const refund = await this.stripe.refunds.create({ payment_intent: piId, amount: 500 }, opts);
    eq(refund.object, 'refund', 'a Refund');
    eq(refund.amount, 500, 'refund amount');
    eq(refund.status, 'succeeded', 'refund status');
    const again = await this.stripe.refunds.retrieve(refund.id, { expand: ['charge'] }, opts);
    eq(again.charge.amount_refunded, 500, 'charge.amount_refunded');
  }

  async files() {
    const opts = { stripeAccount: ACCT };
    const purpose = 'data_management_manual_upload';
    const data = Buffer.from(F.catalog_csv);
    // Without `type`, stripe-node labels the part application/octet-stream.
    const file = await this.stripe.files.create(
      { purpose, file: { data, name: 'catalog.csv' } },
      opts,
    );
    eq(file.object, 'file', 'a File');
    eq(file.type, 'csv', 'file type');
    eq(file.size, data.length, 'file size');
    const typed = await this.stripe.files.create(
      {
        purpose,
        file: {
          data: Buffer.from(F.catalog_tsv),
          name: 'inventory.tsv',
          type: 'text/tab-separated-values',
        },
      },
      opts,
    );
    eq(typed.type, 'tsv', 'a typed TSV upload');
    const got = await this.stripe.files.retrieve(file.id, {}, opts);
    eq(got.id, file.id, 'retrieved file');
    const error = await rejects(
      () =>
        this.stripe.files.create(
          {
            purpose,
            file: {
              data: Buffer.concat([Buffer.from('\x89PNG\r\n\x1a\n', 'latin1'), Buffer.alloc(64)]),
              name: 'logo.png',
            },
          },
          opts,
        ),
      'a PNG upload',
    );
    check(error instanceof Stripe.errors.StripeInvalidRequestError, `an invalid request: ${error}`);
    eq(error.statusCode, 400, 'refusal status');
    eq(error.param, 'file', 'refusal param');
    this.fileId = file.id;
  }

  async import_sets() {
    check(this.fileId, "needs the files flow's upload");
    const opts = { stripeAccount: ACCT, apiVersion: V.import_sets };
    const created = await this.stripe.rawRequest(
      'POST',
      '/v1/data_management/import_sets',
      { file: this.fileId, standard_data_format: 'product_catalog_feed' },
      opts,
    );
    eq(created.object, 'data_management.import_set', 'object');
    eq(created.status, 'pending', 'status at creation');
    const path = `/v1/data_management/import_sets/${created.id}`;
    const got = await this.stripe.rawRequest('GET', path, undefined, opts);
    eq(got.status, 'succeeded', 'status on the next read');
    eq(got.result.successes.row_count, F.catalog_rows, 'rows imported');
    const error = await rejects(
      () => this.stripe.rawRequest('GET', path, undefined, { stripeAccount: ACCT }),
      'a read without the beta version',
    );
    eq(error.statusCode, 400, 'status without the beta');
  }

  async pollImport(id, opts) {
    const deadline = Date.now() + 10000;
    for (;;) {
      const got = await this.stripe.v2.commerce.productCatalog.imports.retrieve(id, {}, opts);
      if (!['awaiting_upload', 'processing'].includes(got.status)) return got;
      check(Date.now() < deadline, `import ${id} still ${got.status}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  async catalog_v2() {
    const opts = { stripeContext: ACCT, apiVersion: V.catalog_v2 };
    const imports = this.stripe.v2.commerce.productCatalog.imports;
    const created = await imports.create(
      { feed_type: 'product', mode: 'upsert', metadata: { source: 'sdk' } },
      opts,
    );
    eq(created.object, 'v2.commerce.product_catalog_import', 'object');
    eq(created.status, 'awaiting_upload', 'status at creation');
    eq(created.metadata.source, 'sdk', 'metadata');
    const upload = created.status_details.awaiting_upload.upload_url;
    check(upload.url.startsWith(this.base), `upload URL on the emulator: ${upload.url}`);
    await this.put(upload.url, F.catalog_with_error_csv);
    const done = await this.pollImport(created.id, opts);
    eq(done.status, 'succeeded_with_errors', 'final status');
    const details = done.status_details.succeeded_with_errors;
    // int64 fields travel as strings; the SDK's response schema turns them into bigints.
    eq(details.success_count, BigInt(F.catalog_with_error_ok_rows), 'success_count (bigint)');
    eq(details.error_count, 1n, 'error_count (bigint)');
    eq(typeof details.error_file.size, 'bigint', 'error_file.size decoded');
    eq(typeof details.samples[0].row, 'bigint', 'samples[].row decoded');
    const report = await (await fetch(details.error_file.download_url.url)).text();
    check(report.startsWith('stripe_error_message,'), `error report: ${report.slice(0, 80)}`);
    const error = await rejects(
      () => imports.retrieve(created.id, {}, { stripeContext: OTHER, apiVersion: V.catalog_v2 }),
      'another account reading the import',
    );
    eq(error.statusCode, 404, 'another context');
    const both = await rejects(
      () => imports.retrieve(created.id, {}, { stripeAccount: ACCT, stripeContext: ACCT }),
      'both Connect headers',
    );
    check(
      /both stripeAccount and stripeContext/.test(both.message),
      `the SDK refuses both: ${both.message}`,
    );
  }

  async thin_events() {
    const secret = 'whsec_node_thin';
    await this.control('/_sim/thin_event_endpoint', { url: `${this.listener.url}/thin`, secret });
    let created;
    let received;
    try {
      const opts = { stripeContext: ACCT, apiVersion: V.catalog_v2 };
      created = await this.stripe.v2.commerce.productCatalog.imports.create(
        { feed_type: 'product', mode: 'upsert', metadata: {} },
        opts,
      );
      await this.put(created.status_details.awaiting_upload.upload_url.url, F.catalog_csv);
      await this.pollImport(created.id, opts);
      received = await this.listener.waitFor('/thin', 2);
    } finally {
      await this.control('/_sim/thin_event_endpoint', { url: null });
    }
    const client = clientFor(this.base, this.apiKey, { apiVersion: V.catalog_v2 });
    const types = [];
    for (const { headers, body } of received) {
      const notification = client.parseEventNotification(body, headers['stripe-signature'], secret);
      types.push(notification.type);
      eq(String(notification.context), ACCT, 'notification context');
      const related = await notification.fetchRelatedObject();
      eq(related.id, created.id, 'fetchRelatedObject');
      const event = await notification.fetchEvent();
      eq(event.id, notification.id, 'fetchEvent');
      const error = await rejects(
        () => client.parseEventNotification(body, headers['stripe-signature'], 'whsec_wrong'),
        'a thin event with the wrong secret',
      );
      check(
        error instanceof Stripe.errors.StripeSignatureVerificationError,
        `signature error: ${error}`,
      );
    }
    // Deliveries are not ordered (docs/stripe.md §4.2.2).
    eq(
      types.sort(),
      [
        'v2.commerce.product_catalog.imports.processing',
        'v2.commerce.product_catalog.imports.succeeded',
      ],
      'thin event types',
    );
  }

  async agreements() {
    const made = [];
    for (const confirm of ['both', 'orchestrator', 'none']) {
      made.push(
        (await this.control('/_sim/agreements', { account: ACCT, confirm, deliver: false }))
          .agreement,
      );
    }
    const opts = { stripeContext: ACCT, apiVersion: V.agreements };
    const path = '/v2/orchestrated_commerce/agreements';
    const listed = await this.stripe.rawRequest('GET', `${path}?limit=2`, undefined, opts);
    eq(
      listed.data.map((a) => a.id),
      [made[2].id, made[1].id],
      'first page, newest first',
    );
    check(listed.next_page_url, 'a next_page_url');
    const rest = await this.stripe.rawRequest('GET', listed.next_page_url, undefined, opts);
    eq(
      rest.data.map((a) => a.id),
      [made[0].id],
      'second page',
    );
    eq(rest.next_page_url, null, 'last page');
    const got = await this.stripe.rawRequest('GET', `${path}/${made[0].id}`, undefined, opts);
    eq(got.object, 'v2.orchestrated_commerce.agreement', 'object');
    eq(got.status, 'confirmed', 'status');
    const error = await rejects(
      () =>
        this.stripe.rawRequest('GET', `${path}/${made[0].id}`, undefined, {
          stripeContext: OTHER,
          apiVersion: V.agreements,
        }),
      'another seller reading the agreement',
    );
    eq(error.statusCode, 404, 'another context');
  }

  async account_sessions() {
    const version = `${Stripe.API_VERSION}; ${V.account_session_beta}`;
    const session = await this.stripe.accountSessions.create(
      { account: ACCT, components: { agentic_commerce_settings: { enabled: true } } },
      { apiVersion: version },
    );
    eq(session.object, 'account_session', 'object');
    eq(session.account, ACCT, 'account');
    check(session.client_secret.startsWith('accs_secret__'), 'client_secret');
    check(session.expires_at > Date.now() / 1000, 'expires_at in the future');
    eq(session.components.agentic_commerce_settings.enabled, true, 'component enabled');
    eq(session.lastResponse.apiVersion, version, 'version echoed');
  }

  async errors() {
    const opts = { stripeAccount: ACCT };
    const missing = await rejects(
      () => this.stripe.paymentIntents.retrieve('pi_doesnotexist', {}, opts),
      'an unknown intent',
    );
    check(
      missing instanceof Stripe.errors.StripeInvalidRequestError,
      `an invalid request: ${missing}`,
    );
    eq(missing.statusCode, 404, '404 status');
    eq(missing.code, 'resource_missing', '404 code');
    eq(missing.rawType, 'invalid_request_error', '404 type');
    check(missing.requestId?.startsWith('req_'), 'a Request-Id');
    const missingV2 = await rejects(
      () =>
        this.stripe.v2.commerce.productCatalog.imports.retrieve(
          'pcimprt_doesnotexist',
          {},
          { stripeContext: ACCT, apiVersion: V.catalog_v2 },
        ),
      'an unknown import',
    );
    check(
      missingV2 instanceof Stripe.errors.StripeInvalidRequestError,
      `an invalid request: ${missingV2}`,
    );
    eq(missingV2.statusCode, 404, 'v2 404 status');

    const session = await this.purchase();
    const piId = session.payment_intent.id;
    const keyed = { stripeAccount: ACCT, idempotencyKey: `node-conformance-${Date.now()}` };
    const first = await this.stripe.refunds.create({ payment_intent: piId, amount: 100 }, keyed);
    const replay = await this.stripe.refunds.create({ payment_intent: piId, amount: 100 }, keyed);
    eq(replay.id, first.id, 'replayed refund');
    eq(replay.lastResponse.headers['idempotent-replayed'], 'true', 'replay header');
    const mismatch = await rejects(
      () => this.stripe.refunds.create({ payment_intent: piId, amount: 200 }, keyed),
      'a reused key with other parameters',
    );
    check(
      mismatch instanceof Stripe.errors.StripeIdempotencyError,
      `an idempotency error: ${mismatch}`,
    );
    eq(mismatch.statusCode, 400, 'idempotency status');
    eq(mismatch.rawType, 'idempotency_error', 'idempotency type');
    const v2 = {
      stripeContext: ACCT,
      apiVersion: V.catalog_v2,
      idempotencyKey: `${keyed.idempotencyKey}-v2`,
    };
    const imports = this.stripe.v2.commerce.productCatalog.imports;
    await imports.create({ feed_type: 'pricing', mode: 'upsert', metadata: {} }, v2);
    const v2mismatch = await rejects(
      () => imports.create({ feed_type: 'promotion', mode: 'upsert', metadata: {} }, v2),
      'a reused v2 key with other parameters',
    );
    check(
      v2mismatch instanceof Stripe.errors.StripeIdempotencyError,
      `a v2 idempotency error: ${v2mismatch}`,
    );
    eq(v2mismatch.statusCode, 400, 'v2 idempotency status');
  }

  // The SDK's own retry rules over stripe-sim's injected faults (docs/stripe.md §7.7, §7.9): a
  // lost response is retried with the SDK's automatic Idempotency-Key and gets the stored
  // answer; `Stripe-Should-Retry: false` and a 429 are not retried.
  async retries() {
    const session = await this.purchase();
    const piId = session.payment_intent.id;
    const opts = { stripeAccount: ACCT };
    await this.control('/_sim/faults', {
      path_prefix: '/v1/refunds',
      method: 'POST',
      status: 500,
      after_processing: true,
    });
    const refund = await this.stripe.refunds.create({ payment_intent: piId, amount: 300 }, opts);
    eq(refund.lastResponse.headers['idempotent-replayed'], 'true', 'the retry was a replay');
    eq(
      (await this.stripe.charges.retrieve(refund.charge, {}, opts)).amount_refunded,
      300,
      'refunded once',
    );

    await this.control('/_sim/faults', {
      path_prefix: '/v1/refunds',
      method: 'POST',
      status: 500,
      should_retry: false,
    });
    const failed = await rejects(
      () => this.stripe.refunds.create({ payment_intent: piId, amount: 300 }, opts),
      'an injected 500',
    );
    check(failed instanceof Stripe.errors.StripeAPIError, `an API error: ${failed}`);
    eq(failed.statusCode, 500, '500 status');
    await this.control('/_sim/faults', { path_prefix: '/v1/payment_intents', status: 429 });
    const limited = await rejects(
      () => this.stripe.paymentIntents.retrieve(piId, {}, opts),
      'an injected 429',
    );
    check(limited instanceof Stripe.errors.StripeRateLimitError, `a rate limit error: ${limited}`);
    eq(limited.statusCode, 429, '429 status');
    await fetch(`${this.base}/_sim/faults`, { method: 'DELETE' });
    eq(
      (await this.stripe.charges.retrieve(refund.charge, {}, opts)).amount_refunded,
      300,
      'the refused request did nothing',
    );
  }

  async webhooks() {
    const secret = 'whsec_node_webhooks';
    await this.control('/_sim/webhook_endpoint', { url: `${this.listener.url}/webhooks`, secret });
    let session;
    try {
      session = await this.purchase({ wait_for_delivery: true });
    } finally {
      await this.control('/_sim/webhook_endpoint', { url: null });
    }
    const received = this.listener.take('/webhooks');
    check(received.length > 0, 'webhooks delivered');
    const types = [];
    for (const { headers, body } of received) {
      const event = this.stripe.webhooks.constructEvent(body, headers['stripe-signature'], secret);
      eq(event.object, 'event', 'an Event');
      eq(event.account, ACCT, 'event.account');
      types.push(event.type);
      if (event.type === 'checkout.session.completed')
        eq(event.data.object.id, session.id, 'the session');
      const asText = await this.stripe.webhooks.constructEventAsync(
        body.toString('utf8'),
        headers['stripe-signature'],
        secret,
      );
      eq(asText.id, event.id, 'constructEventAsync on the text body');
      const error = await rejects(
        () => this.stripe.webhooks.constructEvent(body, headers['stripe-signature'], 'whsec_wrong'),
        'a webhook with the wrong secret',
      );
      check(
        error instanceof Stripe.errors.StripeSignatureVerificationError,
        `signature error: ${error}`,
      );
    }
    check(types.includes('checkout.session.completed'), `checkout.session.completed in ${types}`);
  }

  async hooks() {
    const secret = 'whsec_node_hooks';
    await this.control('/_sim/hooks', {
      customize_url: `${this.listener.url}/hooks/customize`,
      finalize_url: `${this.listener.url}/hooks/finalize`,
      secret,
    });
    try {
      await this.purchase();
    } finally {
      await this.control('/_sim/hooks', { customize_url: null, finalize_url: null });
    }
    for (const kind of ['customize', 'finalize']) {
      const calls = this.listener.take(`/hooks/${kind}`);
      eq(calls.length, 1, `${kind}_checkout calls`);
      const { headers, body } = calls[0];
      const event = this.stripe.webhooks.constructEvent(body, headers['stripe-signature'], secret);
      eq(event.type, `v1.delegated_checkout.${kind}_checkout`, 'hook type');
      eq(event.context, ACCT, 'hook context');
      const error = await rejects(
        () => this.stripe.webhooks.constructEvent(body, headers['stripe-signature'], 'whsec_wrong'),
        'a hook call with the wrong secret',
      );
      check(
        error instanceof Stripe.errors.StripeSignatureVerificationError,
        `signature error: ${error}`,
      );
    }
  }
}

const FLOWS = [
  'checkout_session',
  'payment_intents',
  'files',
  'import_sets',
  'catalog_v2',
  'thin_events',
  'agreements',
  'account_sessions',
  'errors',
  'retries',
  'webhooks',
  'hooks',
];

function args() {
  const out = {
    baseUrl: process.env.STRIPE_SIM_URL,
    apiKey: process.env.STRIPE_SIM_API_KEY || 'sk_test_sim',
    only: null,
  };
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--base-url') out.baseUrl = argv[++i];
    else if (argv[i] === '--api-key') out.apiKey = argv[++i];
    else if (argv[i] === '--only') out.only = argv.slice(i + 1);
    else if (argv[i] !== '--') {
      console.error(`unknown argument ${argv[i]}`);
      process.exit(2);
    }
    if (out.only) break;
  }
  if (!out.baseUrl) {
    console.error('--base-url (or STRIPE_SIM_URL) is required');
    process.exit(2);
  }
  return out;
}

async function main() {
  const { baseUrl, apiKey, only } = args();
  console.log(`stripe-node ${Stripe.PACKAGE_VERSION} against ${baseUrl}`);
  const listener = await listen();
  const driver = new Driver(baseUrl, apiKey, listener);
  const flows = only ?? FLOWS;
  const failed = [];
  for (const name of flows) {
    const start = Date.now();
    try {
      await driver[name]();
      console.log(`ok    ${name} (${((Date.now() - start) / 1000).toFixed(2)}s)`);
    } catch (error) {
      failed.push(name);
      console.log(`FAIL  ${name}`);
      console.log(error?.stack ?? String(error));
      if (error?.raw)
        console.log(
          `  raw error: ${JSON.stringify(error.raw, (k, v) => (k === 'headers' ? undefined : v))}`,
        );
    }
  }
  listener.close();
  if (failed.length > 0) {
    console.log(`stripe-node: ${failed.length} flow(s) failed: ${failed.join(', ')}`);
    process.exitCode = 1;
  } else {
    console.log(`stripe-node: all ${flows.length} flows passed`);
  }
  // Pooled keep-alive connections (the SDK's to the emulator, the emulator's to the
  // listener) would keep the event loop alive until they time out.
  process.exit();
}

await main();

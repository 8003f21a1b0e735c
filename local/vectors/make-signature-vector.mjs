// Produces shared/tests/vectors/stripe_node_signature.json with the official stripe-node SDK.
// Run: npm install stripe && node local/vectors/make-signature-vector.mjs > shared/tests/vectors/stripe_node_signature.json (from the repo root, with stripe in a scratch node_modules)
import Stripe from 'stripe';
import {readFileSync} from 'node:fs';
import {createRequire} from 'node:module';

const stripe = new Stripe('sk_test_vector');
const secret = 'whsec_test_vector_5f3c1e0a9b7d4c2e';
const timestamp = 1764340000;
const payload = JSON.stringify({
  id: 'evt_test_vector', object: 'event', type: 'checkout.session.completed',
  account: 'acct_1Vector', livemode: false, created: timestamp,
  data: {object: {id: 'cs_test_vector', object: 'checkout.session', amount_total: 3248, currency: 'usd', note: 'unicode ✓ survives'}},
}, null, 2) + '\n';
const header = stripe.webhooks.generateTestHeaderString({payload, secret, timestamp});
// The SDK's own verifier accepts what it produced (tolerance widened: the vector is old).
const event = stripe.webhooks.constructEvent(payload, header, secret, 10 ** 10);
const pkg = createRequire(import.meta.url).resolve('stripe').replace(/(node_modules\/stripe)\/.*/, '$1/package.json');
const version = JSON.parse(readFileSync(pkg, 'utf8')).version;
console.log(JSON.stringify({
  produced_by: `stripe-node ${version}: stripe.webhooks.generateTestHeaderString, checked with stripe.webhooks.constructEvent`,
  secret, timestamp, payload, header, event_id: event.id,
}, null, 2));

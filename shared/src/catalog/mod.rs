//! Catalog feeds: validation of product, inventory, pricing and promotion CSV/TSV files
//! against Stripe's feed spec (STRIPE.md §2), streaming.

//! Orders: the record built from a completed agentic checkout, and the convergent state
//! that payment, refund and dispute events move (applied by `crate::webhooks::orders`).

mod model;
pub mod state;

pub use model::{Order, OrderBuildError, OrderLine, OrderTax};
pub use state::{DisputeFact, PaymentFact, RefundFact};

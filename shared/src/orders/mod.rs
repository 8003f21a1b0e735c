//! Orders: the record built from a completed agentic checkout, and the convergent state
//! that payment, refund and dispute events move (applied by `crate::webhooks::orders`).

pub mod events;
mod model;
pub mod state;
pub mod watermark;

pub use events::{EventSource, NoOrderEvents, OrderEvent, OrderEventSink, PublishError};
pub use model::{Order, OrderBuildError, OrderLine, OrderTax};
pub use state::{DisputeFact, PaymentFact, RefundFact};
pub use watermark::{ReconcileState, ScanCursor};

use std::time::Duration;

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;
use shared::budget;
use shared::config::Env;

/// Kept from the timeout for storing the last merchant's progress after its last call.
const RESERVE: Duration = Duration::from_secs(20);

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::logging::init();
    let function = order_reconciler::init(Env::from_process())
        .await
        .inspect_err(|e| tracing::error!(error = %e, "start-up failed"))?;
    let function = &function;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let deadline = Some(event.context.deadline);
        budget::within_invocation(
            deadline,
            RESERVE,
            order_reconciler::handle(function, event.payload),
        )
        .await
        .map_err(Error::from)
    }))
    .await
}

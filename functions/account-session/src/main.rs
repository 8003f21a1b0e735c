use std::time::Duration;

use lambda_http::{Error, Request, RequestExt, service_fn};
use shared::budget;
use shared::config::Env;

/// Kept from the function's timeout for answering after the Stripe call.
const RESERVE: Duration = Duration::from_secs(2);

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::logging::init();
    let function = account_session::init(Env::from_process())
        .await
        .inspect_err(|e| tracing::error!(error = %e, "start-up failed"))?;
    let function = &function;
    lambda_http::run(service_fn(move |request: Request| async move {
        let deadline = request.lambda_context_ref().map(|c| c.deadline);
        let answer = budget::within_invocation(
            deadline,
            RESERVE,
            account_session::handle(function, &request),
        )
        .await;
        Ok::<_, Error>(answer)
    }))
    .await
}

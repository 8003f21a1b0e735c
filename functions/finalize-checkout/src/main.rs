//! `POST /stripe/hooks/finalize_checkout`: approve or decline an agent's
//! checkout and set the application fee, inside Stripe's 4 s deadline. All the logic is in `shared::hooks`; this wires it to `lambda_http`.

use lambda_http::{Error, Request, service_fn};
use shared::config::Env;
use shared::hooks::Hook;
use shared::hooks::function::HookFunction;

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::logging::init();
    let function = HookFunction::init(
        Hook::Finalize,
        "/stripe/hooks/finalize_checkout",
        Env::from_process(),
    )
    .await
    .inspect_err(|e| tracing::error!(error = %e, "start-up failed"))?;
    let function = &function;
    lambda_http::run(service_fn(move |request: Request| async move {
        Ok::<_, Error>(function.handle(&request).await)
    }))
    .await
}

//! `POST /stripe/hooks/finalize_checkout`: approve or decline an agent's
//! checkout and set the application fee, inside Stripe's 4 s deadline. All the logic is in `shared::hooks`; this wires it to the Lambda runtime.

use aws_lambda_events::apigw::ApiGatewayV2httpRequest;
use lambda_runtime::{Error, LambdaEvent, service_fn};
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
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<ApiGatewayV2httpRequest>| async move {
            Ok::<_, Error>(function.handle(&event.payload).await)
        },
    ))
    .await
}

use aws_lambda_events::apigw::ApiGatewayV2httpRequest;
use lambda_runtime::{Error, LambdaEvent, service_fn};
use shared::config::Env;

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::logging::init();
    let env = Env::load().await?;
    // A configuration error stops the cold start with a message naming the setting.
    let app = webhooks::build(&env)
        .await
        .inspect_err(|e| tracing::error!(error = %e, "start-up failed"))?;
    let app = &app;
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<ApiGatewayV2httpRequest>| async move {
            Ok::<_, Error>(webhooks::handle(app, &event.payload).await)
        },
    ))
    .await
}

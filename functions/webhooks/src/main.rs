use lambda_http::{Error, Request, service_fn};
use shared::config::Env;

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::logging::init();
    // A configuration error stops the cold start with a message naming the setting.
    let function = webhooks::init(Env::from_process())
        .await
        .inspect_err(|e| tracing::error!(error = %e, "start-up failed"))?;
    let function = &function;
    lambda_http::run(service_fn(move |request: Request| async move {
        Ok::<_, Error>(webhooks::handle(function, &request).await)
    }))
    .await
}

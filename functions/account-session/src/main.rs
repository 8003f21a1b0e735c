use lambda_http::{Error, Request, service_fn};
use shared::config::Env;

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::logging::init();
    let function = account_session::init(Env::from_process())
        .await
        .inspect_err(|e| tracing::error!(error = %e, "start-up failed"))?;
    let function = &function;
    lambda_http::run(service_fn(move |request: Request| async move {
        Ok::<_, Error>(account_session::handle(function, &request).await)
    }))
    .await
}

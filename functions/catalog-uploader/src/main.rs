use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;
use shared::config::Env;

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::logging::init();
    let function = catalog_uploader::init(Env::from_process())
        .await
        .inspect_err(|e| tracing::error!(error = %e, "start-up failed"))?;
    let function = &function;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        catalog_uploader::handle(function, event.payload)
            .await
            .map_err(Error::from)
    }))
    .await
}
